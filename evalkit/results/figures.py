"""The run-level figures beside the pass rate: slot filling, robustness, persona conversations.

Each is computed from `results.jsonl` alone (`evalkit.metrics`) and kept in `run.json`'s
summary; definitions in docs/metrics.md and docs/variants.md.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, computed_field

from evalkit.results.base import OutputModel, share

__all__ = [
    "FieldStats",
    "PersonaMetrics",
    "RobustnessBreak",
    "RobustnessField",
    "RobustnessKind",
    "RobustnessMetrics",
    "SlotCounts",
    "SlotMetrics",
    "SlotOutcome",
]


class FieldStats(OutputModel):
    """Counts for one field over a run."""

    correct: int = 0
    """Extracted and matching."""
    wrong: int = 0
    """Extracted and not matching."""
    missing: int = 0
    """Expected and not extracted."""
    unexpected: int = 0
    """Extracted and not expected."""

    @property
    def checked(self) -> int:
        """Checks with an expectation (correct + wrong + missing)."""
        return self.correct + self.wrong + self.missing

    @property
    def accuracy(self) -> float | None:
        """Correct / checked, or None when never checked."""
        return self.correct / self.checked if self.checked else None

    @property
    def precision(self) -> float | None:
        """Correct / (correct + wrong + unexpected), or None."""
        denominator = self.correct + self.wrong + self.unexpected
        return self.correct / denominator if denominator else None

    @property
    def recall(self) -> float | None:
        """Correct / (correct + wrong + missing), or None."""
        return self.accuracy


SlotOutcome = Literal["correct", "wrong", "missing", "unexpected", "empty"]
"""How one field of the dialogue state came out in one turn (docs/metrics.md): the predicted
value matches the expected one; both are filled and differ; only the expected one is filled; only
the predicted one is; neither is (the SGD convention: correct)."""


class SlotCounts(OutputModel):
    """Outcomes of one field (or of all) in the dialogue state, one per judged turn."""

    correct: int = 0
    """Expected filled, predicted matches it: a true positive."""
    wrong: int = 0
    """Both filled, not matching: a false positive and a false negative."""
    missing: int = 0
    """Expected filled, predicted empty: a false negative."""
    unexpected: int = 0
    """Expected empty, predicted filled: a false positive."""
    empty: int = 0
    """Both empty: correct for joint goal accuracy, no count for precision or recall."""

    def add(self, outcome: SlotOutcome, times: int = 1) -> None:
        """Count an outcome."""
        setattr(self, outcome, getattr(self, outcome) + times)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def goal_accuracy(self) -> float | None:
        """Correct / (correct + wrong + missing): over the turns the expected state fills it."""
        return share(self.correct, self.correct + self.wrong + self.missing)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def precision(self) -> float | None:
        """TP / (TP + FP) = correct / (correct + wrong + unexpected); None if nothing predicted."""
        return share(self.correct, self.correct + self.wrong + self.unexpected)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def recall(self) -> float | None:
        """TP / (TP + FN) = correct / (correct + wrong + missing); None if nothing expected."""
        return self.goal_accuracy

    @computed_field  # type: ignore[prop-decorator]
    @property
    def f1(self) -> float | None:
        """2TP / (2TP + FP + FN), the harmonic mean of precision and recall (or None)."""
        tp, fp = self.correct, self.wrong + self.unexpected
        return share(2 * tp, 2 * tp + fp + self.wrong + self.missing)


class SlotMetrics(OutputModel):
    """The standard slot-filling metrics of a run (definitions and sources: docs/metrics.md)."""

    turns: int = 0
    """Judged turns: user turns with at least one field verdict, of passed or failed results."""
    joint_correct: int = 0
    """Judged turns whose every judged field was correct (or empty in both states)."""
    slots: SlotCounts = Field(default_factory=SlotCounts)
    """Outcomes over every judged (turn, field): the micro counts."""
    fields: dict[str, SlotCounts] = Field(default_factory=dict)
    """The same per field, sorted by name."""
    confusion: dict[str, dict[str, dict[str, int]]] = Field(default_factory=dict)
    """Choice fields (a select prompt named them in the run): expected option → extracted option
    → count, over the turns' verdicts; `nothing` stands for no value."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def joint_goal_accuracy(self) -> float | None:
        """joint_correct / turns."""
        return share(self.joint_correct, self.turns)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def average_goal_accuracy(self) -> float | None:
        """Correct / judged fields the expected state fills (SGD's average goal accuracy)."""
        return self.slots.goal_accuracy

    @computed_field  # type: ignore[prop-decorator]
    @property
    def precision(self) -> float | None:
        """Micro slot precision."""
        return self.slots.precision

    @computed_field  # type: ignore[prop-decorator]
    @property
    def recall(self) -> float | None:
        """Micro slot recall."""
        return self.slots.recall

    @computed_field  # type: ignore[prop-decorator]
    @property
    def f1(self) -> float | None:
        """Micro slot F1."""
        return self.slots.f1


class RobustnessField(OutputModel):
    """One field's accuracy in the copies of one variant kind and in their originals."""

    original_correct: int = 0
    """Correct verdicts on the field in the originals (all their repeats)."""
    original_checked: int = 0
    """Verdicts with an expectation (correct + wrong + missing) in the originals."""
    copy_correct: int = 0
    """Correct verdicts on the field in the copies."""
    copy_checked: int = 0
    """Verdicts with an expectation in the copies."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def original_accuracy(self) -> float | None:
        """original_correct / original_checked."""
        return share(self.original_correct, self.original_checked)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def copy_accuracy(self) -> float | None:
        """copy_correct / copy_checked."""
        return share(self.copy_correct, self.copy_checked)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def drop(self) -> float | None:
        """original_accuracy - copy_accuracy (positive: the copies did worse)."""
        if self.original_accuracy is None or self.copy_accuracy is None:
            return None
        return self.original_accuracy - self.copy_accuracy


class RobustnessBreak(OutputModel):
    """A copy that failed while every decided run of its original passed."""

    conversation: str
    """`suite/id` of the copy (`contact-form/happy-path~typos-1`)."""
    fields: list[str] = Field(default_factory=list)
    """The fields with a failing verdict in the copy, sorted."""


class RobustnessKind(OutputModel):
    """One variant kind: its copies against the originals they were made from."""

    kind: str
    """The variant kind (`typos`, `numbers`, ...)."""
    originals: int = 0
    """Distinct original conversations with a decided run and a decided copy of this kind."""
    original_runs: int = 0
    """Decided runs (repeats) of those originals."""
    original_passed: int = 0
    """Of them, those that passed."""
    copies: int = 0
    """Decided runs of their copies."""
    copies_passed: int = 0
    """Of them, those that passed."""
    original_errors: int = 0
    """Errored runs of the originals of this kind's copies (in neither rate)."""
    copy_errors: int = 0
    """Errored runs of this kind's copies (in neither rate)."""
    unpaired: int = 0
    """Decided runs of copies whose original has no decided run (it errored or did not run):
    in neither rate, as there is nothing to compare them with."""
    errored: list[str] = Field(default_factory=list)
    """`suite/id` of the copies that errored (the first 20, by id; all are in `copy_errors`)."""
    drop_ci: tuple[float, float] | None = None
    """95% interval of the drop: Newcombe's hybrid score interval, from the Wilson intervals of
    the two pass rates."""
    fields: dict[str, RobustnessField] = Field(default_factory=dict)
    """Per field, accuracy in the originals and in the copies, sorted by name."""
    broken: list[RobustnessBreak] = Field(default_factory=list)
    """Copies that failed while their original passed (the first 20, by id)."""
    broken_count: int = 0
    """How many copies failed while their original passed."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def original_pass_rate(self) -> float | None:
        """original_passed / original_runs."""
        return share(self.original_passed, self.original_runs)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def copy_pass_rate(self) -> float | None:
        """copies_passed / copies."""
        return share(self.copies_passed, self.copies)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def drop(self) -> float | None:
        """original_pass_rate - copy_pass_rate (positive: the copies did worse)."""
        if self.original_pass_rate is None or self.copy_pass_rate is None:
            return None
        return self.original_pass_rate - self.copy_pass_rate


class RobustnessMetrics(OutputModel):
    """The copies against their originals, per variant kind (definitions: docs/variants.md)."""

    kinds: list[RobustnessKind] = Field(default_factory=list)
    """One entry per variant kind the run has copies of, in the order the kinds are listed."""


class PersonaMetrics(OutputModel):
    """Run-level figures of the persona conversations (definitions: docs/metrics.md)."""

    conversations: int = 0
    """Persona conversations that passed or failed (errors are not counted), with repeats."""
    submitted: int = 0
    """Of them, those whose form was submitted."""
    completion_ci: tuple[float, float] | None = None
    """Wilson 95% interval of the completion rate."""
    turns: dict[str, float] = Field(default_factory=dict)
    """User turns of the submitted conversations: min, median, p90, max."""
    extra_turns: dict[str, float] = Field(default_factory=dict)
    """Turns beyond the fewest possible, over the submitted conversations that record it: min,
    median, p90, max."""
    at_fewest: int = 0
    """Submitted conversations that took no more than the fewest possible turns."""
    re_asks: int = 0
    """Fields asked again after they were extracted, summed over the conversations."""
    with_re_ask: int = 0
    """Conversations with at least one re-ask."""
    fields: dict[str, FieldStats] = Field(default_factory=dict)
    """Per field, the final-state verdicts over the persona conversations, sorted by name."""
    k: int = 1
    """The k of pass^k: the fewest decided repeats of any persona conversation."""
    pass_hat_k: float | None = None
    """Mean over persona conversations of P(all k repeats pass)."""
    pass_hat_k_ci: tuple[float, float] | None = None
    """Wilson 95% interval of pass^k."""
    never_asked: dict[str, int] = Field(default_factory=dict)
    """Per field, in how many conversations the persona's value was never asked for."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def completion_rate(self) -> float | None:
        """Submitted / conversations."""
        return share(self.submitted, self.conversations)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def re_ask_rate(self) -> float | None:
        """Re-asks per conversation."""
        return share(self.re_asks, self.conversations)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def re_ask_share(self) -> float | None:
        """Share of the conversations with any re-ask."""
        return share(self.with_re_ask, self.conversations)
