"""The HTML and Markdown reports: goldens, hostile text kept inert, size caps, determinism.

The browser behaviour of the HTML report is tested in tests/browser/.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jinja2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from evalkit.report import (
    GITHUB_STEP_SUMMARY_LIMIT,
    PR_COMMENT_LIMIT,
    Regression,
    RunComparison,
    TrendPoint,
    make_environment,
    neutralize_markdown,
    render_html,
    render_markdown,
    report_script,
    write_reports,
)
from evalkit.results import (
    CheckResult,
    ConversationResult,
    ErrorInfo,
    FieldResult,
    FieldStats,
    RunInfo,
    SuiteInfo,
    Summary,
    TargetInfo,
    TimedChunk,
    TurnTranscript,
    read_run,
)

FIXTURE = Path(__file__).resolve().parent / "data" / "run_fixture"
RICH = Path(__file__).resolve().parent / "data" / "run_fixture_rich"

Run = tuple[RunInfo, list[ConversationResult]]


@pytest.fixture
def run() -> Run:
    return read_run(FIXTURE)


@pytest.fixture
def rich() -> Run:
    return read_run(RICH)


# ----------------------------------------------------------------------------- helpers


class _Markup(HTMLParser):
    """Collects every tag and attribute a browser would see."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str]] = []
        self.metas: list[dict[str, str | None]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._script: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += [(name, value or "") for name, value in attrs]
        if tag == "meta":
            self.metas.append(dict(attrs))
        if tag == "script":
            self._script = dict(attrs)
            self.scripts.append((self._script, ""))

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script = None


def parse_html(page: str) -> _Markup:
    parser = _Markup()
    parser.feed(page)
    parser.close()
    return parser


def unescaped_pipes(line: str) -> int:
    """Count the pipes GFM treats as cell separators (a backslash escapes the next character)."""
    return re.sub(r"\\.", "", line).count("|")


def markdown_tables(document: str) -> list[list[str]]:
    """Split a Markdown document into its tables: runs of consecutive lines starting with `|`."""
    tables: list[list[str]] = []
    current: list[str] = []
    for line in [*document.splitlines(), ""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    return tables


# ----------------------------------------------------------------------------- golden files


def test_html_report_matches_golden(run: Run, golden: Callable[[str, str], None]) -> None:
    golden("report.html", render_html(*run))


def test_markdown_report_matches_golden(run: Run, golden: Callable[[str, str], None]) -> None:
    golden("report.md", render_markdown(*run))


def test_rich_html_report_matches_golden(rich: Run, golden: Callable[[str, str], None]) -> None:
    golden("report_rich.html", render_html(*rich))


def test_rich_markdown_report_matches_golden(rich: Run, golden: Callable[[str, str], None]) -> None:
    golden("report_rich.md", render_markdown(*rich))


# ----------------------------------------------------------------------------- content


def csp_directives(markup: _Markup) -> dict[str, str]:
    csp = [m for m in markup.metas if m.get("http-equiv") == "Content-Security-Policy"]
    assert len(csp) == 1
    content = csp[0]["content"] or ""
    return dict(part.strip().split(" ", 1) for part in content.split(";"))


def test_html_report_is_self_contained_and_its_csp_allows_exactly_its_own_script(run: Run) -> None:
    markup = parse_html(render_html(*run))

    directives = csp_directives(markup)
    assert directives["default-src"] == "'none'"
    assert directives["img-src"] == "data:"
    executable = [text for attrs, text in markup.scripts if attrs.get("type") != "application/json"]
    assert len(executable) == 1
    digest = base64.b64encode(hashlib.sha256(executable[0].encode()).digest()).decode()
    assert directives["script-src"] == f"'sha256-{digest}'"
    assert executable[0] == report_script()
    assert not [attrs for attrs, _ in markup.scripts if "src" in attrs]
    assert not {"link", "img", "iframe", "object", "embed"} & set(markup.tags)
    links = [value for name, value in markup.attributes if name in {"href", "src"}]
    assert all(link.startswith("#") for link in links), links


def test_report_script_builds_the_page_without_html_sinks() -> None:
    script = report_script()

    for sink in (
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "Function(",
    ):
        assert sink not in script, sink


def test_embedded_data_parses_back_to_every_conversation(rich: Run) -> None:
    markup = parse_html(render_html(*rich))
    data = {attrs["id"]: json.loads(text) for attrs, text in markup.scripts if attrs.get("id")}

    index, details = data["evalkit-index"], data["evalkit-details"]
    rows = [(index["suites"][row[1]], row[2], row[3], row[4]) for row in index["rows"]]
    assert rows == [(r.suite, r.conversation_id, r.repeat, r.status) for r in rich[1]]
    assert len(details) == len(rows)
    assert index["tags"] == ["dates", "phone", "smoke"]


def test_server_rendered_failures_come_worst_first_with_stable_anchors(rich: Run) -> None:
    page = render_html(*rich)

    anchors = re.findall(r'<article class="conversation \w+" id="([^"]+)"', page)
    assert anchors == [
        "booking/pick-a-service/0",  # errors first
        "contact-form/phone-format/0",  # two failing verdicts
        "booking/date-relative/1",  # one
    ]


def test_html_marks_the_slices_of_the_user_message_the_service_extracted_from(rich: Run) -> None:
    page = render_html(*rich)

    assert (
        '<div class="msg user">call me on <mark title="phone">415 555 0100</mark> please</div>'
        in page
    )


@pytest.mark.parametrize(
    ("snippet"),
    [
        pytest.param(
            '<span class="type">MULTI_SELECT_INPUT</span><code class="field">topics</code>'
            '<span class="opt">Sales</span><span class="opt">Support</span>',
            id="select-options",
        ),
        pytest.param(
            '<span class="type">IMPORTANT_TEXT</span><code class="field">phone</code>'
            '<span class="ctext">Include the country code.</span>',
            id="important-text",
        ),
        pytest.param(
            '<div class="chunk error"><span class="type">ERROR</span>'
            '<span class="ctext">That phone number looks incomplete.</span>',
            id="error",
        ),
        pytest.param(
            '<span class="chip"><code class="field">phone</code>= '
            '<code class="value">&#34;4155550100&#34;</code></span> '
            '<span class="muted">415-555-0100</span>',
            id="data-chip-with-display-value",
        ),
        pytest.param(
            '<div class="retry">attempt 1: HTTP 429; retry after 1.00 s</div>', id="retry"
        ),
        pytest.param(
            "<li>restarted: attempt 1: truncated: stream ended without END_OF_RESPONSE; "
            "restart</li>",
            id="restart",
        ),
        pytest.param('<div class="card flaky"><div class="n">1</div>', id="flaky-count"),
        pytest.param("95% CI 23.1%–88.2%", id="pass-rate-interval"),
    ],
)
def test_html_shows_each_kind_of_thing_distinctly(rich: Run, snippet: str) -> None:
    assert snippet in render_html(*rich)


def test_comparison_and_history_render_only_when_given(run: Run) -> None:
    info, results = run
    comparison = RunComparison(
        baseline_run_id="base-run",
        baseline_pass_rate=1.0,
        regressions=[Regression("contact-form", "phone-and-newsletter", 0, "pass", "fail")],
    )
    history = [TrendPoint("r1", "2026-03-01T02:00:00Z", 0.9), TrendPoint("r2", "x", 0.8)]

    plain = render_html(info, results)
    full = render_html(info, results, comparison=comparison, history=history)

    for marker in ('id="regressions"', "Pass rate over the last", "base-run"):
        assert marker not in plain
        assert marker in full
    assert full.index('id="regressions"') < full.index('id="summary"')
    assert '<a href="#contact-form/phone-and-newsletter/0">' in full
    assert "Pass rate over the last 3 runs" in full
    assert "base-run" in render_markdown(info, results, comparison=comparison)


@pytest.mark.parametrize("render", [render_html, render_markdown], ids=["html", "markdown"])
def test_report_names_each_failed_and_errored_conversation_with_its_source(
    run: Run, render: Callable[[RunInfo, list[ConversationResult]], str]
) -> None:
    text = render(*run)

    assert "phone-and-newsletter" in text
    assert "suites/contact.eval.yaml:24" in text
    assert "pick-a-service" in text
    assert "suites/booking.eval.yaml:31" in text
    assert "503 Service Unavailable after 3 attempts" in text
    assert "75.0%" in text  # pass rate, errors excluded
    assert "20.0%" in text  # error rate


def test_markdown_report_puts_errors_and_failures_before_field_table(run: Run) -> None:
    document = render_markdown(*run)

    order = [document.index(h) for h in ("## Errors", "## Failures", "## Fields", "## What ran")]
    assert order == sorted(order)


def test_html_transcript_shows_user_text_data_and_other_chunk_types_by_name(run: Run) -> None:
    page = render_html(*run)

    assert '<div class="msg user">how many seats?</div>' in page
    assert (
        '<code class="field">email</code>= <code class="value">&#34;sam@example.com&#34;</code>'
        in page
    )
    for chunk_type in ("SINGLE_SELECT_INPUT", "NUMBER_INPUT", "IMPORTANT_TEXT", "HOLOGRAM"):
        assert f'<span class="type">{chunk_type}</span>' in page


# ----------------------------------------------------------------------------- hostile text

PAYLOADS = [
    pytest.param("<script>alert(1)</script>", id="script-tag"),
    pytest.param('"><img src=x onerror=alert(1)>', id="attribute-breakout"),
    pytest.param("</script>", id="script-close"),
    pytest.param("[click me](javascript:alert(1))", id="javascript-link"),
    pytest.param("![x](http://evil/x.png)", id="markdown-image"),
    pytest.param("a | b\n| x | y |\n# heading\n<b>bold</b>", id="table-and-block-breakout"),
    pytest.param("`code` *em* _em_ ~~del~~ \\| &lt;script&gt;", id="inline-syntax"),
]


def hostile_run(payload: str) -> Run:
    """A run in which every string the target, suite or harness could influence is the payload."""
    chunks: list[dict[str, Any]] = [
        {"chunkType": "TEXT", "textDetails": {"text": payload, "style": payload}},
        {
            "chunkType": "TEXT_DATA",
            "textDataDetails": {"fieldTarget": payload, "value": {payload: [payload]}},
        },
        {"chunkType": "IMPORTANT_TEXT", "importantTextDetails": {"fieldTarget": payload}},
        {"chunkType": "ERROR", "errorDetails": {"messageText": payload}},
        {"chunkType": payload},
        {"chunkType": "TEXT", "textDetails": payload},  # malformed: details not an object
    ]
    turn = TurnTranscript(
        endpoint=payload,
        user=payload,
        current_values={payload: payload},
        session_id=payload,
        chunks=[TimedChunk(t=0.1, chunk=c) for c in chunks],
    )
    field = FieldResult(
        field=payload,
        turn=1,
        matcher="text",
        expected=payload,
        actual=payload,
        outcome="wrong",
        passed=False,
        score=0.0,
        reason=payload,
    )
    failed = ConversationResult(
        suite=payload,
        conversation_id=payload,
        source=payload,
        status="fail",
        session_id=payload,
        transcript=[turn],
        fields=[field, field.model_copy(update={"turn": None, "outcome": "missing"})],
        checks=[CheckResult(check=payload, turn=1, passed=False, reason=payload)],
        warnings=[payload],
        final_state={payload: payload},
    )
    errored = failed.model_copy(
        update={
            "conversation_id": payload + "-2",
            "status": "error",
            "error": ErrorInfo(kind="http", message=payload, turn=1, status=500, code=payload),
        }
    )
    info = RunInfo(
        run_id=payload,
        evalkit_version=payload,
        started_at=payload,
        finished_at=payload,
        target=TargetInfo(
            name=payload, base_url=payload, framing=payload, form_ids={payload: payload}
        ),
        suites=[
            SuiteInfo(name=payload, path=payload, sha256=payload, form=payload, conversations=1)
        ],
        summary=Summary(
            total=2,
            failed=1,
            errors=1,
            pass_rate=0.0,
            error_rate=0.5,
            fields={payload: FieldStats(wrong=1, missing=1)},
        ),
    )
    return info, [failed, errored]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_html_report_escapes_hostile_text(payload: str) -> None:
    page = render_html(*hostile_run(payload))
    markup = parse_html(page)

    assert not {"img", "iframe"} & set(markup.tags)
    assert markup.tags.count("script") == 3  # the two data blocks and the report's own script
    assert page.lower().count("<script") == 3
    assert not [name for name, _ in markup.attributes if name.startswith("on")]
    links = [value for name, value in markup.attributes if name in {"href", "src"}]
    assert all(link.startswith("#") for link in links), links
    assert "<img" not in page.lower()
    if "<" in payload:
        assert "&lt;" in page
    data = {attrs.get("id"): json.loads(text) for attrs, text in markup.scripts if attrs.get("id")}
    assert data["evalkit-index"]["rows"][0][2] == payload  # the data block holds it intact


def test_html_report_shows_escaped_script_tag_as_text() -> None:
    page = render_html(*hostile_run("<script>alert(1)</script>"))

    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.parametrize("payload", PAYLOADS)
def test_markdown_report_neutralizes_hostile_text(payload: str) -> None:
    document = render_markdown(*hostile_run(payload))

    assert "<" not in document  # the template writes no HTML, and model text has none left
    assert "![" not in document
    assert "](" not in re.sub(r"\\.", "", document)  # no link or image syntax survives
    assert not [line for line in document.splitlines() if line.startswith("# heading")]
    for table in markdown_tables(document):
        assert len({unescaped_pipes(row) for row in table}) == 1, table


# ----------------------------------------------------------------------------- neutralize_markdown


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Jane Doe, jane@example.com", "Jane Doe, jane@example.com", id="plain"),
        pytest.param("Žemaitė — 日本語", "Žemaitė — 日本語", id="unicode-unchanged"),
        pytest.param("a|b", "a\\|b", id="pipe"),
        pytest.param("a\\|b", "a\\\\\\|b", id="backslash-cannot-unescape-pipe"),
        pytest.param("<b>x</b>", "&lt;b&gt;x&lt;/b&gt;", id="raw-html"),
        pytest.param("&lt;", "&amp;lt;", id="entity-shown-literally"),
        pytest.param("![x](http://evil/x.png)", "\\!\\[x\\](http://evil/x.png)", id="image"),
        pytest.param("[go](javascript:alert(1))", "\\[go\\](javascript:alert(1))", id="link"),
        pytest.param("`rm -rf`", "\\`rm -rf\\`", id="code-span"),
        pytest.param("*b* _i_ ~~s~~", "\\*b\\* \\_i\\_ \\~\\~s\\~\\~", id="emphasis"),
        pytest.param("one\ntwo", "one two", id="newline"),
        pytest.param("one\r\n\r\ntwo\u2028three", "one two three", id="line-breaks-collapse"),
        pytest.param("a\tb", "a b", id="tab"),
        pytest.param("a\x00b\x1bc\x7f", "abc", id="control-characters-dropped"),
        pytest.param("abc\u202edcba", "abcdcba", id="bidi-override-dropped"),
        pytest.param(42, "42", id="number"),
    ],
)
def test_neutralize_markdown(text: object, expected: str) -> None:
    assert neutralize_markdown(text) == expected


@given(st.text())
def test_neutralize_markdown_output_stays_on_one_line_with_no_live_syntax(text: str) -> None:
    result = neutralize_markdown(text)
    unescaped = re.sub(r"\\.", "", result)

    assert "\n" not in result
    assert "\r" not in result
    assert "<" not in result
    assert not set("|`*_[]!~") & set(unescaped)


# ----------------------------------------------------------------------------- determinism, files


@pytest.mark.parametrize("render", [render_html, render_markdown], ids=["html", "markdown"])
def test_rendering_is_deterministic_and_ignores_result_order(
    run: Run, render: Callable[[RunInfo, list[ConversationResult]], str]
) -> None:
    info, results = run

    first = render(info, results)

    assert render(info, results) == first
    assert render(info, list(reversed(results))) == first


def test_write_reports_writes_both_files_into_the_run_directory(run: Run, tmp_path: Path) -> None:
    paths = write_reports(tmp_path, *run)

    assert paths == {"html": tmp_path / "report.html", "markdown": tmp_path / "report.md"}
    assert paths["html"].read_text(encoding="utf-8") == render_html(*run)
    assert paths["markdown"].read_text(encoding="utf-8") == render_markdown(*run)


@pytest.mark.parametrize("render", [render_html, render_markdown], ids=["html", "markdown"])
def test_empty_run_renders(render: Callable[[RunInfo, list[ConversationResult]], str]) -> None:
    info = RunInfo(
        run_id="empty",
        evalkit_version="0.1.0",
        started_at="2026-03-02T02:00:00Z",
        target=TargetInfo(name="emulator", base_url="http://127.0.0.1:1", framing="sse"),
    )

    text = render(info, [])

    assert "no conversation was evaluated" in text
    assert "Failures" not in text


def test_environment_escapes_html_templates_only_and_rejects_undefined_names() -> None:
    env = make_environment()

    assert callable(env.autoescape)
    assert env.autoescape("report.html.j2") is True
    assert env.autoescape("report.md.j2") is False
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ missing }}").render()


# ----------------------------------------------------------------------------- Markdown size cap


def many_failures(count: int) -> Run:
    """A run of `count` failed conversations; conversation k fails on k % 7 + 1 fields."""
    results = []
    for k in range(count):
        failing = [
            FieldResult(
                field=f"field_{j}",
                turn=1,
                matcher="text",
                expected="x" * 40,
                actual="y" * 40,
                outcome="wrong",
                passed=False,
                score=0.0,
                reason="the assistant extracted something else entirely " * 2,
            )
            for j in range(k % 7 + 1)
        ]
        results.append(
            ConversationResult(
                suite="big", conversation_id=f"c{k:04d}", status="fail", fields=failing
            )
        )
    info = RunInfo(
        run_id="big",
        evalkit_version="0.1.0",
        started_at="2026-03-02T02:00:00Z",
        target=TargetInfo(name="emulator", base_url="http://127.0.0.1:1", framing="sse"),
        summary=Summary(total=count, failed=count, pass_rate=0.0, error_rate=0.0),
    )
    return info, results


@pytest.mark.parametrize(
    "budget",
    [
        pytest.param(PR_COMMENT_LIMIT, id="pr-comment"),
        pytest.param(20_000, id="20k"),
        pytest.param(3_000, id="3k"),
    ],
)
def test_markdown_is_cut_to_its_budget_keeping_the_worst_and_what_ran(budget: int) -> None:
    info, results = many_failures(400)

    document = render_markdown(info, results, max_bytes=budget)

    assert len(document.encode("utf-8")) <= budget
    assert "## What ran" in document
    assert "not listed here, to keep within the size limit" in document
    shown = re.findall(r"^### ❌ big / (c\d+)", document, flags=re.MULTILINE)
    # Worst first: every conversation failing on 7 fields comes before any failing on fewer.
    worst = sorted(f"c{k:04d}" for k in range(400) if k % 7 == 6)
    assert shown == worst[: len(shown)]
    if budget >= 20_000:
        assert shown


def test_markdown_within_its_budget_is_not_cut(run: Run) -> None:
    assert render_markdown(*run, max_bytes=GITHUB_STEP_SUMMARY_LIMIT) == render_markdown(*run)


def test_write_reports_caps_the_markdown_file(tmp_path: Path) -> None:
    info, results = many_failures(100)

    write_reports(tmp_path, info, results, markdown_max_bytes=10_000)

    assert len((tmp_path / "report.md").read_bytes()) <= 10_000
