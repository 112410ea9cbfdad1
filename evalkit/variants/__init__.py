"""Robustness variants: seeded copies of scripted conversations, typed the way people type.

`vary_suite` adds, after each scripted conversation, one copy per kind and index whose user
utterances are perturbed (`name-and-email~typos-1`); every expectation stays as written. The
loader calls it when a suite says `variants:` (or `evalkit run --variants` asks), so the plan,
the resume, rescoring, comparisons and the history see the copies as ordinary conversations.

Protected spans. The text of each value a turn expects (its `expect` values, and the
conversation's `final` values, found in the utterance: `Jane`, `jane@example.com`, `32` or
`thirty-two`, `2026-11-27`) is never altered, except by a kind about that value's form:
`numbers` and `digits` rewrite number values, `dates` rewrites date values, and `correction`
says a wrong value before the right one. A copy whose utterances come out the same as the
original's (no place for its kind to act) is not made.

Determinism. Each copy draws from a generator seeded by (suite, conversation id, kind, index,
seed) alone: the same seed gives byte-identical utterances at any concurrency.

Modules: `spans` (where expected values are written), `kinds` (the perturbations), `copies`
(ids, seeds, and the suite with its copies).
"""

from evalkit.variants.copies import (
    SEPARATOR,
    parse_variant_id,
    seed_of,
    variant_id,
    vary_conversation,
    vary_suite,
    with_kinds,
)
from evalkit.variants.kinds import vary_utterance
from evalkit.variants.spans import Span, protected_spans

__all__ = [
    "SEPARATOR",
    "Span",
    "parse_variant_id",
    "protected_spans",
    "seed_of",
    "variant_id",
    "vary_conversation",
    "vary_suite",
    "vary_utterance",
    "with_kinds",
]
