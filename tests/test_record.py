"""Record mode and `evalkit init`: the suites they write load, and pass against the emulator."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.loader import load_suite
from evalkit.runner import emulator_target, run_sync

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(ROOT / "suites" / "forms", tmp_path / "forms")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_suite(path: Path) -> list[tuple[str, str]]:
    loaded = load_suite(path)
    with emulator_target([loaded]) as target:
        outcome = run_sync([loaded], target, out_root=path.parent / "runs")
    return [(r.conversation_id, r.status) for r in outcome.results]


def test_record_from_input_writes_a_suite_that_passes(workspace: Path) -> None:
    (workspace / "chat.txt").write_text(
        "# a happy path\nHi, I'm Jane Doe, jane@example.com\n\nsms is easiest\nno\n",
        encoding="utf-8",
    )

    result = CliRunner().invoke(
        main, ["record", "--form", "contact", "--input", "chat.txt", "-o", "rec.eval.yaml"]
    )

    assert result.exit_code == 0, result.output
    text = (workspace / "rec.eval.yaml").read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=evalkit.schema.json\n")
    suite = load_suite("rec.eval.yaml").suite
    (conversation,) = suite.conversations
    assert [t.user for t in conversation.turns] == [
        "Hi, I'm Jane Doe, jane@example.com",
        "sms is easiest",
        "no",
    ]
    assert conversation.submitted is True
    assert suite.client_time is not None
    assert run_suite(workspace / "rec.eval.yaml") == [("recorded", "pass")]


def test_record_refuses_a_form_the_emulator_does_not_know(workspace: Path) -> None:
    (workspace / "chat.txt").write_text("hi\n", encoding="utf-8")

    result = CliRunner().invoke(
        main, ["record", "--form", "nope", "--input", "chat.txt", "-o", "rec.eval.yaml"]
    )

    assert result.exit_code == 2
    assert "the emulator has no form 'nope'; its forms: " in result.output
    assert "contact" in result.output.split("its forms: ", 1)[1]


def test_interactive_record_reads_the_terminal_until_an_empty_line(workspace: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["record", "--form", "contact", "-o", "rec.eval.yaml"],
        input="I'm Ada, ada@example.com\n\n",
    )

    assert result.exit_code == 0, result.output
    assert "assistant:" in result.output
    (conversation,) = load_suite("rec.eval.yaml").suite.conversations
    assert [t.user for t in conversation.turns] == ["I'm Ada, ada@example.com"]


def test_init_scaffolds_one_conversation_per_required_field_and_it_passes(
    workspace: Path,
) -> None:
    result = CliRunner().invoke(
        main, ["init", "--form", "forms/contact.form.yaml", "-o", "starter.eval.yaml"]
    )

    assert result.exit_code == 0, result.output
    assert run_suite(workspace / "starter.eval.yaml") == [
        ("all-required-fields", "pass"),
        ("answers-contact-method", "pass"),
        ("answers-email", "pass"),
        ("answers-first-name", "pass"),
        ("answers-newsletter", "pass"),
    ]


def test_interactive_record_shows_the_targets_words_inert(workspace: Path) -> None:
    """The assistant's words are the target's: no escape sequence, bidi override or markup acts."""
    form = workspace / "forms" / "contact.form.yaml"
    text = form.read_text(encoding="utf-8")
    start = text.index("greeting:")
    end = text.index("fields:")
    hostile = '"Hi \\e[2J\\e]0;pwned\\a \\u009b2J \\u202eevil [bold red]loud[/] there"'
    form.write_text(f"{text[:start]}greeting: {hostile}\n{text[end:]}", encoding="utf-8")

    result = CliRunner().invoke(
        main, ["record", "--form", "contact", "-o", "rec.eval.yaml"], input="I'm Ada\n\n"
    )

    assert result.exit_code == 0, result.output
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e]", result.output)
    assert "[bold red]loud[/]" in result.output  # markup shown as written, not applied
    assert "\\x1b[2J" in result.output
