"""The forms a run's suites are written for, found and described for `run.json`.

A run records each form its suites name (`RunInfo.forms`: fields, types, options, limits, and
the form file), so the coverage it observed (`Summary.coverage`) can be computed, then and later
by `evalkit report`, `merge` or `rescore`, from the run directory alone. Forms are looked up as
the emulator serves them (`forms_dirs`: the directories given, then `forms/` beside each suite;
the first that defines a key wins), following a `form_ids` entry that names another known form
(`--form-id contact=contact-v2`), as `evalkit.formcheck` does. A form found nowhere (a form only
the Wix service knows) is not recorded, and a broken form file is left to the checks that report
it: recording never stops a run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from evalkit.errors import SuiteError
from evalkit.results import FieldInfo, FormInfo
from evalkit.runner.target import Target, forms_dirs

if TYPE_CHECKING:
    from evalkit.emulator import Form
    from evalkit.emulator.forms import FormField
    from evalkit.loader import Suites

__all__ = ["field_info", "find_forms", "form_info", "run_forms"]


def _source(directory: Path, key: str) -> Path:
    from evalkit.emulator.formfiles import FORM_SUFFIX, WIX_FORM_SUFFIX

    own = directory / f"{key}{FORM_SUFFIX}"
    path = own if own.is_file() else directory / f"{key}{WIX_FORM_SUFFIX}"
    try:  # shown as the user would write it: relative to the working folder when inside it
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def find_forms(
    keys: Iterable[str], directories: Sequence[Path], form_ids: Mapping[str, str] | None = None
) -> dict[str, tuple[Form, Path]]:
    """The form used for each key, with its file.

    Args:
        keys: The form keys suites name.
        directories: Where forms are looked for, in order (the first that defines a key wins).
        form_ids: Key → the form used instead (a known key or id), as a run maps it.

    Returns:
        Key → (form, its file), for the keys whose form is known.
    """
    from evalkit.emulator import load_forms  # the form files' reader, only when forms are wanted

    known: dict[str, tuple[Form, Path]] = {}
    for directory in reversed(directories):
        try:
            loaded = load_forms(directory)
        except SuiteError:
            continue  # reported by the suite checks; a recording does not stop a run
        known.update({key: (form, _source(directory, key)) for key, form in loaded.items()})
    by_id = {entry[0].id.lower(): entry for entry in known.values()}
    found: dict[str, tuple[Form, Path]] = {}
    for key in keys:
        mapped = (form_ids or {}).get(key)
        entry = (known.get(mapped) or by_id.get(mapped.lower())) if mapped else None
        entry = entry or known.get(key)
        if entry is not None:
            found[key] = entry
    return found


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
