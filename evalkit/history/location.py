"""Where a history lives: a SQLite file (the default) or a PostgreSQL database, and its safe name.

A location is written as a file path (`reports/history.db`, or a folder holding `history.db`),
as `sqlite:///relative/path.db` / `sqlite:////absolute/path.db`, or as a libpq URL
`postgresql://user:password@host:5432/dbname?sslmode=require` (`postgres://` too). A PostgreSQL
URL may carry a password: `HistoryLocation` keeps it only for connecting, and everything that
prints or records a location (`str`, `repr`, messages, notes in reports) uses `shown`, where the
password (and any `password=` parameter) is `***`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeAlias
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from evalkit.errors import UsageError

__all__ = [
    "HISTORY_ENV",
    "HISTORY_FILE",
    "HistoryLocation",
    "Locatable",
    "configured_history",
    "history_location",
    "redact_url",
]

HISTORY_FILE = "history.db"
"""Name of the SQLite history under an output root."""
HISTORY_ENV = "EVALKIT_HISTORY_URL"
"""The environment variable naming the history when `--history` is not given."""

_POSTGRES_SCHEMES = ("postgresql", "postgres")
_MASK = "***"


@dataclass(frozen=True)
class HistoryLocation:
    """A history database: a SQLite file or a PostgreSQL URL.

    `str()` and `repr()` give `shown`, never the password.
    """

    engine: Literal["sqlite", "postgresql"]
    """Which database engine."""
    path: Path | None = None
    """The SQLite file (None for PostgreSQL)."""
    url: str = field(default="", repr=False, compare=True)
    """The PostgreSQL URL as given, credentials included: for connecting only."""

    @property
    def shown(self) -> str:
        """The location as it may be printed: a path, or the URL without its password."""
        return str(self.path) if self.path is not None else redact_url(self.url)

    @property
    def secrets(self) -> list[str]:
        """The URL's passwords (in its user part or a `password=` parameter), to redact."""
        if self.engine != "postgresql":
            return []
        parts = urlsplit(self.url)
        found = [unquote(parts.password)] if parts.password else []
        found += [v for k, v in parse_qsl(parts.query, keep_blank_values=True) if k == "password"]
        return [secret for secret in found if secret]

    def scrub(self, text: str) -> str:
        """`text` with this location's passwords (and any URL's) replaced by `***`."""
        if self.url:
            text = text.replace(self.url, self.shown)
        for secret in self.secrets:
            text = text.replace(secret, _MASK).replace(quote(secret, safe=""), _MASK)
        return _URL_PASSWORD.sub(r"\1" + _MASK + "@", text)

    def __str__(self) -> str:
        return self.shown

    def __repr__(self) -> str:
        return f"HistoryLocation({self.shown!r})"


_URL_PASSWORD = re.compile(r"(postgres(?:ql)?://[^:/@\s]*:)[^@\s]*@")


def redact_url(url: str) -> str:
    """A URL with its password, and any `password=` query parameter, replaced by `***`."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        user, _, host = netloc.rpartition("@")
        name = user.split(":", 1)[0]
        netloc = f"{name}:{_MASK}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(key == "password" for key, _ in pairs):
            pairs = [(k, _MASK if k == "password" else v) for k, v in pairs]
            query = urlencode(pairs, safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


Locatable: TypeAlias = HistoryLocation | str | os.PathLike[str]
"""What the history functions accept: a location, a URL, or a path."""


def history_location(value: Locatable, *, relative_to: Path | None = None) -> HistoryLocation:
    """Read a history location from a path, a `sqlite:///` URL or a `postgresql://` URL.

    Args:
        value: The location; an existing folder means `history.db` in it.
        relative_to: The folder a relative path is relative to (e.g. the configuration file's);
            None: the working folder.

    Raises:
        UsageError: A URL of another scheme, or a PostgreSQL URL without a host or database.
    """
    if isinstance(value, HistoryLocation):
        return value
    text = os.fspath(value)
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme in _POSTGRES_SCHEMES:
        parts = urlsplit(text)
        if not parts.hostname and "host=" not in parts.query:
            raise UsageError(
                f"history URL {redact_url(text)}: no host (postgresql://user@host/dbname)"
            )
        return HistoryLocation("postgresql", url=text)
    if scheme == "sqlite":
        rest = text[len("sqlite://") :]
        if not rest.startswith("/") or rest == "/":
            raise UsageError(
                f"history URL {text}: write sqlite:///relative.db or sqlite:////absolute.db"
            )
        text = rest[1:]
    elif scheme:
        raise UsageError(
            f"history {redact_url(text)}: unknown kind {scheme!r}; give a file path, "
            "sqlite:///path or postgresql://..."
        )
    path = Path(text).expanduser()
    if relative_to is not None and not path.is_absolute():
        path = relative_to / path
    if path.is_dir():
        path = path / HISTORY_FILE
    return HistoryLocation("sqlite", path=path)


def configured_history(folder: Path) -> HistoryLocation | None:
    """The history the project configuration names (`history = "..."`), if any.

    The configuration is the one every command reads (`[tool.evalkit]` in `pyproject.toml`, or
    `evalkit.toml`, the first found walking up from `folder`; see `evalkit.loader.scope`), where
    a relative path is relative to the file. A broken configuration is reported by the commands
    that load suites; here it names no history.

    Raises:
        UsageError: The configured history is not a location.
    """
    from evalkit.loader.scope import project_settings  # the one reader of the configuration

    settings, problems = project_settings(folder)
    if settings is None or problems or not settings.history:
        return None
    return history_location(settings.history)
