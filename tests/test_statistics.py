"""The statistics behind verdicts, against published and hand-computed reference values."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from evalkit.metrics import mcnemar_exact, pass_at_k, pass_hat_k, wilson


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [
        # Newcombe (1998), "Two-sided confidence intervals for the single proportion", method 3.
        pytest.param(81, 263, 0.2553, 0.3662, id="newcombe-81-of-263"),
        pytest.param(15, 148, 0.0624, 0.1605, id="newcombe-15-of-148"),
        pytest.param(0, 20, 0.0, 0.1611, id="newcombe-0-of-20"),
        pytest.param(1, 29, 0.0061, 0.1718, id="newcombe-1-of-29"),
        pytest.param(85, 100, 0.767, 0.907, id="85-of-100"),
        pytest.param(100, 100, 0.963, 1.0, id="all-passed"),
        pytest.param(970, 1000, 0.957, 0.979, id="970-of-1000"),
    ],
)
def test_wilson_interval_matches_reference_values(
    successes: int, n: int, low: float, high: float
) -> None:
    interval = wilson(successes, n)
    assert interval is not None
    assert interval[0] == pytest.approx(low, abs=6e-4)
    assert interval[1] == pytest.approx(high, abs=6e-4)


def test_wilson_of_nothing_is_none() -> None:
    assert wilson(0, 0) is None


@pytest.mark.parametrize(
    ("b", "c", "p"),
    [
        # Exact binomial two-sided p-values (e.g. scipy.stats.binomtest(b, b + c, 0.5)).
        pytest.param(12, 4, 0.0768, id="12-vs-4"),
        pytest.param(20, 10, 0.0987, id="20-vs-10"),
        pytest.param(5, 0, 0.0625, id="5-vs-0-never-significant"),
        pytest.param(6, 0, 0.03125, id="6-vs-0"),
        pytest.param(4, 12, 0.0768, id="symmetric"),
        pytest.param(3, 3, 1.0, id="balanced"),
        pytest.param(0, 0, 1.0, id="no-discordant-pairs"),
        pytest.param(15, 0, 6.1035e-05, id="15-vs-0"),
    ],
)
def test_mcnemar_exact_matches_the_binomial_test(b: int, c: int, p: float) -> None:
    assert mcnemar_exact(b, c) == pytest.approx(p, rel=2e-3)


@pytest.mark.parametrize(
    ("n", "c", "k", "at_k", "hat_k"),
    [
        pytest.param(8, 7, 4, 1.0, 0.5, id="tau-bench-7-of-8"),
        pytest.param(8, 7, 8, 1.0, 0.0, id="all-8"),
        pytest.param(5, 0, 5, 0.0, 0.0, id="never"),
        pytest.param(5, 5, 5, 1.0, 1.0, id="always"),
        pytest.param(4, 2, 2, 5 / 6, 1 / 6, id="half"),
    ],
)
def test_pass_at_k_and_pass_hat_k(n: int, c: int, k: int, at_k: float, hat_k: float) -> None:
    assert pass_at_k(n, c, k) == pytest.approx(at_k)
    assert pass_hat_k(n, c, k) == pytest.approx(hat_k)


def test_k_cannot_exceed_the_runs() -> None:
    with pytest.raises(ValueError, match="cannot exceed"):
        pass_hat_k(2, 1, 3)


@pytest.mark.parametrize(
    ("b", "c", "p"),
    [
        (1500, 1500, 1.0),  # 3,000 discordant pairs split evenly: no evidence of a change
        (2800, 0, 0.0),  # a nightly where 2,800 conversations regressed and none was fixed
        # 1,100 pairs: the normal approximation with continuity correction gives 0.00284
        (600, 500, 0.00282),
    ],
)
def test_mcnemar_exact_holds_for_more_than_a_thousand_discordant_pairs(
    b: int, c: int, p: float
) -> None:
    # 2**n as a float overflows past n = 1,023; a large suite's comparison must not crash.
    assert mcnemar_exact(b, c) == pytest.approx(p, rel=2e-2, abs=1e-300)


def _exact_mcnemar(b: int, c: int) -> Fraction:
    """The two-sided exact McNemar p-value as an exact fraction (integer binomial coefficients)."""
    n = b + c
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1))
    return min(Fraction(1), 2 * Fraction(tail, 1 << n))


@pytest.mark.parametrize(
    ("b", "c"),
    [(0, 1), (1, 0), (7, 3), (30, 45), (250, 200), (999, 1001), (1000, 1000), (1970, 30)]
    + [(b, 2000 - b) for b in range(0, 2001, 97)],
)
def test_mcnemar_exact_agrees_with_exact_integers_up_to_2000_pairs(b: int, c: int) -> None:
    expected = float(_exact_mcnemar(b, c))
    assert mcnemar_exact(b, c) == pytest.approx(expected, rel=1e-9, abs=0.0)


@pytest.mark.parametrize(
    ("b", "c", "p"),
    [
        # Computed once with exact integer arithmetic (the sum of C(n, i) over the tail, / 2**n).
        (501_000, 499_000, 0.0456082998653820864),
        (500_600, 499_400, 0.230527928603718649),
        (100_000, 99_000, 0.0251272176883609441),
        (5_000, 5_200, 0.0487879631268224534),
        (10_000, 9_800, 0.157292218789462326),
    ],
)
def test_mcnemar_exact_is_right_for_up_to_a_million_discordant_pairs(
    b: int, c: int, p: float
) -> None:
    # A target decides b and c: a comparison of a million pairs must still give the exact figure.
    assert mcnemar_exact(b, c) == pytest.approx(p, rel=1e-6)
    assert mcnemar_exact(c, b) == pytest.approx(p, rel=1e-6)


def test_mcnemar_exact_far_tail_is_tiny_but_not_negative() -> None:
    p = mcnemar_exact(600_000, 400_000)
    assert 0.0 <= p < 1e-300
