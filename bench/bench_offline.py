"""Offline work at scale: load a big suite, rescore a stored run, render the reports.

- load: 10,000 conversations x 3 turns (ten files of 1,000: the loader refuses files over 2 MB),
  `load_suites` with every check;
- rescore: a stored run of 25,000 conversations x 4 user turns = 100,000 turns (synthetic
  `results.jsonl`: a greeting and, per turn, the expected TEXT_DATA chunks, one value in ten
  wrong, a reply and END_OF_RESPONSE), read with `iter_results` and scored again against its
  suites with `score_conversation`, as a re-score with edited expectations does;
- render: `summarize`, `render_html` and `render_markdown` of 10,000 of those conversations.

Goal: each within a few seconds. Run: `.venv/bin/python bench/bench_offline.py`
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from _common import TURNS, load_average, person, print_table, write_suites

from evalkit.loader import load_suites
from evalkit.metrics import summarize
from evalkit.report import render_html, render_markdown
from evalkit.results import (
    ConversationResult,
    ResultsWriter,
    RunInfo,
    TargetInfo,
    TimedChunk,
    TurnTranscript,
    iter_results,
)
from evalkit.scoring import score_conversation


def chunk(kind: str, **details: object) -> dict[str, object]:
    key = {"TEXT_DATA": "textDataDetails", "TEXT": "textDetails"}.get(kind)
    return {"chunkType": kind, **({key: details} if key else {})}


def stored_run(path: Path, conversations: int, turns: int) -> None:
    """Write a results.jsonl whose transcripts extract what the suites expect (1 in 10 wrong)."""
    with ResultsWriter(path) as writer:
        for k in range(conversations):
            who = person(k)
            transcript = [
                TurnTranscript(
                    endpoint="create-streamed",
                    status_code=200,
                    framing="sse",
                    session_id=f"s{k}",
                    chunks=[
                        TimedChunk(t=0.01, chunk=chunk("TEXT", text="Hi! What's your name?")),
                        TimedChunk(t=0.02, chunk=chunk("END_OF_RESPONSE")),
                    ],
                )
            ]
            for t in range(turns):
                user, expect = TURNS[t % len(TURNS)]
                chunks = []
                for n, (field, value) in enumerate(expect.items()):
                    shown = value.format(**who) if isinstance(value, str) else value
                    if (k + t + n) % 10 == 0:
                        shown = "wrong"
                    data = chunk("TEXT_DATA", fieldTarget=field, value=shown)
                    chunks.append(TimedChunk(t=0.05 + 0.01 * n, chunk=data))
                chunks.append(
                    TimedChunk(t=0.09, chunk=chunk("TEXT", text="Thanks! Anything else?"))
                )
                chunks.append(TimedChunk(t=0.1, chunk=chunk("END_OF_RESPONSE")))
                transcript.append(
                    TurnTranscript(
                        endpoint="send-user-message-streamed",
                        user=user.format(**who),
                        status_code=200,
                        framing="sse",
                        chunks=chunks,
                        first_chunk_s=0.05,
                        total_s=0.1,
                    )
                )
            writer.write(
                ConversationResult(
                    suite=f"bench-{k // 1000:03d}",
                    conversation_id=f"c{k:06d}",
                    status="pass",
                    session_id=f"s{k}",
                    transcript=transcript,
                )
            )


def timed(label: str, rows: list[list[object]], size: str, seconds: float, note: str) -> None:
    rows.append([label, size, seconds, note, load_average()])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--load", type=int, default=10_000, help="conversations to load")
    parser.add_argument("--rescore", type=int, default=25_000, help="conversations to rescore")
    parser.add_argument("--turns", type=int, default=4, help="user turns of the rescored ones")
    parser.add_argument("--render", type=int, default=10_000, help="conversations to render")
    args = parser.parse_args()
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_suites(root / "load", args.load, 3)
        start = time.perf_counter()
        loaded = load_suites([root / "load"])
        count = sum(len(s.suite.conversations) for s in loaded)
        timed("load suites", rows, f"{count} conversations", time.perf_counter() - start, "")

        write_suites(root / "rescore", args.rescore, args.turns)
        stored_run(root / "run", args.rescore, args.turns)
        by_key = {
            (s.name, c.id): (c, s.suite.defaults)
            for s in load_suites([root / "rescore"])
            for c in s.suite.conversations
        }
        size = (root / "run" / "results.jsonl").stat().st_size / 2**20
        turns = args.rescore * args.turns
        start = time.perf_counter()
        stored = list(iter_results(root / "run" / "results.jsonl"))
        read_s = time.perf_counter() - start
        timed("read results.jsonl", rows, f"{turns} turns", read_s, f"{size:.0f} MB")
        start = time.perf_counter()
        rescored = []
        failed = 0
        for result in stored:
            conversation, defaults = by_key[result.suite, result.conversation_id]
            score = score_conversation(conversation, defaults, result.transcript)
            failed += score.status == "fail"
            rescored.append(
                result.model_copy(
                    update={"status": score.status, "fields": score.fields, "checks": score.checks}
                )
            )
        score_s = time.perf_counter() - start
        timed("score again", rows, f"{turns} turns", score_s, f"{failed} failing conversations")
        timed("read + score", rows, f"{turns} turns", read_s + score_s, "")

        subset = rescored[: args.render]
        start = time.perf_counter()
        info = RunInfo(
            run_id="bench",
            evalkit_version="bench",
            started_at="2026-11-25T10:00:00Z",
            target=TargetInfo(name="emulator", base_url="http://127.0.0.1", framing="sse"),
            summary=summarize(subset),
        )
        timed("summarize", rows, f"{len(subset)} conversations", time.perf_counter() - start, "")
        start = time.perf_counter()
        html = render_html(info, subset)
        note = f"{len(html.encode()) / 2**20:.1f} MB"
        timed(
            "render_html", rows, f"{len(subset)} conversations", time.perf_counter() - start, note
        )
        start = time.perf_counter()
        markdown = render_markdown(info, subset)
        note = f"{len(markdown.encode()) / 2**10:.0f} kB"
        timed(
            "render_markdown",
            rows,
            f"{len(subset)} conversations",
            time.perf_counter() - start,
            note,
        )
    print_table(
        "Offline work (goal: each within a few seconds)",
        ["step", "size", "seconds", "note", "load (1/5/15)"],
        rows,
    )


if __name__ == "__main__":
    sys.exit(main())
