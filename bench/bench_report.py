"""Benchmark of the HTML report at scale (not a test): 1,000 and 10,000 conversations.

For each size it builds a synthetic run (three user turns per conversation, about six chunks per
turn, one conversation in eight failing and one in fifty erroring), then measures:

- generation: `render_html` and `render_markdown` (capped for $GITHUB_STEP_SUMMARY), seconds;
- size of the HTML file;
- time to interactive in headless chromium (best of three loads): from navigation start until
  the report's script has drawn the first page of the table (`performance.now()` it records in
  `data-ready`), and the wall-clock time of open + wait;
- time to open the first transcript (which parses the embedded details on first use), and to
  run a free-text search over every conversation.

Run: `.venv/bin/python bench/bench_report.py [SIZES...]` (needs /usr/bin/chromium: `make browser`).
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from evalkit.metrics import summarize
from evalkit.report import render_html, render_markdown
from evalkit.results import (
    CheckResult,
    ConversationResult,
    ErrorInfo,
    FieldResult,
    RunInfo,
    SuiteInfo,
    TargetInfo,
    TimedChunk,
    TurnTranscript,
)

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
FIELDS = ["first_name", "last_name", "email", "phone", "date", "time", "guests", "notes"]
SUITES = ["contact-form", "booking", "support", "newsletter", "event-rsvp"]


def conversation(k: int, rng: random.Random) -> ConversationResult:
    status = "error" if k % 50 == 7 else "fail" if k % 8 == 3 else "pass"
    transcript = [
        TurnTranscript(
            endpoint="create-streamed",
            status_code=200,
            framing="sse",
            chunks=[
                TimedChunk(t=0.05, chunk={"chunkType": "TEXT", "textDetails": {"text": "Hi!"}}),
                TimedChunk(t=0.06, chunk={"chunkType": "END_OF_RESPONSE"}),
            ],
            first_chunk_s=0.05,
            total_s=0.07,
        )
    ]
    verdicts = []
    for turn in range(1, 4):
        names = rng.sample(FIELDS, 2)
        message = f"my {names[0]} is value-{k}-{turn} and {names[1]} is other-{k}"
        first = rng.lognormvariate(-2.3, 0.5)
        chunks = [
            TimedChunk(
                t=first + 0.01 * i,
                chunk={
                    "chunkType": "TEXT_DATA",
                    "textDataDetails": {"fieldTarget": name, "value": f"value-{k}-{turn}"},
                    "meaningfulInput": {"startOffset": 3, "length": 10},
                },
            )
            for i, name in enumerate(names)
        ]
        chunks += [
            TimedChunk(
                t=first + 0.03,
                chunk={
                    "chunkType": "SINGLE_SELECT_INPUT",
                    "singleSelectInputDetails": {
                        "fieldTarget": "topic",
                        "options": [
                            {"value": "a", "label": "Sales"},
                            {"value": "b", "label": "Help"},
                        ],
                    },
                },
            ),
            TimedChunk(
                t=first + 0.04,
                chunk={
                    "chunkType": "TEXT",
                    "textDetails": {"text": "Thanks! What else can I note?"},
                },
            ),
            TimedChunk(t=first + 0.05, chunk={"chunkType": "END_OF_RESPONSE"}),
        ]
        transcript.append(
            TurnTranscript(
                endpoint="send-user-message-streamed",
                user=message,
                status_code=200,
                framing="sse",
                chunks=chunks,
                first_chunk_s=round(first, 4),
                total_s=round(first + rng.lognormvariate(-1.5, 0.6), 4),
            )
        )
        for i, name in enumerate(names):
            wrong = status == "fail" and turn == 2 and i == 0
            verdicts.append(
                FieldResult(
                    field=name,
                    turn=turn,
                    matcher="text",
                    expected=f"value-{k}-{turn}",
                    actual="something else" if wrong else f"value-{k}-{turn}",
                    outcome="wrong" if wrong else "correct",
                    passed=not wrong,
                    score=0.0 if wrong else 1.0,
                    reason="expected another value" if wrong else "equal",
                )
            )
    return ConversationResult(
        suite=SUITES[k % len(SUITES)],
        conversation_id=f"conversation-{k:05d}",
        source=f"suites/{SUITES[k % len(SUITES)]}.eval.yaml:{10 + k}",
        tags=["smoke"] if k % 3 == 0 else ["nightly"],
        status=status,  # type: ignore[arg-type]
        error=ErrorInfo(kind="timeout", message="turn deadline exceeded", turn=2)
        if status == "error"
        else None,
        transcript=transcript,
        fields=verdicts,
        checks=[CheckResult(check="reply", turn=1, passed=True, reason="contains 'note'")],
        final_state={name: "v" for name in FIELDS[:4]},
        duration_s=round(sum(t.total_s for t in transcript), 3),
    )


def synthetic_run(size: int) -> tuple[RunInfo, list[ConversationResult]]:
    rng = random.Random(size)
    results = [conversation(k, rng) for k in range(size)]
    info = RunInfo(
        run_id=f"bench-{size}",
        evalkit_version="bench",
        started_at="2026-03-02T02:00:00Z",
        finished_at="2026-03-02T03:00:00Z",
        target=TargetInfo(name="emulator", base_url="http://127.0.0.1:1", framing="sse"),
        suites=[
            SuiteInfo(
                name=s,
                path=f"suites/{s}.eval.yaml",
                sha256="0" * 64,
                form=s,
                conversations=size // 5,
            )
            for s in SUITES
        ],
        summary=summarize(results),
    )
    return info, results


def open_page(path: Path, browser: object) -> tuple[int, float, float, float]:
    """Open the report; (ms to interactive, s open+ready, s first transcript, s text search)."""
    page = browser.new_page()  # type: ignore[attr-defined]
    start = time.perf_counter()
    page.goto(path.as_uri())
    page.wait_for_selector("html[data-ready]", timeout=120_000)
    wall_s = time.perf_counter() - start
    ready_ms = int(page.get_attribute("html", "data-ready"))
    start = time.perf_counter()
    page.locator("table.conversations a.conv").first.click()
    page.wait_for_selector("tr.detail ol.turns")
    expand_s = time.perf_counter() - start
    start = time.perf_counter()
    page.fill("input[name=text]", "value-4242-2")
    page.wait_for_function(
        "() => document.querySelectorAll('table.conversations a.conv').length <= 2"
    )
    search_s = time.perf_counter() - start
    page.close()
    return ready_ms, wall_s, expand_s, search_s


def measure(size: int, workdir: Path, browser: object) -> dict[str, str]:
    info, results = synthetic_run(size)
    start = time.perf_counter()
    page_html = render_html(info, results)
    html_s = time.perf_counter() - start
    start = time.perf_counter()
    render_markdown(info, results, max_bytes=1024 * 1024)
    md_s = time.perf_counter() - start
    path = workdir / f"report-{size}.html"
    path.write_text(page_html, encoding="utf-8")

    # Best of three page loads: the first load of a browser also pays for its own warm-up.
    ready_ms, wall_s, expand_s, search_s = min(open_page(path, browser) for _ in range(3))
    return {
        "conversations": f"{size:,}",
        "render_html": f"{html_s:.2f} s",
        "render_markdown": f"{md_s:.2f} s",
        "html size": f"{path.stat().st_size / 1e6:.1f} MB",
        "interactive": f"{ready_ms / 1000:.2f} s",
        "open + ready (wall)": f"{wall_s:.2f} s",
        "first transcript": f"{expand_s:.2f} s",
        "text search": f"{search_s:.2f} s",
    }


def main(sizes: list[int]) -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for size in sizes:
            rows.append(measure(size, Path(tmp), browser))
        browser.close()
    columns = list(rows[0])
    widths = [max(len(c), *(len(r[c]) for r in rows)) for c in columns]
    print(" | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    print("-|-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(row[c].rjust(w) for c, w in zip(columns, widths, strict=True)))


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1_000, 10_000])
