"""`evalkit schema`, `expand`, `record` and `init`: commands that help write suites."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from evalkit.authoring import NextMessage, record, recorded_suite, starter_suite, suite_from_run
from evalkit.cli.common import console, project
from evalkit.cli.terminal import inert, visible
from evalkit.client import Mode
from evalkit.emulator import form_from_wix, load_form
from evalkit.errors import UsageError
from evalkit.loader import SUITE_SUFFIX, dump_suite, load_suites, suite_schema_text
from evalkit.loader.scope import FORM_FILE_SUFFIXES as SUFFIXES
from evalkit.loader.scope import form_folders
from evalkit.results import TurnTranscript, read_run
from evalkit.runner.description import (
    FRAMINGS,
    TARGET_KINDS,
    TargetOptions,
    describe_target,
    open_target,
    project_options,
)
from evalkit.runner.target import TargetName
from evalkit.scoring import assistant_text

__all__ = ["expand", "init", "record_command", "schema"]


def _write(text: str, output: str) -> None:
    if output == "-":
        click.echo(text, nl=False)
        return
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    Path(output).write_text(text, encoding="utf-8")
    click.echo(f"wrote {output}", err=True)


def _schema_ref(output: str) -> str:
    """The header's schema path: `evalkit.schema.json` beside the suite, or in `suites/`."""
    folder = Path(output).resolve().parent if output != "-" else Path.cwd()
    for candidate in (folder, *folder.parents):
        if (candidate / "evalkit.schema.json").is_file():
            return os.path.relpath(candidate / "evalkit.schema.json", folder)
        if (candidate / "suites" / "evalkit.schema.json").is_file():
            return os.path.relpath(candidate / "suites" / "evalkit.schema.json", folder)
    return "evalkit.schema.json"


@click.command()
@click.option("-o", "--output", default="-", show_default=True, help="File to write; - for stdout.")
def schema(output: str) -> None:
    """Write the JSON Schema of suite files (for editors: suites/evalkit.schema.json)."""
    _write(suite_schema_text(), output)


@click.command()
@click.argument("paths", nargs=-1, required=True)
def expand(paths: tuple[str, ...]) -> None:
    """Print the suites in PATHS with vars, includes, matrices and defaults expanded."""
    for loaded in load_suites(list(paths)):
        click.echo(dump_suite(loaded.suite, comment=f"expanded from {loaded.path}", schema=None))


def _from_file(path: Path) -> NextMessage:
    lines = path.read_text(encoding="utf-8").splitlines()
    utterances = iter([line.strip() for line in lines if line.strip() and not line.startswith("#")])
    return lambda last: next(utterances, None)


def _interactive() -> NextMessage:
    out = console()

    def ask(last: TurnTranscript) -> str | None:
        out.print(f"[bold cyan]assistant:[/] {inert(assistant_text(last))}", highlight=False)
        try:
            text = input("you: ")  # not click.prompt: it turns the end of input into an abort
        except EOFError:  # Ctrl-D: the chat is over, and what was said is kept
            click.echo()
            return None
        return text.strip() or None

    click.echo("Chat with the target; an empty line or Ctrl-D ends the conversation.")
    return ask


@click.command("record")
@click.option("--form", "form", default=None, help="The form key (or id) to talk to.")
@click.option(
    "--from-run",
    "from_run",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="Instead of a chat: a run directory whose persona conversations become scripted ones "
    "(simulated utterances as turns, what was extracted as expectations).",
)
@click.option("--suite", "from_suite", default=None, help="With --from-run: the persona suite.")
@click.option(
    "--include-failed",
    is_flag=True,
    default=False,
    help="With --from-run: record failed persona conversations too (by default only passed "
    "ones: a failure recorded as expectations makes its defect the expected behaviour).",
)
@click.option(
    "-o",
    "--output",
    required=True,
    help=f"The suite file to write (*{SUITE_SUFFIX}); - for stdout.",
)
@click.option(
    "--input",
    "input_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Utterances, one per line (# comments and blank lines skipped), instead of a terminal.",
)
@click.option(
    "--target",
    "target_name",
    type=click.Choice(TARGET_KINDS),
    default=None,
    help="emulator, wix or custom [default: the project configuration's, else emulator].",
)
@click.option("--base-url", default=None, help="API root for --target custom.")
@click.option(
    "--framing",
    type=click.Choice(FRAMINGS),
    default=None,
    help="Streamed framing, or unary [default: the project configuration's, else sse].",
)
@click.option(
    "--forms",
    "forms_dirs",
    multiple=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Directory of *.form.yaml for the emulator, looked in first (then forms/ beside the "
    "output and in its parents up to the project root, then the configured forms folder).",
)
@click.option("--suite-name", default=None, help="The suite's name (default: recorded-FORM).")
@click.option("--id", "conversation_id", default="recorded", show_default=True)
def record_command(
    form: str | None,
    from_run: Path | None,
    from_suite: str | None,
    include_failed: bool,
    output: str,
    input_file: Path | None,
    target_name: TargetName | None,
    base_url: str | None,
    framing: Mode | None,
    forms_dirs: tuple[Path, ...],
    suite_name: str | None,
    conversation_id: str,
) -> None:
    """Chat with a target and write the conversation, with what it extracted, as a suite.

    With --from-run, write the persona conversations of a stored run that passed as a scripted
    suite (--include-failed: the failed ones too); the ones left out are listed, with why.
    """
    if from_run is not None:
        if form is not None or input_file is not None:
            raise UsageError("--from-run takes no --form or --input: the run says both")
        info, results = read_run(from_run)
        recorded = suite_from_run(
            info, results, suite=from_suite, suite_name=suite_name, include_failed=include_failed
        )
        for label, why in recorded.skipped:
            click.echo(f"skipped {visible(label)}: {visible(why)}", err=True)
        note = f"Recorded with `evalkit record --from-run {from_run}`: review every expectation."
        _write(dump_suite(recorded.suite, comment=note, schema=_schema_ref(output)), output)
        return
    if form is None:
        raise UsageError("give --form (the form to chat with) or --from-run (a persona run)")
    if include_failed:
        raise UsageError("--include-failed goes with --from-run")
    given = TargetOptions(kind=target_name, base_url=base_url, framing=framing, forms=forms_dirs)
    settings = project()
    options = project_options(given, settings, [output] if output != "-" else [])
    with open_target(describe_target(options, os.environ), [], os.environ) as target:
        if target.name == "emulator" and form not in target.form_ids:
            looked = form_folders([output] if output != "-" else [], settings, given=forms_dirs)
            shown = ", ".join(str(folder) for folder in looked)
            known = ", ".join(sorted(target.form_ids)) or "none"
            raise UsageError(
                f"the emulator has no form {form!r}; its forms: {known} (looked in {shown}; "
                "give --forms DIR, or `forms` in the project configuration)"
            )
        next_message = _from_file(input_file) if input_file else _interactive()
        recording = record(target, form, next_message)
    suite = recorded_suite(
        recording, suite_name=suite_name or f"recorded-{form}", conversation_id=conversation_id
    )
    note = f"Recorded with `evalkit record --form {form}`: review every expectation."
    _write(dump_suite(suite, comment=note, schema=_schema_ref(output)), output)


@click.command()
@click.option("--form", "form_path", required=True, help="A *.form.yaml file or a Wix form JSON.")
@click.option("-o", "--output", default="-", show_default=True, help="The suite file to write.")
def init(form_path: str, output: str) -> None:
    """Scaffold a starter suite from a form: a conversation per required field, and one for all."""
    path = Path(form_path)
    if not path.is_file():
        looked = form_folders([output] if output != "-" else [], project())
        candidates = [folder / f"{form_path}{suffix}" for folder in looked for suffix in SUFFIXES]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            shown = ", ".join(str(folder) for folder in looked)
            raise UsageError(f"--form {form_path}: no such file, nor a form of that key in {shown}")
        path = found
    if path.suffix == ".json":
        form = form_from_wix(json.loads(path.read_text(encoding="utf-8")), key=path.stem)
    else:
        form = load_form(path)
    note = f"Scaffolded by `evalkit init` from {path}: edit the utterances and expectations."
    _write(dump_suite(starter_suite(form), comment=note, schema=_schema_ref(output)), output)
