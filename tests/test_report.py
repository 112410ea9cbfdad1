"""The HTML and Markdown reports: golden output, hostile target text kept inert, determinism."""

from __future__ import annotations

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
    make_environment,
    neutralize_markdown,
    render_html,
    render_markdown,
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
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

Run = tuple[RunInfo, list[ConversationResult]]


@pytest.fixture
def run() -> Run:
    return read_run(FIXTURE)


# ----------------------------------------------------------------------------- helpers


class _Markup(HTMLParser):
    """Collects every tag and attribute a browser would see."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str]] = []
        self.metas: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += [(name, value or "") for name, value in attrs]
        if tag == "meta":
            self.metas.append(dict(attrs))


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


# ----------------------------------------------------------------------------- content


def test_html_report_is_self_contained_with_a_csp_and_no_scripts(run: Run) -> None:
    markup = parse_html(render_html(*run))

    csp = [m for m in markup.metas if m.get("http-equiv") == "Content-Security-Policy"]
    assert [m["content"] for m in csp] == [CSP]
    assert not {"script", "link", "img", "iframe", "object"} & set(markup.tags)
    links = [value for name, value in markup.attributes if name in {"href", "src"}]
    assert all(link.startswith("#") for link in links), links


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
    assert '<code>email</code> = <code class="value">&#34;sam@example.com&#34;</code>' in page
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

    assert not {"script", "img", "iframe"} & set(markup.tags)
    assert not [name for name, _ in markup.attributes if name.startswith("on")]
    links = [value for name, value in markup.attributes if name in {"href", "src"}]
    assert all(link.startswith("#") for link in links), links
    assert "<script" not in page.lower()
    assert "<img" not in page.lower()
    if "<" in payload:
        assert "&lt;" in page


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
