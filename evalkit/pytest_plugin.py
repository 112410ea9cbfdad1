"""The pytest plugin: `pytest suites/` runs every conversation of every `*.eval.yaml` as an item.

Registered through the `pytest11` entry point, so installing evalkit is enough. Each conversation
(and each of its `repeat`s) is one item named by its id, so `-k` selects by id, suite or file; the
conversation's tags (with the suite's) are markers, so `-m smoke` works. The emulator is started
once per pytest process (once per xdist worker) on first use, and stopped at the end.

A conversation is run in the item's *setup*, by the runner library: an error of the target (HTTP
error, broken stream, deadline) is therefore reported by pytest as an ERROR, not a failure; a
conversation whose expectations do not hold FAILS with a table of field, expected, actual and
reason under its `file:line`. `--junitxml` carries both, with the status and source as properties.

Options: `--evalkit-target emulator|wix|custom`, `--evalkit-base-url URL`, `--evalkit-framing`,
`--evalkit-forms DIR` (repeatable) and `--evalkit-turn-timeout SECONDS`.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Literal, get_args

import pytest
from tabulate import tabulate

from evalkit.client import WIX_BASE_URL, Credentials, FormsClient, Mode
from evalkit.errors import SuiteError, UsageError
from evalkit.loader import SUITE_SUFFIX, load_suite
from evalkit.results import ConversationResult
from evalkit.runner import RunSettings, Target, WorkItem, emulator_target, run_conversation
from evalkit.suite import LoadedSuite

__all__ = ["ConversationItem", "SuiteFile"]

FRAMINGS: tuple[Mode, ...] = get_args(Mode)
# Tags that would mean something else to pytest as marker names get a prefix.
_RESERVED_MARKS = frozenset(
    {"skip", "skipif", "xfail", "parametrize", "usefixtures", "filterwarnings", "tryfirst"}
    | {"trylast"}
)


class _Session:
    """What one pytest process shares between items: the target, started once."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.stack = ExitStack()
        self.target: Target | None = None
        self.problem: str | None = None

    def option(self, name: str) -> Any:
        return self.config.getoption(f"evalkit_{name}")

    def get_target(self, session: pytest.Session) -> Target:
        """The target; the emulator is started on first use, for every suite collected."""
        if self.target is None and self.problem is None:
            try:
                self.target = self._start(session)
            except (SuiteError, UsageError) as exc:
                self.problem = str(exc)
        if self.target is None:
            pytest.fail(f"evalkit could not set up the target: {self.problem}", pytrace=False)
        return self.target

    def _start(self, session: pytest.Session) -> Target:
        name: str = self.option("target") or ("custom" if self.option("base_url") else "emulator")
        framing: Mode = self.option("framing")
        if name == "emulator":
            suites: dict[str, LoadedSuite] = {}
            for item in session.items:
                if isinstance(item, ConversationItem):
                    suites.setdefault(item.loaded.path, item.loaded)
            forms = [Path(p) for p in self.option("forms")]
            context = emulator_target(list(suites.values()), mode=framing, forms=forms)
            return self.stack.enter_context(context)
        credentials = Credentials.from_env(os.environ)
        if name == "wix" and credentials is None:
            raise UsageError("--evalkit-target wix needs WIX_API_KEY (and WIX_SITE_ID)")
        url = self.option("base_url") or (WIX_BASE_URL if name == "wix" else None)
        if url is None:
            raise UsageError("--evalkit-target custom needs --evalkit-base-url URL")
        kind: Literal["wix", "custom"] = "wix" if name == "wix" else "custom"
        return Target(name=kind, base_url=url, mode=framing, credentials=credentials)

    def run(self, target: Target, work: WorkItem) -> ConversationResult:
        settings = RunSettings(concurrency=1, turn_timeout=self.option("turn_timeout"))

        async def one() -> ConversationResult:
            async with FormsClient(
                target.base_url,
                credentials=target.credentials,
                mode=target.mode,
                retry=settings.retry,
                max_connections=1,
            ) as client:
                return await run_conversation(client, target, work, settings)

        return asyncio.run(one())


_SESSION = pytest.StashKey[_Session]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the `--evalkit-*` options."""
    group = parser.getgroup("evalkit", "evalkit conversation suites (*.eval.yaml)")
    group.addoption(
        "--evalkit-target",
        choices=["emulator", "wix", "custom"],
        default=None,
        help="emulator (default): the built-in emulator; wix: the real service (WIX_API_KEY); "
        "custom: the server at --evalkit-base-url.",
    )
    group.addoption("--evalkit-base-url", default=None, help="API root of the target.")
    group.addoption(
        "--evalkit-framing", choices=FRAMINGS, default="sse", help="Stream framing, or unary."
    )
    group.addoption(
        "--evalkit-forms",
        action="append",
        default=[],
        help="Extra directory of *.form.yaml for the emulator (default: forms/ beside suites).",
    )
    group.addoption(
        "--evalkit-turn-timeout", type=float, default=120.0, help="Seconds allowed per turn."
    )


def pytest_configure(config: pytest.Config) -> None:
    """Keep the per-process state in the config's stash (no module globals)."""
    config.stash[_SESSION] = _Session(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the emulator, if it was started."""
    if _SESSION in config.stash:
        config.stash[_SESSION].stack.close()


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> SuiteFile | None:
    """Collect `*.eval.yaml` files."""
    if file_path.name.endswith(SUITE_SUFFIX):
        suite_file: SuiteFile = SuiteFile.from_parent(parent, path=file_path)
        return suite_file
    return None


class SuiteFile(pytest.File):
    """A suite file: one item per conversation and repeat."""

    def collect(self) -> Iterator[ConversationItem]:
        """Load the suite (every problem is a collection error with `file:line`)."""
        shown = os.path.relpath(self.path, self.config.invocation_params.dir)
        try:
            loaded = load_suite(shown)
        except SuiteError as exc:
            raise self.CollectError(str(exc)) from exc
        for index, conversation in enumerate(loaded.suite.conversations):
            tags = sorted({*loaded.suite.tags, *conversation.tags})
            for repeat in range(conversation.repeat):
                name = conversation.id
                if conversation.repeat > 1:
                    name += f"[{repeat + 1}]"
                item = ConversationItem.from_parent(
                    self, name=name, loaded=loaded, index=index, repeat=repeat
                )
                for tag in tags:
                    mark = f"tag_{tag}" if tag in _RESERVED_MARKS else tag
                    self.config.addinivalue_line("markers", f"{mark}: evalkit tag")
                    item.add_marker(mark)
                item.extra_keyword_matches.add(loaded.name)
                yield item


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def failure_table(result: ConversationResult) -> str:
    """What a failed conversation shows: where it is, then field, expected, actual and reason."""
    rows = [
        [
            "final" if f.turn is None else f.turn,
            f.field,
            _show(f.expected),
            _show(f.actual),
            f.reason,
        ]
        for f in result.fields
        if not f.passed
    ]
    rows += [
        ["" if c.turn is None else c.turn, f"({c.check})", "", "", c.reason]
        for c in result.checks
        if not c.passed
    ]
    table = tabulate(rows, headers=["turn", "field", "expected", "actual", "reason"])
    return f"{result.source}: {result.suite}/{result.conversation_id} failed\n{table}"


class ConversationItem(pytest.Item):
    """One conversation (one repeat of it), run against the session's target in setup."""

    def __init__(self, *, loaded: LoadedSuite, index: int, repeat: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.loaded, self.index, self.repeat = loaded, index, repeat
        self.result: ConversationResult | None = None

    def setup(self) -> None:
        """Run the conversation; a target that fails makes this an ERROR (not a failure)."""
        state = self.config.stash[_SESSION]
        target = state.get_target(self.session)
        result = state.run(target, WorkItem(self.loaded, self.index, self.repeat))
        self.result = result
        self.user_properties += [("evalkit_status", result.status), ("source", result.source)]
        if result.error is not None:
            where = f"turn {result.error.turn}" if result.error.turn else "session creation"
            pytest.fail(
                f"{result.source}: the target failed at {where} "
                f"({result.error.kind}): {result.error.message}",
                pytrace=False,
            )

    def runtest(self) -> None:
        """Fail with the table of what did not match."""
        if self.result is not None and self.result.status == "fail":
            pytest.fail(failure_table(self.result), pytrace=False)

    def reportinfo(self) -> tuple[Path, int, str]:
        """Where the conversation is written."""
        line = self.loaded.conversation_lines[self.index]
        return self.path, line - 1, f"{self.loaded.name}/{self.name}"
