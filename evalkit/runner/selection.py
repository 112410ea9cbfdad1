"""The conversations a run takes: suites narrowed to a `Selection` (tags, id patterns, exclusions).

`select_suites` wraps each suite in a `SelectedSuite`, a `SuiteSource` whose outline and built
suite hold only the conversations the selection takes, so the plan, the resume and the summary
downstream see nothing else. Tags are read by building each suite once (a `SuiteFile` is built
again when the run reaches it, as always).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from evalkit.errors import UsageError
from evalkit.results import Selection
from evalkit.suite import LoadedSuite, SuiteSource, VariantKind

__all__ = ["SelectedSuite", "select_suites"]


@dataclass(frozen=True)
class SelectedSuite:
    """A suite with only the conversations a selection takes (a `SuiteSource`)."""

    source: SuiteSource
    """The whole suite."""
    kept: frozenset[str]
    """The ids of the conversations taken."""

    @property
    def name(self) -> str:
        """The suite's name."""
        return self.source.name

    @property
    def path(self) -> str:
        """The file, as given."""
        return self.source.path

    @property
    def sha256(self) -> str:
        """Hash of the file (and of the files it includes)."""
        return self.source.sha256

    @property
    def form(self) -> str:
        """The form the suite is written for."""
        return self.source.form

    @property
    def outline(self) -> tuple[tuple[str, int], ...]:
        """(id, repeat) of each conversation taken, in order."""
        return tuple(item for item in self.source.outline if item[0] in self.kept)

    @property
    def variants(self) -> tuple[VariantKind, ...]:
        """The robustness variant kinds the run added."""
        return self.source.variants

    def load(self) -> LoadedSuite:
        """The suite built, with only the conversations taken (and their lines and files)."""
        loaded = self.source.load()
        indexes = [i for i, c in enumerate(loaded.suite.conversations) if c.id in self.kept]
        suite = loaded.suite.model_copy(
            update={"conversations": [loaded.suite.conversations[i] for i in indexes]}
        )
        files = loaded.conversation_files
        return loaded.model_copy(
            update={
                "suite": suite,
                "conversation_lines": [loaded.conversation_lines[i] for i in indexes],
                "conversation_files": [files[i] for i in indexes] if files else [],
            }
        )


def select_suites(suites: Sequence[SuiteSource], selection: Selection | None) -> list[SuiteSource]:
    """The suites narrowed to the conversations `selection` takes (all of them for None).

    A suite with no conversation taken is left out.

    Raises:
        UsageError: The selection takes no conversation at all.
    """
    if selection is None:
        return list(suites)
    chosen: list[SuiteSource] = []
    for source in suites:
        loaded = source.load()
        kept = frozenset(
            c.id
            for c in loaded.suite.conversations
            if selection.matches(loaded.name, c.id, {*loaded.suite.tags, *c.tags})
        )
        del loaded
        if kept:
            chosen.append(SelectedSuite(source, kept))
    if suites and not chosen:
        raise UsageError(f"the selection {selection.describe()} takes no conversation")
    return chosen
