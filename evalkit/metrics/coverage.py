"""The items of a form that coverage counts, and the coverage a run observed.

Definitions (docs/coverage.md has them in full):

* **field** `target`: every field of the form;
* **option** `target=value`: every option of a single or multi select, and `true` and `false` of
  a boolean field;
* **validation** `target:path`: a value the form must reject: `below-min` / `above-max` for a
  number with `min` / `max`, `not-a-multiple` for one with `multiple_of`, `not-an-option` for a
  select without a custom option, `bad-email` for an email field, `bad-phone` for a phone field;
* **submission** `submitted`: one per form;
* **chunk_type**: the documented chunk types (observed in a run only).

A run observes (`observe`): a field when a `TEXT_DATA` chunk carried a value for it; an option
when that value is the option (or a list holding it; `true`/`false` for a boolean); the
submission when a conversation's `SUBMISSION` arrived; a chunk type when a chunk of it arrived.
Validation paths are what suites mean to exercise, not something a transcript shows: observed
coverage has none. Only the final session of a result counts (not the abandoned ones).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from evalkit.protocol import ChunkType
from evalkit.results import ConversationResult, Coverage, CoverageItem, FormCoverage, FormInfo
from evalkit.results.coverage import CoverageKind, FieldInfo

__all__ = ["CHUNK_TYPES", "CoverageTally", "build_coverage", "form_items", "validation_paths"]

CHUNK_TYPES: tuple[str, ...] = tuple(
    t.value for t in ChunkType if t is not ChunkType.UNKNOWN_CHUNK_TYPE
)
"""The chunk types a run can see (the proto zero value is not one)."""

_KNOWN = frozenset(CHUNK_TYPES)


def validation_paths(field: FieldInfo) -> list[str]:
    """The validation paths of one field: the kinds of value its form must reject."""
    paths: list[str] = []
    if field.type == "number":
        paths += ["below-min"] if field.min is not None else []
        paths += ["above-max"] if field.max is not None else []
        paths += ["not-a-multiple"] if field.multiple_of is not None else []
    elif field.is_select and not field.custom_option:
        paths.append("not-an-option")
    elif field.type == "email":
        paths.append("bad-email")
    elif field.type == "phone":
        paths.append("bad-phone")
    return paths


def option_values(field: FieldInfo) -> list[str]:
    """The options coverage counts for a field: a select's values, or a boolean's two."""
    if field.type == "boolean":
        return ["true", "false"]
    return list(field.options) if field.is_select else []


def form_items(form: FormInfo, *, observed: bool) -> list[tuple[CoverageKind, str]]:
    """Every item of a form, in the order reports show them.

    Args:
        form: The form.
        observed: For a run (no validation paths, and the chunk types), or for suites.
    """
    items: list[tuple[CoverageKind, str]] = [("field", f.target) for f in form.fields]
    items += [("option", f"{f.target}={v}") for f in form.fields for v in option_values(f)]
    if not observed:
        items += [
            ("validation", f"{f.target}:{p}") for f in form.fields for p in validation_paths(f)
        ]
    items.append(("submission", "submitted"))
    if observed:
        items += [("chunk_type", t) for t in CHUNK_TYPES]
    return items


def build_coverage(
    forms: Sequence[FormInfo],
    covered: Mapping[str, set[tuple[CoverageKind, str]]],
    suites: Mapping[str, list[str]],
    *,
    observed: bool,
    unknown: Iterable[str] = (),
) -> Coverage:
    """Coverage from the items each form's conversations exercised.

    Args:
        forms: The forms.
        covered: Form key → the (kind, name) items exercised.
        suites: Form key → the suites written for it.
        observed: Whether the items were observed in a run.
        unknown: Form keys named by suites whose form is not known.
    """
    entries = []
    for form in sorted(forms, key=lambda f: f.key):
        done = covered.get(form.key, set())
        items = [
            CoverageItem(kind=kind, name=name, covered=(kind, name) in done)
            for kind, name in form_items(form, observed=observed)
        ]
        entries.append(
            FormCoverage(
                form=form.key,
                source=form.source,
                suites=sorted(set(suites.get(form.key, []))),
                items=items,
            )
        )
    return Coverage(observed=observed, forms=entries, unknown=sorted(set(unknown)))


def _option(field: FieldInfo, value: Any) -> list[str]:
    """The option names a value extracted for a field stands for."""
    if field.type == "boolean":
        return [str(value).lower()] if isinstance(value, bool) else []
    values = value if isinstance(value, list) else [value]
    return [v for v in values if isinstance(v, str) and v in field.options]


class CoverageTally:
    """The coverage a run observed, counted a result at a time (`summarize` feeds it).

    Args:
        forms: The forms the run recorded (`RunInfo.forms`).
        suite_forms: Suite name → its form key (from `RunInfo.suites`).
    """

    def __init__(self, forms: Sequence[FormInfo], suite_forms: Mapping[str, str]) -> None:
        self._forms = {form.key: form for form in forms}
        self._fields = {
            key: {f.target: f for f in form.fields} for key, form in self._forms.items()
        }
        self._suite_forms = dict(suite_forms)
        self._covered: dict[str, set[tuple[CoverageKind, str]]] = {}
        self._suites: dict[str, list[str]] = {}
        for suite, key in self._suite_forms.items():
            self._suites.setdefault(key, []).append(suite)

    def add(self, result: ConversationResult) -> None:
        """Count what one result's transcript shows."""
        key = self._suite_forms.get(result.suite)
        if key not in self._forms or key is None:
            return
        done = self._covered.setdefault(key, set())
        fields = self._fields[key]
        if result.submitted:
            done.add(("submission", "submitted"))
        for turn in result.transcript:
            for timed in turn.chunks:
                chunk = timed.chunk
                kind = chunk.get("chunkType")
                if isinstance(kind, str) and kind in _KNOWN:  # only the known are items
                    done.add(("chunk_type", kind))
                details = chunk.get("textDataDetails")
                if kind != "TEXT_DATA" or not isinstance(details, dict):
                    continue
                target = details.get("fieldTarget")
                field = fields.get(target) if isinstance(target, str) else None
                if field is None:
                    continue
                done.add(("field", field.target))
                for option in _option(field, details.get("value")):
                    done.add(("option", f"{field.target}={option}"))

    def coverage(self) -> Coverage | None:
        """The observed coverage; None when the run recorded no form."""
        if not self._forms:
            return None
        known = set(self._suite_forms.values())
        unknown = known - set(self._forms)
        return build_coverage(
            list(self._forms.values()), self._covered, self._suites, observed=True, unknown=unknown
        )
