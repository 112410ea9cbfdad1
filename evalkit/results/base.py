"""The base of the output models, and the one way a figure is a share of a whole."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["OutputModel", "share"]


class OutputModel(BaseModel):
    """Base of the output models: unknown keys tolerated on read, so newer files still load."""

    model_config = ConfigDict(extra="ignore", use_attribute_docstrings=True)


def share(part: int, whole: int) -> float | None:
    """`part / whole`, or None when there is no whole (a rate of nothing is no rate)."""
    return part / whole if whole else None
