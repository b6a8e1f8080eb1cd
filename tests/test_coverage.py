"""The coverage check's statistics, on a model whose posterior is known exactly (fast, numpy).

θ ~ N(0, 1) and 99 observations N(θ, 1), whose mean is y ~ N(θ, 1/99): the posterior is
N(0.99 y, 1/100), ten times narrower than the prior as in the zoo. A "sampler" draws L = 200
independent draws from it, or from a planted wrong version; the rank of θ among them is what
:func:`glmcheck.sbc.simulation_ranks` would give. The check must keep its false-alarm rate on the
right posterior (every test p-value uniform) and catch each planted error with the power stated.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from glmcheck.checks import ALPHA, check_coverage
from glmcheck.checks.recovery import MAX_FAILED

L = 200
K = 20
PROPERTY = settings(max_examples=40, deadline=None, derandomize=True, database=None)


def simulations(k=K, *, seed=0, shrink=1.0, shift=0.0, stale=False, failed=0):
    """k simulations of the toy model; ``shrink``/``shift`` plant errors in the draws (in
    posterior sds), ``stale`` makes each fit the posterior of the previous data set."""
    rng = np.random.default_rng(seed)
    out, previous = [], 0.0
    for i in range(k):
        theta = rng.normal()
        y = theta + rng.normal() / np.sqrt(99)
        mean = previous if stale else 0.99 * y
        previous = 0.99 * y
        sd = 0.1
        draws = mean + shift * sd + shrink * sd * rng.normal(size=L)
        out.append({"ok": True, "L": L, "ranks": {"theta": int((draws < theta).sum())},
                    "divergences": 0, "max_rhat": 1.0})
    for i in range(failed):
        out[i] = {"ok": False, "error": "the log-likelihood is not finite at 3 of 200 draws"}
    return out


def cover(sims, seed=0):
    return check_coverage(sims, case="toy", frontend="pymc", sampler="nutpie", seed=seed)


def test_p_values_are_uniform_on_the_right_posterior():
    """2000 runs of K = 20: each test's p-value is uniform, so the check keeps its stated rate.
    The KS test's own false-alarm rate here is 1e-3 (fixed seeds: the same verdict every run)."""
    rows = [cover(simulations(seed=s), seed=s).rows[0] for s in range(2000)]
    for key in ("p_location", "p_spread"):
        p = np.array([r[key] for r in rows])
        assert stats.kstest(p, "uniform").pvalue > 1e-3, key


@given(seed=st.integers(0, 2**32 - 1))
@PROPERTY
def test_the_verdict_is_the_bonferroni_rule(seed):
    result = cover(simulations(seed=seed, shrink=0.6), seed=seed)
    row = result.rows[0]
    assert 0 <= row["p_location"] <= 1 and 0 <= row["p_spread"] <= 1
    assert row["p"] == min(1.0, 2 * min(row["p_location"], row["p_spread"]))
    assert row["passed"] == (row["p"] > ALPHA / len(result.rows)) == result.passed


@pytest.mark.parametrize("planted, why", [
    # z-scores spread ×4: 16 χ²(19) stays under the bound (52.8 at 1e-4 / 4 two-sided ×2)
    # with probability P(χ²(19) < 3.3) < 1e-5
    ({"shrink": 0.25}, "over-confident"),
    # z-scores spread ×1/4: 1/16 χ²(19) stays above the lower bound (3.4) with P(χ²(19) > 54) < 1e-5
    ({"shrink": 4.0}, "under-confident"),
    # every z shifted by about -4: √20 × 4 = 18 sds from 0
    ({"shift": 4.0}, "lie above the truth"),
    # the posterior of the previous data set: θ - its mean has sd ~ sqrt(2), 14 posterior sds
    ({"stale": True}, "over-confident"),
])
def test_planted_errors_fail(planted, why):
    result = cover(simulations(**planted))
    assert result.passed is False, str(result)
    assert why in result.message


def test_simulations_that_could_not_be_ranked():
    allowed = int(MAX_FAILED * K)  # 1 of 20
    assert cover(simulations(failed=allowed)).passed
    result = cover(simulations(failed=allowed + 1))
    assert result.passed is False and "could not be ranked" in result.message
    assert "log-likelihood is not finite" in result.message
    result = cover(simulations(k=4, failed=2))
    assert result.passed is False and result.message.startswith("only 2 of 4")


def test_the_verdict_is_the_same_for_the_same_seed():
    sims = simulations(seed=3)
    assert cover(sims, seed=5).to_dict() == cover(sims, seed=5).to_dict()


def test_coverage_refits_at_sbc_settings_only_where_the_sampler_can():
    """nutpie and PyMC's NUTS refit one compiled model with SBC's 2 chains; a sampler whose
    compiled program fixes its settings (JAX) or a user's sampler keeps the fit's own, and
    asking it for others is refused, not silently ignored."""
    from glmcheck.errors import UsageError
    from glmcheck.fitters import Fitter, FitSettings, get_fitter

    assert get_fitter("nutpie").refit_settings and get_fitter("pymc").refit_settings
    assert not Fitter.refit_settings

    class Fixed(Fitter):
        def _compile(self):
            pass

    fixed = Fixed.__new__(Fixed)
    fixed.settings = FitSettings()
    with pytest.raises(UsageError, match="settings it was compiled for"):
        fixed.fit(None, seed=0, settings=FitSettings(chains=3))
