"""The LLM simulator's replies on disk, by (model, endpoint, seed, prompt): a rerun asks nothing.

One file per answer, `<directory>/<key[:2]>/<key>.json`, where the key is the SHA-256 of the
model, the endpoint's base URL, the seed and the exact messages (canonical JSON). Each file is
written atomically (a temporary file renamed), so concurrent conversations, or two runs, never
see half of one. An entry that cannot be read, is not what evalkit writes, or belongs to another
key is ignored (the caller records a warning) and asked for again, then overwritten: a cache
entry is never trusted blindly. `check` proves the directory writable before a run sends
anything; a write that fails later is the caller's note, never an error.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from evalkit.errors import UsageError
from evalkit.results import write_atomically

__all__ = ["MAX_ENTRY_BYTES", "ChatCache", "Lookup"]

MAX_ENTRY_BYTES = 1 << 20
"""An entry larger than this is not one evalkit writes (a reply is a sentence): such a reply is
not stored, and such a file is ignored."""


@dataclass(frozen=True)
class Lookup:
    """What the cache holds for one prompt."""

    reply: str | None
    """The stored reply, or None (not stored, or not usable)."""
    problem: str = ""
    """Why a stored entry was ignored ("" when it was fine or absent)."""


@dataclass(frozen=True)
class ChatCache:
    """Replies stored by (model, base URL, seed, messages).

    Attributes:
        directory: Where the entries live (created by `check`, or when one is written).
        model: The model whose replies these are (part of every key).
        base_url: The endpoint asked (part of every key: another server, another model).
        seed: The seed sent with each request, if any (part of every key).
    """

    directory: Path
    model: str
    base_url: str = ""
    seed: int | None = None

    def key(self, messages: Sequence[Mapping[str, str]]) -> str:
        """The entry's key: SHA-256 of the model, base URL, seed and exact messages (canonical)."""
        canonical = json.dumps(
            {
                "model": self.model,
                "base_url": self.base_url,
                "seed": self.seed,
                "messages": [dict(m) for m in messages],
            },
            ensure_ascii=False,
            sort_keys=True,
            separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode()).hexdigest()

    def path(self, key: str) -> Path:
        """The file of an entry."""
        return self.directory / key[:2] / f"{key}.json"

    def check(self) -> None:
        """Create the directory and prove a file can be written there (and removed).

        Raises:
            UsageError: It cannot be created or written (said before anything is sent).
        """
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.directory, prefix=".probe-"):
                pass
        except OSError as exc:
            why = exc.strerror or type(exc).__name__
            raise UsageError(
                f"the simulator cache {self.directory} cannot be written ({why}); give a "
                "writable --simulator-cache DIR"
            ) from None

    def get(self, messages: Sequence[Mapping[str, str]]) -> Lookup:
        """The stored reply for `messages`, or why there is none to use."""
        key = self.key(messages)
        path = self.path(key)
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_ENTRY_BYTES + 1)
        except FileNotFoundError:
            return Lookup(None)
        except OSError as exc:
            return Lookup(None, f"{path} could not be read: {type(exc).__name__}")
        if len(data) > MAX_ENTRY_BYTES:
            return Lookup(None, f"{path} is larger than an entry can be")
        try:
            entry = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return Lookup(None, f"{path} is not a JSON entry")
        reply = entry.get("reply") if isinstance(entry, dict) else None
        if (
            not isinstance(entry, dict)
            or entry.get("key") != key
            or entry.get("model") != self.model
        ):
            return Lookup(None, f"{path} is not the entry of this prompt")
        if not isinstance(reply, str) or not reply.strip():
            return Lookup(None, f"{path} holds no reply")
        return Lookup(reply)

    def put(self, messages: Sequence[Mapping[str, str]], reply: str) -> str:
        """Store the reply to `messages` (atomically; an existing entry is replaced).

        Returns:
            "" when it was stored, else why not (larger than `MAX_ENTRY_BYTES`, or the write
            failed): the caller notes it and goes on, the reply is still good.
        """
        key = self.key(messages)
        path = self.path(key)
        entry = {"key": key, "model": self.model, "reply": reply}
        text = json.dumps(entry, ensure_ascii=False, indent=1) + "\n"
        if len(text.encode("utf-8")) > MAX_ENTRY_BYTES:
            return f"the entry would be larger than {MAX_ENTRY_BYTES:,} bytes"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(path, [text])
        except OSError as exc:
            return f"{path} could not be written: {exc.strerror or type(exc).__name__}"
        return ""
