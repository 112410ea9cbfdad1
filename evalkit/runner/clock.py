"""The run's wall clock: when things happened, as ISO-8601 UTC."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["iso", "utc_now"]


def utc_now() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """ISO-8601 with milliseconds and a `Z`."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
