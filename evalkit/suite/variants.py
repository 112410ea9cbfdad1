"""Robustness variants as a suite asks for them (`variants:`; made by `evalkit.variants`)."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import (
    Field,
    field_validator,
)

from evalkit.suite.checks import StrictModel

__all__ = ["VARIANT_KINDS", "VariantKind", "Variants"]

VariantKind = Literal[
    "typos",
    "casing",
    "spacing",
    "fillers",
    "contractions",
    "numbers",
    "digits",
    "dates",
    "correction",
]
"""A way people type that a robustness variant imitates (see `evalkit.variants`)."""

VARIANT_KINDS: tuple[str, ...] = get_args(VariantKind)


class Variants(StrictModel):
    """Seeded, perturbed copies of each scripted conversation (`evalkit.variants`)."""

    kinds: Annotated[list[VariantKind], Field(min_length=1)]
    """The perturbations, each making its own copies: `typos` (keyboard neighbours), `casing`,
    `spacing` (spacing and punctuation), `fillers` (um, like), `contractions` (I am ↔ I'm),
    `numbers` (digits written as words), `digits` (number words written as digits), `dates`
    (ISO dates written other ways), `correction` (a wrong value, then "sorry, I meant ...")."""
    copies: Annotated[int, Field(ge=1, le=20)] = 1
    """How many copies of each kind per conversation (`id~kind-1`, `id~kind-2`, ...)."""
    seed: int = 0
    """Changes every copy's perturbation; the same seed gives byte-identical utterances."""

    @field_validator("kinds")
    @classmethod
    def _once_each(cls, kinds: list[str]) -> list[str]:
        twice = sorted({k for k in kinds if kinds.count(k) > 1})
        if twice:
            raise ValueError(f"kinds names {', '.join(twice)} more than once")
        return kinds
