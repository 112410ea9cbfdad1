"""Coverage as the terminal and Markdown show it (the definitions: docs/coverage.md).

`evalkit coverage` computes what suites exercise (`evalkit.coverage.suite_coverage`) and a run's
summary holds what it observed (`Summary.coverage`); both are a `Coverage`, and both print here:
Markdown through the report's own coverage section (`_coverage.md.j2`, every name neutralised),
text a line per figure, with rates as every report writes them (`evalkit.report.format`).
"""

from __future__ import annotations

from evalkit.report.format import percent
from evalkit.report.render import make_environment
from evalkit.results import Coverage

__all__ = ["coverage_markdown", "coverage_text"]


def coverage_markdown(coverage: Coverage) -> str:
    """Coverage as a Markdown section: the report's, a table per form, then what is uncovered."""
    template = make_environment().get_template("_coverage.md.j2")
    return template.render(shown_coverage=coverage).strip() + "\n"


def coverage_text(coverage: Coverage) -> str:
    """Coverage as the terminal shows it: per form, per kind and overall, then every gap.

    Each uncovered item is one line naming the form file it comes from (`path: kind name`).
    """
    lines: list[str] = []
    for form in coverage.forms:
        total = form.overall
        head = f"{form.form} ({form.source}): {percent(total.rate)} ({total.covered} of "
        lines.append(head + f"{total.total}), suites: {', '.join(form.suites) or 'none'}")
        for kind, count in form.kinds.items():
            name = kind.replace("_", " ")
            lines.append(f"  {name:<12}{percent(count.rate):>7}  {count.covered} of {count.total}")
        for item in form.uncovered:
            lines.append(f"  uncovered  {form.source}: {item.label}")
    for key in coverage.unknown:
        lines.append(f"{key}: no form file defines it; not counted")
    overall = coverage.overall
    lines.append(f"overall: {percent(overall.rate)} ({overall.covered} of {overall.total})")
    return "\n".join(lines)
