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
`--evalkit-forms DIR` and `--evalkit-form-id KEY=FORM_ID` (repeatable), `--evalkit-rate-limit`
(requests per minute; 200 for Wix by default), `--evalkit-turn-timeout SECONDS` and
`--evalkit-emulator-profile FILE`. What they do not say comes from the project configuration
(`[tool.evalkit]` or `evalkit.toml`, found from where pytest started), as for `evalkit run`; the
emulator's forms are looked for as `evalkit run` looks for them. The target is described and
opened by the same code as `evalkit run`'s, and every result passes the same redaction before
pytest sees it: no credential reaches the terminal or `--junitxml`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import asyncio

    from evalkit.client import FormsClient
    from evalkit.results import ConversationResult, Redactor
    from evalkit.runner import RunSettings, Target, WorkItem
    from evalkit.runner.simulators import Simulators
    from evalkit.suite import LoadedSuite

__all__ = ["ConversationItem", "SuiteFile"]

_SUITE_SUFFIX = ".eval.yaml"
"""`evalkit.loader.SUITE_SUFFIX`, spelt here so that pytest runs without suites load nothing."""

# Tags that would mean something else to pytest as marker names get a prefix.
_RESERVED_MARKS = frozenset(
    {"skip", "skipif", "xfail", "parametrize", "usefixtures", "filterwarnings", "tryfirst"}
    | {"trylast"}
)


class _Session:
    """What one pytest process shares between items: the target, its client, one event loop.

    The conversations of a process run one at a time on one event loop, through one client,
    so the target's rate limit holds across items; every result passes the redactor before
    anything (failure text, JUnit) is made of it.
    """

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.stack = ExitStack()
        self.target: Target | None = None
        self.problem: str | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.client: FormsClient | None = None
        self.redactor: Redactor | None = None
        self.simulators: Simulators | None = None
        self._settings: RunSettings | None = None

    def option(self, name: str) -> Any:
        return self.config.getoption(f"evalkit_{name}")

    def settings(self) -> RunSettings:
        """The run settings of the plugin's options (one conversation at a time).

        The LLM simulator's endpoint is read from the environment, and its reply cache checked,
        once: a missing endpoint or an unwritable cache stops the session before it sends.
        """
        if self._settings is None:
            from evalkit.runner import RunSettings, SimulatorSettings

            simulator = SimulatorSettings.from_env(
                self.option("simulator"), os.environ, cache=self._cache()
            )
            simulator.check()
            self._settings = RunSettings(
                concurrency=1, turn_timeout=self.option("turn_timeout"), simulator=simulator
            )
        return self._settings

    def _cache(self) -> Path | None:
        given = self.option("simulator_cache")
        return self.config.invocation_params.dir / given if given else None

    def get_target(self, session: pytest.Session) -> Target:
        """The target; the emulator is started on first use, for every suite collected."""
        from evalkit.errors import SuiteError, UsageError

        if self.target is None and self.problem is None:
            try:
                self.target = self._start(session)
            except (SuiteError, UsageError) as exc:
                self.problem = str(exc)
        if self.target is None:
            pytest.fail(f"evalkit could not set up the target: {self.problem}", pytrace=False)
        return self.target

    def _start(self, session: pytest.Session) -> Target:
        import asyncio

        from evalkit.emulator import load_knobs
        from evalkit.errors import SuiteError
        from evalkit.loader.scope import form_folders, project_settings, undefined_forms
        from evalkit.pacing import TokenBucket
        from evalkit.runner import client_for, redactor_for
        from evalkit.runner.description import (
            TargetOptions,
            describe_target,
            open_target,
            parse_form_ids,
            project_options,
        )
        from evalkit.runner.simulators import Simulators

        # The project configuration found from where pytest was started, as for `evalkit run`.
        project, problems = project_settings(self.config.invocation_params.dir)
        if problems:
            raise SuiteError(problems)
        suites: dict[str, Any] = {}
        for item in session.items:
            if isinstance(item, ConversationItem):
                suites.setdefault(item.loaded.path, item.loaded)
        given = [Path(p) for p in self.option("forms")]
        options = TargetOptions(
            kind=self.option("target"),
            base_url=self.option("base_url"),
            framing=self.option("framing"),
            form_ids=parse_form_ids(self.option("form_id"), option="--evalkit-form-id"),
            rate_limit=self.option("rate_limit"),
            forms=given,
            flag="--evalkit-",
        )
        options = project_options(options, project, list(suites))
        description = describe_target(options, os.environ)
        knobs: dict[str, Any] = {}
        if description.name == "emulator":
            looked = form_folders(list(suites), project, given=given)
            hint = "; give --evalkit-forms DIR, or `forms` in the project configuration"
            pairs = [(s.path, s.form) for s in suites.values()]
            if missing := undefined_forms(pairs, looked, hint=hint):
                raise SuiteError(missing)
            profile = self.option("emulator_profile") or (project and project.emulator_profile)
            if profile:
                loaded = load_knobs(Path(profile))
                knobs = {k: getattr(loaded, k) for k in loaded.model_fields_set - {"framing"}}
        context = open_target(description, list(suites.values()), os.environ, **knobs)
        target = self.stack.enter_context(context)
        self.loop = asyncio.new_event_loop()
        self.stack.callback(self.loop.close)
        bucket = TokenBucket(target.rate_limit) if target.rate_limit else None
        throttle = bucket.acquire if bucket is not None else None
        settings = self.settings()
        client = client_for(target, settings, max_connections=1, throttle=throttle)
        self.loop.run_until_complete(client.__aenter__())
        self.stack.callback(lambda: self._close(client))
        simulators = Simulators(settings.simulator, retry=settings.retry, limits=settings.limits)
        self.loop.run_until_complete(simulators.__aenter__())
        self.stack.callback(lambda: self._close(simulators))
        self.redactor = redactor_for(target, client, settings.simulator)
        self.client, self.simulators = client, simulators
        return target

    def _close(self, opened: FormsClient | Simulators) -> None:
        assert self.loop is not None
        self.loop.run_until_complete(opened.__aexit__(None, None, None))

    def run(self, target: Target, work: WorkItem) -> ConversationResult:
        """Run one conversation on the session's loop; the result comes back redacted."""
        from evalkit.runner import run_conversation

        assert self.loop is not None
        assert self.client is not None
        assert self.redactor is not None
        settings = self.settings()
        run = run_conversation(self.client, target, work, settings, self.simulators)
        result = self.loop.run_until_complete(run)
        return self.redactor.result(result)


_SESSION = pytest.StashKey[_Session]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the `--evalkit-*` options."""
    group = parser.getgroup("evalkit", "evalkit conversation suites (*.eval.yaml)")
    group.addoption(
        "--evalkit-target",
        default=None,
        help="emulator (default): the built-in emulator; wix: the real service (WIX_API_KEY); "
        "custom: the server at --evalkit-base-url.",
    )
    group.addoption("--evalkit-base-url", default=None, help="API root of the target.")
    group.addoption(
        "--evalkit-framing",
        default=None,
        help="Stream framing (sse, ndjson, json-array), or unary. [default: sse]",
    )
    group.addoption(
        "--evalkit-forms",
        action="append",
        default=[],
        help="Extra directory of *.form.yaml for the emulator, looked in first (then forms/ "
        "beside each suite and in its parents up to the project root, then the configured "
        "forms folder).",
    )
    group.addoption(
        "--evalkit-form-id",
        action="append",
        default=[],
        metavar="KEY=FORM_ID",
        help="Map a suite's form key to the form id sent (repeatable).",
    )
    group.addoption(
        "--evalkit-rate-limit",
        type=float,
        default=None,
        help="Requests per minute of each pytest process (with -n N, give the quota / N); 0 for "
        "none (default: 200 for wix, else none).",
    )
    group.addoption(
        "--evalkit-turn-timeout", type=float, default=120.0, help="Seconds allowed per turn."
    )
    group.addoption(
        "--evalkit-simulator",
        choices=("rules", "llm"),
        default="rules",
        help="Who plays persona conversations: the deterministic rules (default), or an "
        "OpenAI-compatible chat endpoint (EVALKIT_SIMULATOR_URL, _MODEL, _KEY) wording them.",
    )
    group.addoption(
        "--evalkit-simulator-cache",
        default=None,
        metavar="DIR",
        help="Where the LLM simulator's replies are cached [default: .cache/evalkit/simulator "
        "below the project root].",
    )
    group.addoption(
        "--evalkit-emulator-profile",
        default=None,
        metavar="FILE",
        help="A YAML profile of the emulator's knobs (latency, faults, noise; as `evalkit "
        "emulator --profile`) [default: `emulator_profile` of the project configuration].",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Keep the per-process state in the config's stash (no module globals)."""
    config.stash[_SESSION] = _Session(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Close the client and stop the emulator, if they were started."""
    if _SESSION in config.stash:
        config.stash[_SESSION].stack.close()


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> SuiteFile | None:
    """Collect `*.eval.yaml` files."""
    if file_path.name.endswith(_SUITE_SUFFIX):
        suite_file: SuiteFile = SuiteFile.from_parent(parent, path=file_path)
        return suite_file
    return None


class SuiteFile(pytest.File):
    """A suite file: one item per conversation and repeat."""

    def collect(self) -> Iterator[ConversationItem]:
        """Load the suite (every problem is a collection error with `file:line`)."""
        from evalkit.errors import SuiteError
        from evalkit.loader import load_suite

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
    from tabulate import tabulate

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
        from evalkit.runner import WorkItem

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
