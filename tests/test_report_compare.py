"""Comparison views: a run against its baseline, and the configuration matrix.

Goldens pin the comparison report (HTML and Markdown) and the matrix report for fixed runs; the
rest checks what a reader relies on: the verdict first, every list of changes linked to its
conversation, the per-field deltas, the per-conversation diff of extracted values, hostile text
kept inert, and the CLI writing all of it. Browser behaviour is in tests/browser/.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.compare import compare_matrix, compare_runs
from evalkit.history import record_run
from evalkit.report import (
    PR_COMMENT_LIMIT,
    RunComparison,
    comparison_view,
    render_html,
    render_markdown,
    render_matrix_html,
    render_matrix_markdown,
    write_matrix_reports,
    write_reports,
)
from evalkit.report.comparison import ValueDiff
from evalkit.results import (
    ConversationResult,
    FieldResult,
    RunInfo,
    Summary,
    TimedChunk,
    TurnTranscript,
    read_run,
)
from tests.test_report import PAYLOADS, hostile_run, markdown_tables, parse_html, unescaped_pipes

DATA = Path(__file__).resolve().parent / "data"
BASE = DATA / "run_fixture_base"
CAND = DATA / "run_fixture"

Run = tuple[RunInfo, list[ConversationResult]]


@pytest.fixture
def base() -> Run:
    return read_run(BASE)


@pytest.fixture
def cand() -> Run:
    return read_run(CAND)


@pytest.fixture
def view(base: Run, cand: Run) -> RunComparison:
    comparison = compare_runs(*base, *cand)
    return comparison_view(comparison)


def matrix_runs(base: Run, cand: Run) -> list[tuple[str, RunInfo, list[ConversationResult]]]:
    return [("v1", *base), ("v2", *cand)]


# ----------------------------------------------------------------------------- goldens


def test_comparison_html_matches_golden(
    cand: Run, view: RunComparison, golden: Callable[[str, str], None]
) -> None:
    golden("report_compare.html", render_html(*cand, comparison=view))


def test_comparison_markdown_matches_golden(
    cand: Run, view: RunComparison, golden: Callable[[str, str], None]
) -> None:
    golden("report_compare.md", render_markdown(*cand, comparison=view))


def test_matrix_html_matches_golden(
    base: Run, cand: Run, golden: Callable[[str, str], None]
) -> None:
    runs = matrix_runs(base, cand)
    golden("matrix.html", render_matrix_html(compare_matrix(runs), runs, title="m-1"))


def test_matrix_markdown_matches_golden(
    base: Run, cand: Run, golden: Callable[[str, str], None]
) -> None:
    runs = matrix_runs(base, cand)
    golden("matrix.md", render_matrix_markdown(compare_matrix(runs), runs, title="m-1"))


# ----------------------------------------------------------------------------- comparison


def test_the_comparison_verdict_is_the_first_thing_read(cand: Run, view: RunComparison) -> None:
    page = render_html(*cand, comparison=view)
    document = render_markdown(*cand, comparison=view)
    verdict = "1 regression, 1 fix, p = 1: within noise"

    assert page.index(verdict) < page.index("1 of 5 conversations failed")
    assert page.index(verdict) < page.index('id="regressions"') < page.index('id="summary"')
    lines = [line for line in document.splitlines() if line]
    assert verdict in lines[1]  # right under the title


@pytest.mark.parametrize(
    ("section", "link"),
    [
        pytest.param("regressions-list", "contact-form/phone-and-newsletter/0", id="regression"),
        pytest.param("fixes", "booking/date-relative/1", id="fix"),
        pytest.param("set-aside", "booking/pick-a-service/0", id="error"),
        pytest.param("new", "contact-form/name-and-email/0", id="new"),
    ],
)
def test_each_list_of_changes_links_to_its_conversation(
    cand: Run, view: RunComparison, section: str, link: str
) -> None:
    page = render_html(*cand, comparison=view)

    start = page.index(f'<h3 id="{section}">')
    table = page[start : page.index("</table>", start)]
    assert f'<a href="#{link}">' in table


def test_a_conversation_not_in_this_run_is_listed_without_a_link(
    cand: Run, view: RunComparison
) -> None:
    page = render_html(*cand, comparison=view)

    start = page.index('<h3 id="removed">')
    table = page[start : page.index("</table>", start)]
    assert "booking / reschedule" in table
    assert "href" not in table


def test_field_deltas_mark_what_got_worse_and_better(view: RunComparison) -> None:
    moved = {f.field: (f.accuracy, f.trend) for f in view.moved_fields}

    assert moved == {
        "email": (("100.0%", "0.0%", "-100.0"), "worse"),
        "phone": (("100.0%", "0.0%", "-100.0"), "worse"),
        "time": (("50.0%", "100.0%", "+50.0"), "better"),
    }


def test_each_changed_conversation_lists_its_typed_differences_old_against_new(
    view: RunComparison,
) -> None:
    diffs = {d.change.label: (d.kind, d.rows, d.unchanged) for d in view.diffs}

    assert diffs["booking / date-relative (repeat 1)"] == (
        "fix",
        [
            ValueDiff(
                "newly extracted", "notes", "turn 1", "—", "—", '"at 10"', "—", "unexpected"
            ),
            ValueDiff(
                "value changed", "time", "turn 1", '"10:00"', '"22:00"', '"10:00"', "wrong",
                "correct",
            ),
        ],
        1,
    )  # fmt: skip
    kind, rows, unchanged = diffs["contact-form / phone-and-newsletter"]
    assert kind == "regression"
    assert [(r.category, r.field, r.baseline, r.candidate) for r in rows] == [
        ("newly extracted", "company", "—", '"Example Org"'),
        ("value changed", "email", '"sam@example.org"', '"sam@example.com"'),
        ("newly missing", "phone", '"020 7946 0958"', "—"),
    ]
    assert unchanged == 3  # first_name, newsletter, source
    assert view.categories == [
        ("newly missing", 1),
        ("newly extracted", 2),
        ("value changed", 2),
        ("expectation changed", 0),
        ("question changed", 0),
    ]


def verdict(field: str, outcome: str, actual: object, turn: int | None = None) -> FieldResult:
    return FieldResult(
        field=field,
        turn=turn,
        matcher="text",
        expected="x",
        actual=actual,
        outcome=outcome,  # type: ignore[arg-type]
        passed=outcome == "correct",
        score=1.0 if outcome == "correct" else 0.0,
        reason="",
    )


@pytest.mark.parametrize(
    ("render", "start", "count"),
    [
        (render_html, '<section id="regressions">', '<td class="num" data-category="{}">{}</td>'),
        (render_markdown, "## Against baseline", "{} **{}**"),
    ],
    ids=["html", "markdown"],
)
def test_the_counts_per_category_lead_the_comparison(
    cand: Run, view: RunComparison, render: Callable[..., str], start: str, count: str
) -> None:
    document = str(render(*cand, comparison=view))

    section = document[document.index(start) :]
    counts = [section.index(count.format(name, n)) for name, n in view.categories]
    assert max(counts) < section.index("Pass rate") < section.index("Regressions")
    assert section.index("Regressions") < section.index("What changed, conversation by")


@pytest.mark.parametrize("render", [render_html, render_markdown], ids=["html", "markdown"])
def test_comparison_rendering_is_deterministic_and_ignores_result_order(
    base: Run, cand: Run, render: Callable[..., str]
) -> None:
    def rendered(flip: bool) -> str:
        b = list(reversed(base[1])) if flip else base[1]
        c = list(reversed(cand[1])) if flip else cand[1]
        view = comparison_view(compare_runs(base[0], b, cand[0], c))
        return str(render(cand[0], c, comparison=view))

    assert rendered(False) == rendered(True)


def test_a_large_comparison_stays_within_a_pr_comment(tmp_path: Path) -> None:
    def run(status: str, value: str) -> Run:
        results = [
            ConversationResult(
                suite="big",
                conversation_id=f"c{k:04d}",
                status=status,  # type: ignore[arg-type]
                fields=[verdict("f", "correct" if status == "pass" else "wrong", value)],
                final_state={"f": value * 20},
            )
            for k in range(600)
        ]
        info = RunInfo(
            run_id=status,
            evalkit_version="0.1.0",
            started_at="2026-03-02T02:00:00Z",
            target=read_run(CAND)[0].target,
            summary=Summary(total=600, passed=600 if status == "pass" else 0),
        )
        return info, results

    base, cand = run("pass", "a"), run("fail", "b")
    view = comparison_view(compare_runs(*base, *cand))

    document = render_markdown(*cand, comparison=view, max_bytes=PR_COMMENT_LIMIT)

    assert len(document.encode()) <= PR_COMMENT_LIMIT
    assert "550 more; see `report.html`." in document
    assert "The first 20 of 600 changed conversations are shown" in document
    assert "`evalkit compare BASELINE RUN --json` lists every one" in document
    page = render_html(*cand, comparison=view)
    section = page[page.index('id="value-diffs"') :]
    assert section.count('<div class="diff">') == 50  # a stated cap, as the Markdown has
    assert (
        "The first 50 of 600 changed conversations are shown (550 more); "
        "<code>evalkit compare BASELINE RUN --json</code> lists every one."
    ) in section


def reworded_pair() -> tuple[Run, Run]:
    """30 still-passing conversations whose question is worded anew, and one that regressed."""

    def result(cid: str, question: str, value: str | None) -> ConversationResult:
        chunks: list[dict[str, object]] = [
            {"chunkType": "TEXT", "textDetails": {"text": question}},
        ]
        if value is not None:
            chunks.insert(
                0,
                {"chunkType": "TEXT_DATA", "textDataDetails": {"fieldTarget": "f", "value": value}},
            )
        outcome = "correct" if value == "x" else "missing"
        return ConversationResult(
            suite="s",
            conversation_id=cid,
            status="pass" if outcome == "correct" else "fail",
            transcript=[
                TurnTranscript(endpoint="create"),
                TurnTranscript(
                    endpoint="send", chunks=[TimedChunk(t=0.1, chunk=c) for c in chunks]
                ),
            ],
            fields=[verdict("f", outcome, value, turn=1)],
            final_state={} if value is None else {"f": value},
        )

    def run(run_id: str, question: str, lost: str | None) -> Run:
        results = [result("lost", "Your f?", lost)]
        results += [result(f"w{k:02d}", question, "x") for k in range(30)]
        info = RunInfo(
            run_id=run_id,
            evalkit_version="0.1.0",
            started_at="2026-03-02T02:00:00Z",
            target=read_run(CAND)[0].target,
            summary=Summary(total=31, passed=30),
        )
        return info, results

    return run("base", "Your f?", "x"), run("cand", "And your f, please?", None)


def test_still_passing_conversations_with_only_new_wording_are_listed_compactly() -> None:
    base, cand = reworded_pair()
    view = comparison_view(compare_runs(*base, *cand))

    assert [d.change.label for d in view.diffs] == ["s / lost"]  # real changes lead, alone
    assert [r.label for r in view.reworded] == [f"s / w{k:02d}" for k in range(30)]
    assert dict(view.categories)["question changed"] == 30  # still counted
    document = render_markdown(*cand, comparison=view)
    assert (
        "30 still-passing conversations changed only a question's wording: s / w00, s / w01, "
    ) in document
    assert "s / w19 and 10 more." in document
    page = render_html(*cand, comparison=view)
    section = page[page.index('id="value-diffs"') :]
    assert section.count('<div class="diff">') == 1
    listed = section[section.index('id="reworded"') :]
    assert '<a href="#s/w00/0">s / w00</a>' in listed
    assert "and 10 more" in listed


# ----------------------------------------------------------------------------- hostile text


def hostile_pair(payload: str) -> tuple[Run, Run, RunComparison]:
    """A baseline in which the hostile run's conversations passed with other values."""
    info, results = hostile_run(payload)
    base = [
        r.model_copy(
            update={
                "status": "pass",
                "error": None,
                "final_state": {payload: payload + "!", "other": [payload]},
                # Another question in each exchange: the payload is a question that changed.
                "transcript": [t.model_copy(update={"chunks": []}) for t in r.transcript],
            }
        )
        for r in results
    ]
    base_info = info.model_copy(update={"run_id": payload + "-base"})
    view = comparison_view(compare_runs(base_info, base, info, results))
    return (base_info, base), (info, results), view


@pytest.mark.parametrize("payload", PAYLOADS)
def test_comparison_html_escapes_hostile_text(payload: str) -> None:
    _, cand, view = hostile_pair(payload)
    assert view.regressions  # the payload is in every part of the comparison
    assert [r for d in view.diffs for r in d.rows if payload in r.candidate]
    assert {r.category for d in view.diffs for r in d.rows} >= {"question changed"}

    page = render_html(*cand, comparison=view)
    markup = parse_html(page)

    assert not {"img", "iframe"} & set(markup.tags)
    assert page.lower().count("<script") == 3
    assert not [name for name, _ in markup.attributes if name.startswith("on")]
    links = [value for name, value in markup.attributes if name in {"href", "src"}]
    assert all(link.startswith("#") for link in links), links


@pytest.mark.parametrize("payload", PAYLOADS)
def test_comparison_markdown_neutralizes_hostile_text(payload: str) -> None:
    _, cand, view = hostile_pair(payload)

    document = render_markdown(*cand, comparison=view)

    assert "<" not in document
    assert "![" not in document
    assert "](" not in re.sub(r"\\.", "", document)
    assert not [line for line in document.splitlines() if line.startswith("# heading")]
    for table in markdown_tables(document):
        assert len({unescaped_pipes(row) for row in table}) == 1, table


@pytest.mark.parametrize("payload", PAYLOADS)
def test_matrix_reports_keep_hostile_labels_and_values_inert(payload: str) -> None:
    (base_info, base), (info, results), _ = hostile_pair(payload)
    runs = [(payload, base_info, base), ("v2", info, results)]
    matrix = compare_matrix(runs)

    page = render_matrix_html(matrix, runs, title=payload)
    document = render_matrix_markdown(matrix, runs, title=payload)

    markup = parse_html(page)
    assert "script" not in markup.tags
    assert not {"img", "iframe"} & set(markup.tags)
    assert not [name for name, _ in markup.attributes if name.startswith("on")]
    for name, link in markup.attributes:
        if name == "href":  # its own sections, or into a configuration's folder; nothing else
            assert re.fullmatch(
                r"#[a-z]+|[A-Za-z0-9%._~-]+/report\.html(#[A-Za-z0-9%._~/-]+)?", link
            ), link
    assert "<" not in document
    assert "](" not in re.sub(r"\\.", "", document)
    for table in markdown_tables(document):
        assert len({unescaped_pipes(row) for row in table}) == 1, table


# ----------------------------------------------------------------------------- matrix


def test_matrix_links_each_status_to_that_configurations_report(base: Run, cand: Run) -> None:
    runs = matrix_runs(base, cand)

    page = render_matrix_html(compare_matrix(runs), runs)

    assert (
        '<a href="v2/report.html#contact-form/phone-and-newsletter/0">'
        '<span class="badge fail">fail</span></a>'
    ) in page
    assert '<a href="v1/report.html">v1</a>' in page
    # not run in v1: a dash, no link
    assert '<td><span class="muted">—</span></td>' in page


def test_matrix_shows_where_configurations_disagree_with_the_values(base: Run, cand: Run) -> None:
    runs = matrix_runs(base, cand)

    document = render_matrix_markdown(compare_matrix(runs), runs)

    assert "**3 of 6 conversations have different verdicts across v1, v2**" in document
    row = next(line for line in document.splitlines() if "phone-and-newsletter" in line)
    assert "✅ pass | ❌ fail |" in row
    assert 'email (expected {"email": "sam@example.org"}: v1 "sam@example.org" (correct)' in row


def test_matrix_lists_agreeing_conversations_whose_values_differ(base: Run) -> None:
    info, results = base
    other = [
        r.model_copy(update={"final_state": {**r.final_state, "date": "2026-03-11"}})
        if r.conversation_id == "reschedule"
        else r
        for r in results
    ]
    runs = [("a", info, results), ("b", info, other)]

    page = render_matrix_html(compare_matrix(runs), runs)

    assert "every conversation has the same verdict in a, b" in page
    section = page[page.index('<section id="differing">') :]
    section = section[: section.index("</section>")]
    assert "booking / reschedule" in section
    assert "<code>&#34;2026-03-12&#34;</code>" in section
    assert "<code>&#34;2026-03-11&#34;</code>" in section
    assert "date-relative" not in section


def test_write_matrix_reports_writes_both_files(base: Run, cand: Run, tmp_path: Path) -> None:
    runs = matrix_runs(base, cand)
    matrix = compare_matrix(runs)

    paths = write_matrix_reports(tmp_path, matrix, runs)

    assert paths == {"html": tmp_path / "matrix.html", "markdown": tmp_path / "matrix.md"}
    title = tmp_path.name
    assert paths["html"].read_text(encoding="utf-8") == render_matrix_html(
        matrix, runs, title=title
    )
    assert paths["markdown"].read_text(encoding="utf-8") == render_matrix_markdown(
        matrix, runs, title=title
    )


# ----------------------------------------------------------------------------- CLI


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_compare_writes_html_and_markdown_with_the_verdict(tmp_path: Path) -> None:
    html, md = tmp_path / "compare.html", tmp_path / "compare.md"

    code, output = invoke(
        "compare", str(BASE), str(CAND), "--html", str(html), "--markdown", str(md)
    )

    verdict = "1 regression, 1 fix, p = 1: within noise"
    assert code == 3  # the candidate's error rate is above the default gate
    assert f"verdict: {verdict}" in output
    for path in (html, md):
        assert verdict in path.read_text(encoding="utf-8")
    assert "What changed, conversation by conversation" in html.read_text(encoding="utf-8")
    assert output.splitlines()[0] == (
        "typed differences: newly missing 1, newly extracted 2, value changed 2, "
        "expectation changed 0, question changed 0"
    )


def test_report_with_a_baseline_and_history_renders_regressions_and_trend(
    tmp_path: Path,
) -> None:
    out = tmp_path / "reports"
    for source in (BASE, CAND):
        shutil.copytree(source, out / read_run(source)[0].run_id)
    db = out / "history.db"
    for run_dir in sorted(out.iterdir()):
        info, results = read_run(run_dir)
        record_run(db, run_dir, info, results, gates_met=True, branch=None, commit=None)
    run_dir = out / read_run(CAND)[0].run_id

    code, output = invoke("report", str(run_dir), "--baseline", str(out / read_run(BASE)[0].run_id))

    assert code == 0
    assert "1 regression, 1 fix, p = 1: within noise" in output
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "Pass rate over the last 2 runs" in page
    assert '<a href="#contact-form/phone-and-newsletter/0">' in page
    assert "Against baseline 20260301T020000Z-1b2c3d" in (run_dir / "report.md").read_text(
        encoding="utf-8"
    )


def test_report_without_history_or_baseline_has_neither(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(CAND, run_dir)

    code, _ = invoke("report", str(run_dir))

    page = (run_dir / "report.html").read_text(encoding="utf-8")
    assert code == 0
    assert page == render_html(*read_run(CAND))


def test_write_reports_renders_the_comparison_with_its_typed_differences(
    base: Run, cand: Run, tmp_path: Path
) -> None:
    comparison = compare_runs(*base, *cand)

    write_reports(tmp_path, *cand, comparison=comparison)

    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert page == render_html(*cand, comparison=comparison_view(comparison))
    assert "<td>newly missing</td><td>turn 1</td><td><code>phone</code></td>" in page


@pytest.mark.slow
def test_a_configuration_matrix_run_writes_the_matrix_report(tmp_path: Path) -> None:
    suite = Path(__file__).resolve().parent.parent / "suites" / "contact.eval.yaml"

    code, output = invoke(
        "run", str(suite), "--config", "v1=contact", "--config", "v2=contact-v2",
        "--out", str(tmp_path),
    )  # fmt: skip

    assert code == 1  # v2 misreads number words: a gate fails
    (matrix_dir,) = tmp_path.iterdir()
    page = (matrix_dir / "matrix.html").read_text(encoding="utf-8")
    assert "## Configurations side by side" not in output  # the Markdown is for a PR, not here
    assert "configuration v2 (contact=contact-v2): " in output
    assert output.rstrip().splitlines()[-1].startswith("exit 1: ")
    assert "have different verdicts across v1, v2" in output
    links = re.findall(r'href="(v2/report\.html#[^"]+)"', page)
    assert links
    anchor = links[0].split("#", 1)[1]
    assert f'id="{anchor}"' in (matrix_dir / "v2" / "report.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("exchanges", [4, 40])
def test_huge_questions_in_many_exchanges_keep_the_markdown_within_its_budget(
    exchanges: int,
) -> None:
    def result(cid: str, question: str) -> ConversationResult:
        turns = [TurnTranscript(endpoint="create")]
        turns += [
            TurnTranscript(
                endpoint="send",
                chunks=[
                    TimedChunk(t=0.1, chunk={"chunkType": "TEXT", "textDetails": {"text": q}})
                    for q in (f"{question} {k}",)
                ],
            )
            for k in range(exchanges)
        ]
        return ConversationResult(
            suite="s",
            conversation_id=cid,
            status="fail",
            transcript=turns,
            fields=[verdict("f", "missing", None, turn=1)],
        )

    def run(run_id: str, question: str) -> Run:
        results = [result(f"c{k:02d}", question) for k in range(30)]
        info = RunInfo(
            run_id=run_id,
            evalkit_version="0.1.0",
            started_at="2026-03-02T02:00:00Z",
            target=read_run(CAND)[0].target,
            summary=Summary(total=30, passed=0),
        )
        return info, results

    base, cand = run("base", "Your f? " + "z" * 60_000), run("cand", "Your f? " + "y" * 60_000)
    view = comparison_view(compare_runs(*base, *cand))

    document = render_markdown(*cand, comparison=view, max_bytes=PR_COMMENT_LIMIT)
    assert len(document.encode()) <= PR_COMMENT_LIMIT
    assert "Your f? yyy" in document  # the change is still shown, cut
    assert "…" in document
    if exchanges > 10:
        assert (
            f"*{exchanges - 10} more changes in this conversation; see `report.html`.*" in document
        )
        # 20 conversations × 10 changes × two cut questions are over the budget: fewer listed
        assert "The first 10 of 30 changed conversations are shown" in document
    page = render_html(*cand, comparison=view)
    diffs = page[page.index('id="value-diffs"') :]
    diffs = diffs[: diffs.index("</section>")]
    assert "Your f? yyy" in diffs
    assert len(diffs.encode()) < 30 * exchanges * 1_000, len(diffs)  # not 60 KB a question
