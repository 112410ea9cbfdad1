"""Coverage models: what a run records of its forms, and what of a form suites or a run exercised.

`FormInfo` is the description of a form `run.json` keeps (`RunInfo.forms`), so that a run
directory alone says what its forms hold: fields, their types, options and limits. `Coverage` is
what `evalkit coverage` computes from suites (intended coverage) and what a run's summary holds
(observed coverage, `Summary.coverage`). The definitions of every item are in docs/coverage.md.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, computed_field

from evalkit.results.base import OutputModel, share

__all__ = [
    "COVERAGE_KINDS",
    "Coverage",
    "CoverageItem",
    "CoverageKind",
    "FieldInfo",
    "FormCoverage",
    "FormInfo",
    "KindCount",
]

CoverageKind = Literal["field", "option", "validation", "submission", "chunk_type"]
"""What an item of coverage is: a field, an option of a choice field, a validation path, the
submission, or a chunk type (observed in a run only)."""

COVERAGE_KINDS: tuple[CoverageKind, ...] = (
    "field",
    "option",
    "validation",
    "submission",
    "chunk_type",
)
"""Every kind, in the order reports show them."""


class FieldInfo(OutputModel):
    """One field of a form, as `run.json` records it."""

    target: str
    """The field key (`TEXT_DATA.fieldTarget`)."""
    type: str
    """What it holds: text, name, email, phone, number, boolean, date, time, single_select,
    multi_select."""
    required: bool = False
    """The form is submitted once every required field has a value."""
    options: list[str] = Field(default_factory=list)
    """The option values of a select field."""
    custom_option: bool = False
    """For selects: a value outside the options is accepted."""
    min: float | None = None
    """For numbers: the smallest accepted value."""
    max: float | None = None
    """For numbers: the largest accepted value."""
    multiple_of: float | None = None
    """For numbers: accepted values are multiples of this."""

    @property
    def is_select(self) -> bool:
        """Whether it is a choice field (single or multi select)."""
        return self.type in ("single_select", "multi_select")


class FormInfo(OutputModel):
    """A form a run's suites are written for, as `run.json` records it."""

    key: str
    """The form key the suites name (`form: contact`)."""
    form: str = ""
    """The key of the form used for it, when another (`--form-id contact=contact-v2`)."""
    source: str = ""
    """The form file it was read from."""
    fields: list[FieldInfo] = Field(default_factory=list)
    """Its fields, in order."""


class CoverageItem(OutputModel):
    """One thing of a form that suites can exercise, and whether they do."""

    kind: CoverageKind
    """field, option, validation, submission or chunk_type."""
    name: str
    """`age`, `contact_method=email`, `age:below-min`, `submitted`, `TEXT_DATA`."""
    covered: bool = False
    """Whether some conversation exercises it."""

    @property
    def label(self) -> str:
        """The item in words: `option contact_method=email`, `chunk type TEXT_DATA`."""
        return f"{self.kind.replace('_', ' ')} {self.name}"


class KindCount(OutputModel):
    """Covered items of one kind, of how many."""

    covered: int = 0
    """Items covered."""
    total: int = 0
    """Items of this kind."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def rate(self) -> float | None:
        """Covered / total, or None when the form has no item of the kind."""
        return share(self.covered, self.total)


class FormCoverage(OutputModel):
    """What of one form the suites (or a run) exercised."""

    form: str
    """The form key the suites name."""
    source: str = ""
    """The form file its items come from."""
    suites: list[str] = Field(default_factory=list)
    """The suites written for it."""
    items: list[CoverageItem] = Field(default_factory=list)
    """Every item, in the order of `COVERAGE_KINDS`, then of the form."""

    def count(self, kind: CoverageKind) -> KindCount:
        """Covered and total items of one kind."""
        of_kind = [item for item in self.items if item.kind == kind]
        return KindCount(covered=sum(i.covered for i in of_kind), total=len(of_kind))

    @computed_field  # type: ignore[prop-decorator]
    @property
    def kinds(self) -> dict[str, KindCount]:
        """Covered and total per kind that has items, in the order of `COVERAGE_KINDS`."""
        counts = {kind: self.count(kind) for kind in COVERAGE_KINDS}
        return {kind: count for kind, count in counts.items() if count.total}

    @computed_field  # type: ignore[prop-decorator]
    @property
    def overall(self) -> KindCount:
        """Covered and total over fields, options, validation paths and submission.

        Chunk types (observed only) are shown beside it, not counted in it.
        """
        scored = [item for item in self.items if item.kind != "chunk_type"]
        return KindCount(covered=sum(i.covered for i in scored), total=len(scored))

    @property
    def uncovered(self) -> list[CoverageItem]:
        """The items no conversation exercised, in order."""
        return [item for item in self.items if not item.covered]


class Coverage(OutputModel):
    """What of their forms suites exercise (`evalkit coverage`) or a run observed (its summary)."""

    observed: bool = False
    """False: computed from what suites say; True: from what a run's transcripts show."""
    forms: list[FormCoverage] = Field(default_factory=list)
    """One entry per form, sorted by key."""
    unknown: list[str] = Field(default_factory=list)
    """Form keys suites name whose form is not known (no form file): nothing is counted."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def overall(self) -> KindCount:
        """Covered and total over every form (chunk types not counted)."""
        counts = [form.overall for form in self.forms]
        return KindCount(covered=sum(c.covered for c in counts), total=sum(c.total for c in counts))

    def uncovered(self) -> list[str]:
        """Every uncovered item counted in `overall`, as `form file: kind name`."""
        return [
            f"{form.source or form.form}: {item.label}"
            for form in self.forms
            for item in form.uncovered
            if item.kind != "chunk_type"
        ]
