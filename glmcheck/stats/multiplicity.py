"""Multiplicity-corrected thresholds and interval estimates for rates (numpy/scipy only)."""

from __future__ import annotations

from scipy import stats

from glmcheck.errors import UsageError

__all__ = ["bonferroni_z", "beta_interval", "two_sided_p"]


def bonferroni_z(alpha: float, k: int) -> float:
    """|z| threshold so that k two-sided N(0, 1) tests all pass with probability >= 1 - alpha."""
    if not 0 < alpha < 1:
        raise UsageError(f"expected 0 < alpha < 1 but got alpha={alpha}")
    if k < 1:
        raise UsageError(f"expected k >= 1 tests but got k={k}")
    return float(stats.norm.isf(alpha / (2 * k)))


def two_sided_p(z: float) -> float:
    return float(2 * stats.norm.sf(abs(z)))


def beta_interval(successes: int, trials: int, prob: float = 0.95) -> tuple[float, float]:
    """Central interval of Beta(k + 1, n - k + 1), the posterior of a rate under a flat prior."""
    if not 0 <= successes <= trials or trials < 1:
        raise UsageError(f"expected 0 <= successes <= trials >= 1 but got {successes}/{trials}")
    dist = stats.beta(successes + 1, trials - successes + 1)
    tail = (1 - prob) / 2
    return float(dist.ppf(tail)), float(dist.ppf(1 - tail))
