"""The simulator's form hints come from the form run.json records: one reader, one set of rules."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from evalkit.emulator import load_form
from evalkit.loader import load_suites
from evalkit.personas import hints_for
from evalkit.runner import Target
from evalkit.runner.forms import run_forms

ROOT = Path(__file__).resolve().parent.parent
FORMS = ROOT / "suites" / "forms"
BOOKING_ID = load_form(FORMS / "booking.form.yaml").id

SUITE = """\
suite: hints
form: contact
conversations:
  - id: jane
    persona: {values: {first_name: Jane}}
"""


@pytest.fixture
def suite_path(tmp_path: Path) -> Path:
    shutil.copytree(FORMS, tmp_path / "forms")
    path = tmp_path / "hints.eval.yaml"
    path.write_text(SUITE, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("form_ids", "form_used"),
    [
        pytest.param({}, "contact", id="the-key"),
        pytest.param({"contact": "event"}, "event", id="mapped-to-another-key"),
        pytest.param({"contact": BOOKING_ID}, "booking", id="mapped-to-an-id"),
        pytest.param({"contact": BOOKING_ID.upper()}, "booking", id="an-id-in-other-case"),
        pytest.param({"contact": "a-form-only-wix-knows"}, "contact", id="unknown-id-keeps-key"),
    ],
)
def test_the_simulator_knows_the_form_the_run_records(
    suite_path: Path, form_ids: dict[str, str], form_used: str
) -> None:
    """The emulator matches form ids in any case; the hints and run.json follow the same rules."""
    suites = load_suites([suite_path])
    target = Target(name="custom", base_url="http://127.0.0.1:9", form_ids=form_ids)
    (recorded,) = run_forms(suites, target)

    hints = hints_for(suite_path, "contact", target.forms, target.form_ids)

    expected = load_form(FORMS / f"{form_used}.form.yaml")
    assert (recorded.form or recorded.key) == form_used
    assert [h.target for h in hints] == [f.target for f in recorded.fields]
    assert [(h.target, h.label, h.phrases) for h in hints] == [
        (f.target, f.label, (f.question,) if f.question else ()) for f in expected.fields
    ]
    options = {h.target: h.options for h in hints if h.options}
    assert options == {
        f.target: tuple((o.value, o.label) for o in f.options) for f in expected.fields if f.options
    }


def test_forms_given_to_the_target_come_before_the_ones_beside_the_suite(
    suite_path: Path, tmp_path: Path
) -> None:
    given = tmp_path / "given"
    given.mkdir()
    text = (FORMS / "contact.form.yaml").read_text(encoding="utf-8")
    (given / "contact.form.yaml").write_text(
        text.replace("label: First name", "label: Given name"), encoding="utf-8"
    )

    hints = hints_for(suite_path, "contact", (str(given),), {})

    assert [h.label for h in hints][:2] == ["Given name", "Last name"]


def test_a_form_found_nowhere_gives_no_hints(tmp_path: Path) -> None:
    path = tmp_path / "lonely.eval.yaml"
    path.write_text(SUITE, encoding="utf-8")
    assert hints_for(path, "contact", (), {}) == ()
