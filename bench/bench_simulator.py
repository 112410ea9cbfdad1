"""Simulator vs client: CPU seconds per turn of the persona simulator next to the client's.

The example persona suites (`suites/*-personas.eval.yaml`: contact, booking and event people),
each conversation repeated, are played against the emulator in its own process under
`--ask-order shuffled` (each session asks in its own order, so the transcripts differ):

- (a) client: `FormsClient` (streamed SSE) creates each session and sends each message the
  rule-based simulator says; `time.process_time` is taken around every client call only, so it
  is the client's work of a turn: the request, reading and decoding the stream, timing every
  chunk. Conversations run one after another (nothing else shares the process).
- (b) simulator: the recorded transcripts are replayed through fresh `Simulator`s by
  `evalkit.simulate.replay_session` (what `evalkit rescore` does with a stored persona run), with
  `time.process_time` around making each simulator and replaying its transcript (one
  `next_message` per assistant turn, the last one deciding to stop, and the comparison of each
  utterance); every replayed utterance must equal the recorded one (the simulator is
  deterministic), which the benchmark checks.

Both are divided by the user turns sent. Rounds alternate a, b, a, b... so both see the same
load; the table shows every round and the median ratio b/a. Goal: <= 0.1 (a tenth).

Run: `.venv/bin/python bench/bench_simulator.py [--repeats 20] [--rounds 3]`
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from dataclasses import dataclass

from _common import REPO, emulator, load_average, print_table

from evalkit.client import FormsClient
from evalkit.loader import load_suites
from evalkit.personas import hints_for
from evalkit.protocol import ClientTime
from evalkit.results import TurnTranscript
from evalkit.simulate import FieldHint, Simulator, replay_session, seed_for
from evalkit.suite import Persona


@dataclass
class Person:
    """One persona conversation, and one repeat of it."""

    form: str
    persona: Persona
    seed: int
    hints: tuple[FieldHint, ...]
    client_time: ClientTime | None


@dataclass
class Played:
    """What a round of the client recorded."""

    transcripts: list[list[TurnTranscript]]
    cpu: float
    turns: int
    wall: float


def people(repeats: int) -> list[Person]:
    """Every persona conversation of the example suites, `repeats` times each."""
    found = []
    for loaded in load_suites(sorted((REPO / "suites").glob("*-personas.eval.yaml"))):
        suite = loaded.suite
        hints = hints_for(loaded.path, suite.form)  # as the runner gives them
        for conversation in suite.conversations:
            if conversation.persona is None:
                continue
            spec = conversation.client_time or suite.client_time
            clock = (
                ClientTime(current_time=spec.current_time, time_zone=spec.time_zone)
                if spec is not None
                else None
            )
            for repeat in range(repeats):
                seed = seed_for(suite.suite, conversation.id, repeat)
                found.append(Person(suite.form, conversation.persona, seed, hints, clock))
    return found


async def play(base_url: str, who: list[Person]) -> Played:
    """Run every conversation against the emulator; CPU is counted around client calls only."""
    cpu = 0.0
    turns = 0
    transcripts = []
    wall = time.perf_counter()
    async with FormsClient(base_url, mode="sse") as client:
        for person in who:
            simulator = Simulator(person.persona, person.seed, person.hints)
            start = time.process_time()
            created = await client.create_session(person.form, client_time=person.client_time)
            cpu += time.process_time() - start
            transcript = [created]
            while (step := simulator.next_message(transcript)).utterance is not None:
                turns += 1
                start = time.process_time()
                answer = await client.send_message(created.session_id, step.utterance, turn=turns)
                cpu += time.process_time() - start
                transcript.append(answer)
            transcripts.append(transcript)
    return Played(transcripts, cpu, turns, time.perf_counter() - wall)


def replay(who: list[Person], transcripts: list[list[TurnTranscript]]) -> tuple[float, int]:
    """Replay the recorded transcripts through fresh simulators, as `evalkit rescore` does."""
    cpu = 0.0
    turns = 0
    for person, transcript in zip(who, transcripts, strict=True):
        start = time.process_time()
        simulator = Simulator(person.persona, person.seed, person.hints)
        replayed = replay_session(simulator, transcript)
        cpu += time.process_time() - start
        if not replayed.matches:
            raise RuntimeError(
                f"replay differs at turn {replayed.turn}: {replayed.would!r} != {replayed.sent!r}"
            )
        turns += len(replayed.answers)
    return cpu, turns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20, help="repeats of each persona")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    who = people(args.repeats)
    rows = []
    ratios = []
    with emulator(extra=["--ask-order", "shuffled"]) as server:
        for round_number in range(1, args.rounds + 1):
            load = load_average()
            played = asyncio.run(play(server.base_url, who))
            client = played.cpu / played.turns
            rows.append(
                [round_number, "client", played.turns, played.cpu, client * 1000, played.wall, load]
            )
            load = load_average()
            wall = time.perf_counter()
            cpu, turns = replay(who, played.transcripts)
            wall = time.perf_counter() - wall
            simulator = cpu / turns
            rows.append([round_number, "simulator", turns, cpu, simulator * 1000, wall, load])
            ratios.append(simulator / client)
    headers = ["round", "who", "user turns", "CPU s", "CPU ms/turn", "wall s", "load (1/5/15)"]
    title = (
        f"Simulator vs client: {len(who)} persona conversations "
        f"({args.repeats} repeats of each example persona), emulator --ask-order shuffled"
    )
    print_table(title, headers, rows)
    per_turn = {
        kind: statistics.median(r[4] for r in rows if r[1] == kind)
        for kind in ("client", "simulator")
    }
    ratio = statistics.median(ratios)
    print(
        f"\nmedian CPU per user turn: client {per_turn['client']:.3f} ms, simulator "
        f"{per_turn['simulator']:.3f} ms; ratio simulator/client = {ratio:.3f} (goal <= 0.1)"
    )


if __name__ == "__main__":
    main()
