"""Copies of conversations: their ids, their seeds, and the suite with them."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence

from evalkit.suite import Conversation, Suite, VariantKind, Variants
from evalkit.variants.kinds import correct, vary_utterance
from evalkit.variants.spans import Span, protected_spans

__all__ = [
    "SEPARATOR",
    "parse_variant_id",
    "seed_of",
    "variant_id",
    "vary_conversation",
    "vary_suite",
    "with_kinds",
]

SEPARATOR = "~"
"""Between a copy's original id and its kind: a suite's own ids cannot hold it."""


def variant_id(original: str, kind: str, index: int) -> str:
    """The id of copy `index` (1-based) of kind `kind`: `name-and-email~typos-1`."""
    return f"{original}{SEPARATOR}{kind}-{index}"


def parse_variant_id(conversation_id: str) -> tuple[str, str, int] | None:
    """(original id, kind, index) of a copy's id, or None for an id that is not a copy's."""
    original, sep, rest = conversation_id.rpartition(SEPARATOR)
    kind, dash, index = rest.rpartition("-")
    if not sep or not original or not dash or not kind or not index.isdigit():
        return None
    return original, kind, int(index)


def seed_of(suite: str, conversation_id: str, kind: str, index: int, seed: int) -> int:
    """The generator seed of one copy, from its suite, original id, kind, index and seed."""
    key = "\x1f".join((suite, conversation_id, kind, str(index), str(seed)))
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")


def _turn_spans(conversation: Conversation) -> list[list[Span]]:
    final = list((conversation.final or {}).values())
    return [
        protected_spans(turn.user, [*(turn.expect or {}).values(), *final])
        for turn in conversation.turns
    ]


def vary_conversation(
    conversation: Conversation, kind: VariantKind, index: int, seed: int
) -> Conversation | None:
    """Copy `index` of kind `kind` of a scripted conversation, or None when it would not differ.

    The copy has its own id (`variant_id`) and perturbed utterances; its expectations, prefill,
    `set` values and checks are the original's.

    Args:
        conversation: A scripted conversation (a persona conversation gives None).
        kind: The perturbation.
        index: Which copy (1-based).
        seed: The generator seed (`seed_of`).
    """
    if conversation.persona is not None or not conversation.turns:
        return None
    rng = random.Random(seed)
    spans = _turn_spans(conversation)
    if kind == "correction":
        texts = correct(conversation.turns, spans, rng)
    else:
        texts = [
            vary_utterance(turn.user, found, kind, rng)
            for turn, found in zip(conversation.turns, spans, strict=True)
        ]
    if texts == [turn.user for turn in conversation.turns]:
        return None
    turns = [
        turn.model_copy(update={"user": text})
        for turn, text in zip(conversation.turns, texts, strict=True)
    ]
    return conversation.model_copy(
        update={"id": variant_id(conversation.id, kind, index), "turns": turns}
    )


def with_kinds(spec: Variants | None, kinds: Sequence[VariantKind]) -> Variants | None:
    """A suite's `variants` with the kinds a run asks for (`--variants`), its copies and seed kept.

    Args:
        spec: What the suite says (None: no `variants` key).
        kinds: The kinds asked for; none leaves `spec` as it is.
    """
    if not kinds:
        return spec
    if spec is None:
        return Variants(kinds=list(kinds))
    return spec.model_copy(update={"kinds": list(dict.fromkeys(kinds))})


def vary_suite(suite: Suite, spec: Variants | None = None) -> tuple[Suite, list[int]]:
    """The suite with its variants after each scripted conversation.

    Args:
        suite: The suite (its `variants` key is used when `spec` is None).
        spec: Which kinds, how many copies and the seed.

    Returns:
        The suite with the copies, and for each of its conversations the index of the
        conversation it was made from (itself for an original), for its `file:line`.
    """
    spec = spec or suite.variants
    if spec is None:
        return suite, list(range(len(suite.conversations)))
    conversations: list[Conversation] = []
    origins: list[int] = []
    for i, conversation in enumerate(suite.conversations):
        conversations.append(conversation)
        origins.append(i)
        for kind in spec.kinds:
            made: list[list[str]] = []
            for index in range(1, spec.copies + 1):
                seed = seed_of(suite.suite, conversation.id, kind, index, spec.seed)
                copy = vary_conversation(conversation, kind, index, seed)
                utterances = [turn.user for turn in copy.turns] if copy else []
                if copy is None or utterances in made:
                    continue
                made.append(utterances)
                conversations.append(copy)
                origins.append(i)
    return suite.model_copy(update={"conversations": conversations, "variants": spec}), origins
