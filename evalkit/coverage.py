"""What suites exercise of their forms: fields, options, validation paths, submission.

`evalkit coverage` computes it offline, from suite files and form files, with no request to any
target; a run reports what it observed instead (`evalkit.metrics.coverage`, `Summary.coverage`).
Both print through `evalkit.report.coverage` (the report's Markdown section, and text).
The items are those of `evalkit.metrics.coverage.form_items`; a conversation of a suite written
for the form (after `vars`, `include` and `matrix` are expanded) covers:

* a **field** when a turn's `expect` or the conversation's `final` names it with any
  expectation but `{absent: true}`, or a persona gives a value for it (and does not decline it);
* an **option** when such an expectation (a bare value, `equals`, `text`, `one_of`, `set`,
  `subset`, `contains`, or one inside `all_of` / `any_of`; never inside `not`) compares the
  field with the option's value (as the suite compares strings), or a persona's value is it
  (or a list holding it); for a boolean field, `true` or `false` as the expected value;
* a **validation path** of field F when a turn's `expect` has `F: {absent: true}` and its
  utterance gives a value F must reject: `below-min` / `above-max` / `not-a-multiple`, a number
  (digits, or words as the emulator reads them) under `min`, over `max`, or not a multiple of
  `multiple_of`; `bad-email`, a word with `@` that is not a well-formed address;
  `bad-phone`, a run of digits (with spaces, `+`, `-`, parentheses) holding 3 to 6 or more than
  15 digits; `not-an-option`, the turn `asks` F again and its utterance names none of F's
  options (by value, label or synonym);
* the **submission** when a scripted conversation says `submitted: true`, or a persona
  conversation does not say `submitted: false`.

This module sits with `authoring`, above the runner's layer: it needs the suites (the loader and
`evalkit.formcheck`), the forms as a run finds them (`evalkit.runner.forms`) and the emulator's
finders, so that "a number" means what the emulator reads as one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from evalkit.emulator import Form
from evalkit.emulator.finders import find_emails, find_numbers, find_options
from evalkit.emulator.forms import FormField
from evalkit.matchers.values import same
from evalkit.metrics.coverage import build_coverage, option_values, validation_paths
from evalkit.results import Coverage, FormInfo
from evalkit.results.coverage import CoverageKind
from evalkit.runner.forms import field_info, find_forms, form_info
from evalkit.suite import Check, Conversation, StringPolicy, Suite, SuiteSource

__all__ = ["exercised", "suite_coverage"]

Item = tuple[CoverageKind, str]

_VALUED = frozenset({None, "equals", "text", "one_of", "set", "subset", "contains"})
"""Matchers whose value is the value (or values) the field should hold."""
# Bounded repeats keep both linear on a 10,000-character utterance.
_AT_WORD = re.compile(r"[^\s,;()<>\"'@]{0,64}@[^\s,;()<>\"']{0,255}")
_PHONE_RUN = re.compile(r"\+?\d[\d \-()]{0,60}\d|\d")


def _values(check: Check) -> Iterator[Any]:
    """The values an expectation says the field holds (lists flattened; `not` says none)."""
    if check.matcher in ("all_of", "any_of"):
        for inner in check.value if isinstance(check.value, list) else []:
            if isinstance(inner, Check):
                yield from _values(inner)
        return
    if check.matcher not in _VALUED:
        return
    values = (
        check.value
        if check.matcher == "one_of" and isinstance(check.value, list)
        else [check.value]
    )
    for value in values:
        yield from value if isinstance(value, list) else [value]


def _options(field: FormField, values: Iterator[Any], strings: StringPolicy) -> Iterator[Item]:
    names = option_values(field_info(field))
    for value in values:
        if field.type == "boolean":
            if isinstance(value, bool):
                yield ("option", f"{field.target}={str(value).lower()}")
        elif isinstance(value, str):
            for name in names:
                if same(value, name, strings):
                    yield ("option", f"{field.target}={name}")


def _expected(
    expected: Mapping[str, Check] | None, form: Form, strings: StringPolicy
) -> Iterator[Item]:
    for target, check in (expected or {}).items():
        field = form.field(target)
        if field is None:
            continue
        if check.matcher == "absent" and check.value is True:
            continue
        yield ("field", target)
        yield from _options(field, _values(check), strings)


def _rejected(field: FormField, text: str, asks: str | None) -> Iterator[str]:
    """The validation paths of `field` an utterance exercises (the turn expects it absent)."""
    paths = set(validation_paths(field_info(field)))
    if field.type == "number":
        for found in find_numbers(text):
            number = found.value
            if isinstance(number, bool) or not isinstance(number, int | float):
                continue
            if field.min is not None and number < field.min:
                yield "below-min"
            if field.max is not None and number > field.max:
                yield "above-max"
            step = field.multiple_of
            if step is not None and abs(number / step - round(number / step)) > 1e-9:
                yield "not-a-multiple"
    elif "not-an-option" in paths:
        if asks == field.target and not find_options(text, field):
            yield "not-an-option"
    elif field.type == "email":
        for word in _AT_WORD.findall(text):
            word = word.rstrip(".!?:")
            if not any(f.start == 0 and f.end == len(word) for f in find_emails(word)):
                yield "bad-email"
    elif field.type == "phone":
        for run in _PHONE_RUN.findall(text):
            digits = sum(c.isdigit() for c in run)
            if 3 <= digits <= 6 or digits > 15:
                yield "bad-phone"


def _persona(conversation: Conversation, form: Form) -> Iterator[Item]:
    persona = conversation.persona
    if persona is None:
        return
    for target, given in persona.values.items():
        field = form.field(target)
        if field is None or target in persona.declines:
            continue
        yield ("field", target)
        yield from _options(
            field,
            iter(given.value if isinstance(given.value, list) else [given.value]),
            "normalized",
        )
    if conversation.submitted is not False:
        yield ("submission", "submitted")


def exercised(suite: Suite, form: Form) -> set[Item]:
    """The items of `form` the conversations of one (expanded) suite exercise."""
    found: set[Item] = set()
    for conversation in suite.conversations:
        strings = conversation.strings or suite.defaults.strings
        found.update(_persona(conversation, form))
        for turn in conversation.turns:
            found.update(_expected(turn.expect, form, strings))
            for target, check in (turn.expect or {}).items():
                field = form.field(target)
                if field is not None and check.matcher == "absent" and check.value is True:
                    paths = _rejected(field, turn.user, turn.asks)
                    found.update(("validation", f"{target}:{path}") for path in paths)
        found.update(_expected(conversation.final, form, strings))
        if conversation.persona is None and conversation.submitted is True:
            found.add(("submission", "submitted"))
    return found


def suite_coverage(
    suites: Sequence[SuiteSource],
    directories: Sequence[Path],
    form_ids: Mapping[str, str] | None = None,
) -> Coverage:
    """What the suites exercise of their forms.

    Args:
        suites: Validated suites (each is built again, one at a time).
        directories: Where forms are looked for, in order (the first that defines a key wins).
        form_ids: Form key → the form used instead (a known key or id).

    Returns:
        One entry per known form, sorted by key; the keys whose form is not known in `unknown`.
    """
    keys = sorted({suite.form for suite in suites})
    found = find_forms(keys, directories, form_ids)
    covered: dict[str, set[Item]] = {}
    names: dict[str, list[str]] = {}
    for source in suites:
        names.setdefault(source.form, []).append(source.name)
        if source.form in found:
            form = found[source.form][0]
            covered.setdefault(source.form, set()).update(exercised(source.load().suite, form))
    forms: list[FormInfo] = [form_info(key, *found[key]) for key in keys if key in found]
    unknown = [key for key in keys if key not in found]
    return build_coverage(forms, covered, names, observed=False, unknown=unknown)
