"""The failure list of a repeated run, in both reports: a conversation once, its repeats beneath.

Issue 14 (item 8): a conversation run N times was N separate entries in the reports' failure
list, while the terminal said "age-in-words: failed 3 of 3" once. Runs without repeats render
as they always did (their golden files are unchanged).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from evalkit.metrics import summarize
from evalkit.report import render_html, render_markdown
from evalkit.report.views import digest
from evalkit.results import ConversationResult, RunInfo, read_run

RICH = Path(__file__).resolve().parent / "data" / "run_fixture_rich"
REPEATS = 3

Run = tuple[RunInfo, list[ConversationResult]]


@pytest.fixture
def repeated() -> Run:
    """The rich fixture run three times: each repeat missing there is its last repeat again.

    So `phone-format` fails 3 of 3, `date-relative` fails 2 of 3 (flaky), `pick-a-service` is
    an error 3 of 3, and the others pass 3 of 3.
    """
    info, results = read_run(RICH)
    by_conversation: dict[tuple[str, str], dict[int, ConversationResult]] = {}
    for result in results:
        by_conversation.setdefault((result.suite, result.conversation_id), {})[result.repeat] = (
            result
        )
    repeated: list[ConversationResult] = []
    for runs in by_conversation.values():
        for repeat in range(REPEATS):
            last = runs[max(r for r in runs if r <= repeat)]
            repeated.append(last.model_copy(update={"repeat": repeat}))
    return info.model_copy(update={"summary": summarize(repeated)}), repeated


def headings(document: str, level: str) -> list[str]:
    return [line for line in document.splitlines() if line.startswith(level + " ")]


def test_markdown_lists_each_failing_conversation_once_with_its_repeats_beneath(
    repeated: Run,
) -> None:
    document = render_markdown(*repeated)
    failures = document.split("## Failures", 1)[1].split("\n## ", 1)[0]
    assert headings(failures, "###") == [
        "### ❌ contact-form / phone-format: failed 3 of 3",
        "### ❌ booking / date-relative: failed 2 of 3 (flaky)",
    ]
    assert headings(failures, "####") == [
        "#### ❌ repeat 0",
        "#### ❌ repeat 1",
        "#### ❌ repeat 2",
        "#### ❌ repeat 1",
        "#### ❌ repeat 2",
    ]
    # The repeats' reasons are beneath their conversation, before the next one.
    phone, date = failures.split("### ❌ booking / date-relative", 1)
    assert phone.count("digits differ: missing country code") == REPEATS
    assert date.count("not extracted in this turn") == 2
    errors = document.split("## Errors", 1)[1].split("\n## ", 1)[0]
    assert headings(errors, "###") == ["### ⚠️ booking / pick-a-service: error in 3 of 3"]
    assert len(headings(errors, "####")) == REPEATS


def test_html_lists_each_failing_conversation_once_with_its_repeats_beneath(
    repeated: Run,
) -> None:
    page = render_html(*repeated)
    problems = page.split('<section id="problems">', 1)[1].split("</section>\n\n<section", 1)[0]
    groups = re.findall(r'<section class="repeats (\w+)" id="([^"]+)">\n<h3>(.*?)</h3>', problems)
    assert [(status, anchor) for status, anchor, _ in groups] == [
        ("error", "booking/pick-a-service"),
        ("fail", "contact-form/phone-format"),
        ("fail", "booking/date-relative"),
    ]
    assert [re.sub(r"<[^>]+>", "", heading) for _, _, heading in groups] == [
        "error booking / pick-a-service error in 3 of 3",
        "fail contact-form / phone-format failed 3 of 3",
        "fail flaky booking / date-relative failed 2 of 3",
    ]
    # Every failing repeat keeps its own entry (and anchor) under its conversation.
    anchors = re.findall(r'<article class="conversation \w+" id="([^"]+)">', problems)
    assert anchors == [
        *(f"booking/pick-a-service/{r}" for r in range(REPEATS)),
        *(f"contact-form/phone-format/{r}" for r in range(REPEATS)),
        "booking/date-relative/1",
        "booking/date-relative/2",
    ]
    assert problems.count("<h4>") == len(anchors)


def test_the_groups_count_every_repeat_even_when_the_markdown_is_cut(repeated: Run) -> None:
    info, results = repeated
    whole = render_markdown(info, results)
    cut = render_markdown(info, results, max_bytes=len(whole.encode()) - 2000)
    assert "are not listed here" in cut
    assert "### ⚠️ booking / pick-a-service: error in 3 of 3" in cut


def test_the_repeats_of_a_conversation_stay_together_in_the_order_of_the_worst() -> None:
    _, results = read_run(RICH)
    worse = [r.model_copy(update={"repeat": 2}) for r in results if r.status == "fail"]
    run = digest([*results, *worse])
    order = [(v.result.conversation_id, v.result.repeat) for v in run.problems]
    assert order == [
        ("pick-a-service", 0),
        ("phone-format", 0),
        ("phone-format", 2),
        ("date-relative", 1),
        ("date-relative", 2),
    ]
    groups = list(run.by_conversation(run.problems))
    assert [(g.first.result.conversation_id, g.share) for g in groups] == [
        ("pick-a-service", "error in 1 of 1"),
        ("phone-format", "failed 2 of 2"),
        ("date-relative", "failed 2 of 3"),
    ]
    assert [g.repeated for g in groups] == [False, True, True]


def test_a_repeated_run_renders_as_its_golden_files(
    repeated: Run, golden: Callable[[str, str], None]
) -> None:
    golden("report_repeats.md", render_markdown(*repeated))
    golden("report_repeats.html", render_html(*repeated))
