"""Shared pieces of the benchmarks: workloads, an emulator in its own process, child measurements.

The emulator always runs in a separate process (`python -m evalkit emulator`), so the CPU time and
memory measured for a client are the client's alone. Children are reaped with `os.wait4`, which
gives each its own CPU time and peak RSS.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tabulate import tabulate

REPO = Path(__file__).resolve().parents[1]
FORMS = REPO / "suites" / "forms"
PYTHON = sys.executable
PEOPLE = [
    ("Jane", "Doe"),
    ("Omar", "Haddad"),
    ("Priya", "Natarajan"),
    ("Lukas", "Berg"),
    ("Mei", "Tanaka"),
    ("Carlos", "Mendes"),
    ("Ada", "Okafor"),
    ("Sven", "Lindqvist"),
]
# The happy path of the example "contact" form: name and email, contact method, consent.
TURNS = [
    ("Hi, I'm {first} {last}, {email}", {"first_name": "{first}", "email": "{email}"}),
    ("Text message please", {"contact_method": "text_message"}),
    ("yes", {"newsletter": True}),
]
PER_FILE = 1000  # the loader refuses files over 2 MB: big suites are split, as users would


def person(k: int) -> dict[str, str]:
    """The k-th synthetic user: a name from the list and a unique email."""
    first, last = PEOPLE[k % len(PEOPLE)]
    return {"first": first, "last": last, "email": f"{first.lower()}.{k}@example.com"}


def conversation_yaml(k: int, turns: int) -> str:
    """One conversation of `turns` user turns (cycling through the happy path) as YAML."""
    who = person(k)
    lines = [f"  - id: c{k:06d}", "    turns:"]
    for t in range(turns):
        user, expect = TURNS[t % len(TURNS)]
        lines.append(f"      - user: {json.dumps(user.format(**who))}")
        shown = {
            key: value.format(**who) if isinstance(value, str) else value
            for key, value in expect.items()
        }
        lines.append(f"        expect: {json.dumps(shown)}")
    return "\n".join(lines)


def write_suites(directory: Path, conversations: int, turns: int) -> Path:
    """Write `conversations` conversations of the contact form, split into files of 1,000."""
    directory.mkdir(parents=True, exist_ok=True)
    for number, start in enumerate(range(0, conversations, PER_FILE)):
        body = [
            f"suite: bench-{number:03d}",
            "form: contact",
            "defaults: {unexpected_fields: ignore}",
            "conversations:",
        ]
        end = min(conversations, start + PER_FILE)
        body.extend(conversation_yaml(k, turns) for k in range(start, end))
        (directory / f"bench-{number:03d}.eval.yaml").write_text("\n".join(body) + "\n")
    return directory


def load_average() -> str:
    """The 1/5/15-minute load averages, as `uptime` prints them."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def machine() -> str:
    """CPU model, cores and Python: the line every table is printed under."""
    model = "unknown CPU"
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print a GitHub-style table under a title, with the machine and the load."""
    print(f"\n## {title}\n")
    print(f"machine: {machine()}; load average: {load_average()}\n")
    print(tabulate(rows, headers=headers, tablefmt="github", floatfmt=".3f"))
    sys.stdout.flush()


@dataclass
class Child:
    """A finished child process: its exit code, wall time, CPU time, peak RSS and output."""

    returncode: int
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    stdout: str

    def last_json(self) -> dict[str, Any]:
        """The last line of stdout, parsed as JSON (how measuring children report)."""
        lines = [line for line in self.stdout.splitlines() if line.startswith("{")]
        if not lines:
            raise RuntimeError(f"child printed no JSON (exit {self.returncode}):\n{self.stdout}")
        result: dict[str, Any] = json.loads(lines[-1])
        return result


def run_child(cmd: Sequence[str], *, env: dict[str, str] | None = None) -> Child:
    """Run a command to its end; its own CPU time and peak RSS come from `wait4`."""
    with tempfile.TemporaryFile("w+") as out:
        start = time.perf_counter()
        process = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
        )
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    return Child(
        returncode=process.returncode,
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=usage.ru_maxrss / 1024,  # kilobytes on Linux
        stdout=text,
    )


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a live process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Emulator:
    """A running emulator process."""

    process: subprocess.Popen[str]
    base_url: str

    def cpu(self) -> float:
        """CPU seconds the emulator has used so far."""
        return process_cpu(self.process.pid)


@contextmanager
def emulator(*, turn_latency: float = 0.0, extra: Sequence[str] = ()) -> Iterator[Emulator]:
    """Start `evalkit emulator` on a free loopback port in its own process; stop it on exit."""
    cmd = [PYTHON, "-m", "evalkit", "emulator", "--port", "0", "--forms", str(FORMS)]
    if turn_latency:
        cmd += ["--turn-latency", str(turn_latency)]
    process = subprocess.Popen(
        [*cmd, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        base_url = ""
        for line in process.stdout:
            found = re.search(r"listening on (http://\S+)", line)
            if found:
                base_url = found.group(1)
                break
        if not base_url:
            raise RuntimeError("the emulator did not start")
        yield Emulator(process, base_url)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
