"""JUnit XML of a run, for CI systems' test views: one `<testcase>` per conversation and repeat.

The layout follows the JUnit format as the Jenkins xUnit plugin's `junit-10.xsd` defines it (the
schema pytest's own tests validate `--junitxml` against, and what GitHub, GitLab and Azure test
views read)::

    testsuites(name, tests, failures, errors, time)
      testsuite(name=<suite>, tests, failures, errors, skipped, time, timestamp, file)
        properties/property(name, value)    run id, target, evalkit version, suite hash
        testcase(classname=<suite>, name=<id> or <id>[<repeat>], file, line, time)
          failure(message, type)            status `fail`: every failing field and check
          error(message, type=<error kind>) status `error`: the harness got no answer
          skipped(message)                  status `skipped`
          system-out                        the transcript, for a fail or an error

Everything the target said can contain any character, so every text goes through
`xml_escape_visible` first: characters that XML 1.0 cannot carry become a visible `#x07`
marker (as pytest's `bin_xml_escape` does) instead of breaking the parser of the CI system.
A testsuite's `time` is the sum of its conversations' durations; the root's is the run's wall
time (conversations run concurrently, so the two differ).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from evalkit.results import (
    ConversationResult,
    RunInfo,
    SuiteInfo,
    by_key,
    write_atomically,
)

__all__ = ["JUNIT_FILE", "failure_lines", "to_junit_xml", "write_junit", "xml_escape_visible"]

JUNIT_FILE = "junit.xml"
"""Name of the JUnit XML file in a run directory."""

# Every character XML 1.0 allows, except DEL (legal, but invisible in CI logs: pytest escapes it
# too). Lone surrogates fall outside the ranges, so they are escaped as well.
_ILLEGAL_XML = re.compile("[^\t\n\r\x20-\x7e\x80-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_escape_visible(text: str) -> str:
    """Replace characters XML cannot carry by a visible marker: BEL (U+0007) becomes `#x07`.

    The markup characters (`<`, `&`, quotes) are left alone: the XML writer escapes those.
    """

    def marker(match: re.Match[str]) -> str:
        code = ord(match.group())
        return f"#x{code:02X}" if code <= 0xFF else f"#x{code:04X}"

    return _ILLEGAL_XML.sub(marker, text)


def _value(value: Any) -> str:
    """A value as JSON, so `"1"` and `1`, and a missing value (`null`), stay distinguishable."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _where(turn: int | None) -> str:
    return "final" if turn is None else f"turn {turn}"


def failure_lines(result: ConversationResult) -> list[str]:
    """One line per failing field and check: what was expected, what came, and why it failed."""
    lines: list[str] = []
    for verdict in result.fields:
        if verdict.passed:
            continue
        head = f"{verdict.field} ({_where(verdict.turn)}, {verdict.outcome})"
        if verdict.outcome == "unexpected":
            lines.append(f"{head}: got {_value(verdict.actual)}: {verdict.reason}")
        else:
            lines.append(
                f"{head}: expected {_value(verdict.expected)}, "
                f"got {_value(verdict.actual)}: {verdict.reason}"
            )
    lines.extend(
        f"{check.check} ({_where(check.turn)}): {check.reason}"
        for check in result.checks
        if not check.passed
    )
    return lines or ["failed (no failing field or check recorded)"]


def _failure_text(result: ConversationResult) -> str:
    blocks: list[str] = []
    for verdict in result.fields:
        if not verdict.passed:
            blocks.append(
                f"{verdict.field}, {_where(verdict.turn)}, matcher {verdict.matcher}: "
                f"{verdict.outcome}\n"
                f"  expected: {_value(verdict.expected)}\n"
                f"  actual:   {_value(verdict.actual)}\n"
                f"  reason:   {verdict.reason}"
            )
    blocks.extend(
        f"{check.check}, {_where(check.turn)}: failed\n  reason:   {check.reason}"
        for check in result.checks
        if not check.passed
    )
    if result.warnings:
        blocks.append("warnings:\n" + "\n".join(f"  - {w}" for w in result.warnings))
    return f"{result.source}\n\n" + "\n\n".join(blocks) + "\n"


def _said(who: str, text: object) -> str:
    """`  who: text`, with the text's further lines indented under it."""
    return f"  {who}: " + str(text).replace("\n", "\n" + " " * (len(who) + 4))


def _transcript(result: ConversationResult) -> str:
    """What was said, turn by turn: the user, the assistant's text, and the extracted values."""
    lines: list[str] = []
    for number, turn in enumerate(result.transcript):
        lines.append(f"turn {number} [{turn.endpoint}] HTTP {turn.status_code}")
        if turn.user is not None:
            lines.append(_said("user", turn.user))
        for timed in turn.chunks:
            chunk = timed.chunk
            kind = chunk.get("chunkType")
            if kind == "TEXT":
                lines.append(_said("assistant", (chunk.get("textDetails") or {}).get("text", "")))
            elif kind == "TEXT_DATA":
                data = chunk.get("textDataDetails") or {}
                field = data.get("fieldTarget", "")
                lines.append(_said("extracted", f"{field} = {_value(data.get('value'))}"))
    return "\n".join(lines) + "\n" if lines else ""


def _source(source: str) -> tuple[str, str | None]:
    path, sep, line = source.rpartition(":")
    if sep and path and line.isdigit():
        return path, line
    return source, None


def _seconds(value: float) -> str:
    return f"{max(value, 0.0):.3f}"


def _testcase(result: ConversationResult) -> ET.Element:
    name = result.conversation_id
    if result.repeat > 0:
        name = f"{name}[{result.repeat}]"
    attrs = {"classname": result.suite, "name": name}
    path, line = _source(result.source)
    if path:
        attrs["file"] = path
    if line is not None:
        attrs["line"] = line
    attrs["time"] = _seconds(result.duration_s)
    case = ET.Element("testcase", {k: xml_escape_visible(v) for k, v in attrs.items()})
    if result.status == "fail":
        node = ET.SubElement(
            case,
            "failure",
            {"type": "fail", "message": xml_escape_visible("; ".join(failure_lines(result)))},
        )
        node.text = xml_escape_visible(_failure_text(result))
    elif result.status == "error":
        error = result.error
        kind = error.kind if error is not None else "internal"
        message = error.message if error is not None else "no error recorded"
        node = ET.SubElement(
            case, "error", {"type": kind, "message": xml_escape_visible(f"{kind}: {message}")}
        )
        details = [f"{result.source}", f"kind: {kind}", f"message: {message}"]
        if error is not None:
            if error.turn is not None:
                details.append(f"turn: {error.turn}")
            if error.status is not None:
                details.append(f"HTTP status: {error.status}")
            if error.code:
                details.append(f"code: {error.code}")
        node.text = xml_escape_visible("\n".join(details) + "\n")
    elif result.status == "skipped":
        reason = result.warnings[0] if result.warnings else "skipped"
        ET.SubElement(case, "skipped", {"message": xml_escape_visible(reason)})
    if result.status in ("fail", "error"):
        transcript = _transcript(result)
        if transcript:
            ET.SubElement(case, "system-out").text = xml_escape_visible(transcript)
    return case


@dataclass
class _Tally:
    """A testsuite's counts, and where its testcases lie in the sorted results."""

    first: int
    last: int = 0
    tests: int = 0
    failures: int = 0
    errors: int = 0
    skipped: int = 0
    time: float = 0.0

    def add(self, position: int, result: ConversationResult) -> None:
        self.last = position
        self.tests += 1
        self.failures += result.status == "fail"
        self.errors += result.status == "error"
        self.skipped += result.status == "skipped"
        self.time += result.duration_s

    def counts(self) -> dict[str, str]:
        return {
            "tests": str(self.tests),
            "failures": str(self.failures),
            "errors": str(self.errors),
            "skipped": str(self.skipped),
        }


def _tallies(results: Iterable[ConversationResult]) -> dict[str, _Tally]:
    """One pass over results in key order: each suite's counts and its range of positions."""
    tallies: dict[str, _Tally] = {}
    for position, result in enumerate(results):
        tallies.setdefault(result.suite, _Tally(first=position)).add(position, result)
    return tallies


def _wall_time(info: RunInfo, tallies: Iterable[_Tally]) -> float:
    try:
        start = datetime.fromisoformat(info.started_at)
        end = datetime.fromisoformat(info.finished_at)
    except ValueError:  # an unfinished run has no finish time: the conversations' total
        return sum(t.time for t in tallies)
    return (end - start).total_seconds()


def _properties(parent: ET.Element, values: dict[str, str]) -> None:
    node = ET.SubElement(parent, "properties")
    for name, value in values.items():
        ET.SubElement(node, "property", {"name": name, "value": xml_escape_visible(value)})


_CASES = "evalkit-testcases"
"""A placeholder element: where a testsuite's testcases are streamed into the document."""


def _junit_parts(info: RunInfo, results: Sequence[ConversationResult]) -> Iterator[str]:
    """The document in pieces, a testcase at a time (memory does not grow with the run).

    The skeleton (root, testsuites, properties) is built and indented as one small tree with a
    placeholder where each suite's testcases go; each testcase is then built, indented at its
    depth and serialised on its own, which gives the bytes indenting the whole tree would.
    """
    ordered = by_key(results)
    tallies = _tallies(ordered)
    totals = {
        "tests": str(sum(t.tests for t in tallies.values())),
        "failures": str(sum(t.failures for t in tallies.values())),
        "errors": str(sum(t.errors for t in tallies.values())),
    }
    # The root carries no `skipped`: junit-10.xsd does not allow it there.
    root = ET.Element("testsuites", {"name": "evalkit", **totals})
    root.set("time", _seconds(_wall_time(info, tallies.values())))
    suites: dict[str, SuiteInfo] = {suite.name: suite for suite in info.suites}
    names = [suite.name for suite in info.suites]
    names += sorted(set(tallies) - set(names))
    streamed: list[_Tally] = []
    for name in names:
        tally = tallies.get(name)
        if tally is None and name not in suites:
            continue
        node = ET.SubElement(root, "testsuite", {"name": xml_escape_visible(name)})
        for key, value in (tally or _Tally(first=0)).counts().items():
            node.set(key, value)
        node.set("time", _seconds(tally.time if tally else 0.0))
        node.set("timestamp", xml_escape_visible(info.started_at))
        properties = {
            "run_id": info.run_id,
            "evalkit_version": info.evalkit_version,
            "target": info.target.name,
            "base_url": info.target.base_url,
            "framing": info.target.framing,
        }
        summary = info.summary
        if summary.k > 1 and summary.pass_at_k is not None:
            properties |= {
                "k": str(summary.k),
                "pass_at_k": f"{summary.pass_at_k:.4f}",
                "pass_hat_k": f"{summary.pass_hat_k or 0.0:.4f}",
            }
        suite = suites.get(name)
        if suite is not None:
            node.set("file", xml_escape_visible(suite.path))
            properties |= {"suite_sha256": suite.sha256, "form": suite.form}
            form_id = info.target.form_ids.get(suite.form)
            if form_id:
                properties["form_id"] = form_id
        _properties(node, properties)
        if tally is not None:
            ET.SubElement(node, _CASES)
            streamed.append(tally)
    ET.indent(root, space="  ")
    skeleton = ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
    pieces = skeleton.split(f"<{_CASES} />")
    yield pieces[0]
    for tally, after in zip(streamed, pieces[1:], strict=True):
        for position, result in enumerate(ordered[tally.first : tally.last + 1]):
            case = _testcase(result)
            ET.indent(case, space="  ", level=2)
            yield ("\n    " if position else "") + ET.tostring(case, encoding="unicode")
        yield after


def to_junit_xml(info: RunInfo, results: Sequence[ConversationResult]) -> str:
    """Render a run as JUnit XML.

    Args:
        info: The run's metadata (`run.json`).
        results: Its conversation results, in any order (written sorted by id and repeat).

    Returns:
        The document, with an XML declaration, UTF-8 ready.
    """
    return "".join(_junit_parts(info, results))


def write_junit(run_dir: Path, info: RunInfo, results: Sequence[ConversationResult]) -> Path:
    """Write `junit.xml` into a run directory (atomically, streamed) and return its path."""
    path = run_dir / JUNIT_FILE
    write_atomically(path, _junit_parts(info, results))
    return path
