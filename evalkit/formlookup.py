"""The form a suite's key names, found as the emulator serves it: the one form reader.

Forms are looked up in directories in order (the first that defines a key wins), and a
`form_ids` entry that names another form is followed: a known key, or a form id in any case
(the emulator matches ids so). A mapped name that no directory knows (a form only the Wix
service has) leaves the key's own form. `run.json` records the forms found so
(`evalkit.runner.forms`), and the persona simulator gets its hints from the same forms
(`evalkit.personas.hints_for`), so what a run says it ran against is what its simulated users
knew. A broken form file is skipped here: the suite checks report it.

It sits above the emulator (whose form files it reads, imported only when forms are wanted) and
below the personas and the runner, which both use it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from evalkit.errors import SuiteError

if TYPE_CHECKING:
    from evalkit.emulator import Form

__all__ = ["find_forms", "follow_form_ids"]

Entry = TypeVar("Entry")


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
        form_ids: Key → the form used instead (a known key, or an id in any case), as a run
            maps it.

    Returns:
        Key → (form, its file), for the keys whose form is known.
    """
    from evalkit.emulator.formfiles import load_forms  # the form files' reader, only when wanted

    known: dict[str, tuple[Form, Path]] = {}
    for directory in reversed(directories):
        try:
            loaded = load_forms(directory)
        except SuiteError:
            continue  # reported by the suite checks; a lookup does not stop a run
        known.update({key: (form, _source(directory, key)) for key, form in loaded.items()})
    by_id = {entry[0].id.lower(): entry for entry in known.values()}
    return follow_form_ids(keys, known, by_id, form_ids)


def follow_form_ids(
    keys: Iterable[str],
    known: Mapping[str, Entry],
    by_id: Mapping[str, Entry],
    form_ids: Mapping[str, str] | None,
) -> dict[str, Entry]:
    """What each key names: its `form_ids` entry followed, else the key's own form.

    Args:
        keys: The form keys suites name.
        known: The known forms (or what is kept of them) by key.
        by_id: The same by form id, lower-cased (the emulator matches ids in any case).
        form_ids: Key → the form used instead: a known key, or an id in any case.

    Returns:
        Key → its entry, for the keys whose form is known.
    """
    found: dict[str, Entry] = {}
    for key in keys:
        mapped = (form_ids or {}).get(key)
        entry = (known.get(mapped) or by_id.get(mapped.lower())) if mapped else None
        entry = entry or known.get(key)
        if entry is not None:
            found[key] = entry
    return found
