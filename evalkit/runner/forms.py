"""The forms a run's suites are written for, found and described for `run.json`.

A run records each form its suites name (`RunInfo.forms`: fields, types, options, limits, and
the form file), so the coverage it observed (`Summary.coverage`) can be computed, then and later
by `evalkit report`, `merge` or `rescore`, from the run directory alone. Forms are looked up as
the emulator serves them (`forms_dirs`: the directories given, then `forms/` beside each suite;
the first that defines a key wins), following a `form_ids` entry that names another known form
(`--form-id contact=contact-v2`, or an id in any case), by `evalkit.formlookup.find_forms`: the
one form reader, which the persona simulator's hints come from too. A form found nowhere (a form
only the Wix service knows) is not recorded, and a broken form file is left to the checks that
report it: recording never stops a run.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from evalkit.formlookup import find_forms
from evalkit.results import FieldInfo, FormInfo
from evalkit.runner.target import Target, forms_dirs

if TYPE_CHECKING:
    from evalkit.emulator import Form
    from evalkit.emulator.forms import FormField
    from evalkit.loader import Suites

__all__ = ["field_info", "find_forms", "form_info", "run_forms"]


def form_info(key: str, form: Form, source: Path | str) -> FormInfo:
    """A form as `run.json` records it, under the key suites name it by."""
    return FormInfo(
        key=key,
        form=form.key if form.key != key else "",
        source=str(source),
        fields=[field_info(f) for f in form.fields],
    )


def field_info(field: FormField) -> FieldInfo:
    """A form field as `run.json` records it."""
    return FieldInfo(
        target=field.target,
        type=field.type,
        required=field.required,
        options=[o.value for o in field.options],
        custom_option=field.custom_option,
        min=field.min,
        max=field.max,
        multiple_of=field.multiple_of,
    )


def run_forms(suites: Suites, target: Target) -> list[FormInfo]:
    """The forms a run's suites name, as known where it starts, sorted by key."""
    keys = sorted({suite.form for suite in suites})
    directories = forms_dirs(suites, [Path(f) for f in target.forms])
    found = find_forms(keys, directories, target.form_ids)
    return [form_info(key, *found[key]) for key in keys if key in found]
