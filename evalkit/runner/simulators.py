"""Which simulator plays a run's personas (`SimulatorSettings`), and the players it makes.

`rules` (the default) is the deterministic `Simulator`. `llm` is `LlmSimulator`: the same
decisions, the words from an OpenAI-compatible chat endpoint (`ChatEndpoint`, from
`EVALKIT_SIMULATOR_URL`, `_MODEL`, `_KEY`, `_SEED`), its replies cached on disk by (model,
base URL, seed, prompt). The runner opens one `ChatClient` per run (the run's retries and
limits) and hands each simulator its `complete` as a plain callable, so `evalkit.simulate` never
imports the HTTP client; and the run's redactor, which every reply passes before it is cached
or sent. The cache directory is proved writable before anything is sent (`check`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from evalkit.client import Limits, RetryPolicy
from evalkit.client.chat import ChatClient, ChatEndpoint
from evalkit.errors import UsageError
from evalkit.loader.scope import project_root
from evalkit.results import SimulatorInfo
from evalkit.simulate import ChatCache, FieldHint, LlmSimulator, Simulator
from evalkit.suite import Persona

__all__ = ["DEFAULT_CACHE", "SimulatorKind", "SimulatorSettings", "Simulators"]

SimulatorKind = Literal["rules", "llm"]
"""`rules`: deterministic templates; `llm`: a chat model words each message."""

DEFAULT_CACHE = Path(".cache") / "evalkit" / "simulator"
"""Where the LLM simulator's replies are kept, below the project root (else the working
directory) unless `SimulatorSettings.cache` says otherwise."""


@dataclass(frozen=True)
class SimulatorSettings:
    """Which simulator plays the personas.

    Attributes:
        kind: `rules` or `llm`.
        endpoint: The chat endpoint (`llm` only; see `from_env`).
        cache: The directory of cached replies; None: `DEFAULT_CACHE` below the project root.
        reply_timeout: Wall-clock seconds the model has for one reply (`llm`), within the
            turn's deadline; None: the turn's deadline alone. A model that misses it is the
            simulator's error, whatever the target's timing.
    """

    kind: SimulatorKind = "rules"
    endpoint: ChatEndpoint | None = None
    cache: Path | None = None
    reply_timeout: float | None = None

    def __post_init__(self) -> None:
        if self.reply_timeout is not None and self.reply_timeout <= 0:
            raise UsageError(
                f"the simulator's reply timeout must be positive, got {self.reply_timeout}"
            )
        if self.kind == "llm" and self.endpoint is None:
            raise UsageError("the LLM simulator needs an endpoint (see ChatEndpoint.from_env)")
        if self.kind == "rules" and self.endpoint is not None:
            raise UsageError("an endpoint goes with the LLM simulator only (kind 'llm')")

    @classmethod
    def from_env(
        cls,
        kind: SimulatorKind,
        environ: Mapping[str, str],
        *,
        cache: Path | None = None,
        reply_timeout: float | None = None,
    ) -> SimulatorSettings:
        """The settings for `kind`, the `llm` endpoint read from the environment.

        Raises:
            UsageError: `llm` without `EVALKIT_SIMULATOR_URL` or `EVALKIT_SIMULATOR_MODEL`.
        """
        endpoint = ChatEndpoint.from_env(environ) if kind == "llm" else None
        return cls(kind=kind, endpoint=endpoint, cache=cache, reply_timeout=reply_timeout)

    def cache_dir(self) -> Path:
        """The directory of cached replies."""
        if self.cache is not None:
            return self.cache
        return (project_root(Path.cwd()) or Path.cwd()) / DEFAULT_CACHE

    def chat_cache(self) -> ChatCache | None:
        """The LLM simulator's reply cache (None for `rules`), keyed by its endpoint too."""
        if self.endpoint is None:
            return None
        return ChatCache(
            self.cache_dir(),
            self.endpoint.model,
            base_url=self.endpoint.base_url,
            seed=self.endpoint.seed,
        )

    def check(self) -> None:
        """Prove, before a run sends anything, that the LLM simulator can cache its replies.

        Raises:
            UsageError: The cache directory cannot be created or written.
        """
        cache = self.chat_cache()
        if cache is not None:
            cache.check()

    def info(self) -> SimulatorInfo:
        """What `run.json` records: the kind, and the endpoint, model and seed (never the key)."""
        if self.endpoint is None:
            return SimulatorInfo(kind=self.kind)
        return SimulatorInfo(
            kind=self.kind,
            base_url=self.endpoint.base_url,
            model=self.endpoint.model,
            seed=self.endpoint.seed,
        )

    def secrets(self) -> list[str]:
        """What must never reach an artifact (the endpoint's key)."""
        return self.endpoint.secrets() if self.endpoint is not None else []


class Simulators:
    """The simulated users of one run; an async context manager (it holds the chat client).

    Args:
        settings: Which simulator.
        retry: The run's retry policy (for the chat endpoint too).
        limits: The run's limits on what is read of an answer.
        connections: The chat client's pool size (the run's concurrency).

    Raises:
        UsageError: The LLM simulator's cache directory cannot be written (see
            `SimulatorSettings.check`).
    """

    def __init__(
        self,
        settings: SimulatorSettings,
        *,
        retry: RetryPolicy | None = None,
        limits: Limits | None = None,
        connections: int = 4,
    ) -> None:
        self.settings = settings
        self._client: ChatClient | None = None
        self._cache: ChatCache | None = None
        if settings.endpoint is not None:
            settings.check()
            self._cache = settings.chat_cache()
            self._client = ChatClient(
                settings.endpoint, retry=retry, limits=limits, max_connections=connections
            )

    async def __aenter__(self) -> Simulators:
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.aclose()

    def make(
        self,
        persona: Persona,
        seed: int,
        hints: Sequence[FieldHint],
        redact: Callable[[str], str] | None = None,
    ) -> Simulator | LlmSimulator:
        """A fresh simulated user for one session of a persona conversation.

        Args:
            persona: Who it plays.
            seed: The conversation's seed.
            hints: What is known of the form's fields.
            redact: The run's redactor (`Redactor.text`): an LLM's replies pass through it
                before they are cached or sent.
        """
        rules = Simulator(persona, seed, hints)
        if self._client is None:
            return rules
        if redact is None:
            return LlmSimulator(rules, self._client.complete, self._cache)
        return LlmSimulator(rules, self._client.complete, self._cache, redact)
