"""SBC statistics (glmcheck.stats.sbc): numpy/scipy only, seeded, fast. No PyMC."""

import importlib.metadata
import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats

from conftest import require_modules
from glmcheck.errors import MissingDependency, UsageError
from glmcheck.stats import sbc

PROPERTY = settings(max_examples=50, deadline=None, derandomize=True, database=None)
ARVIZ_STATS_VERSION = tuple(
    int(part) for part in importlib.metadata.version("arviz-stats").split(".")[:2]
)
ARVIZ_STATS_1 = ARVIZ_STATS_VERSION >= (1, 0)
#: arviz-stats releases known to ship arviz_stats.ecdf_utils.simulate_confidence_bands: 0.8 (the
#: previous stack, with arviz 0.23) and 1.x (the current stack)
ARVIZ_STATS_HAS_ECDF_UTILS = ARVIZ_STATS_VERSION >= (0, 8)
#: false-alarm rate of each Monte Carlo test of the ECDF band test below
FALSE_ALARM = 1e-6


def import_ecdf_utils():
    """arviz_stats.ecdf_utils: a plain import (a failure if absent) where the installed arviz-stats
    is known to ship it; elsewhere skipped, or failed under GLMCHECK_REQUIRE_ALL=1."""
    if not ARVIZ_STATS_HAS_ECDF_UTILS:
        require_modules("arviz_stats.ecdf_utils")
    import arviz_stats.ecdf_utils  # noqa: PLC0415

    return arviz_stats.ecdf_utils


def binomial_999(trials: int, prob: float) -> tuple[float, float]:
    """Central 99.9 % interval of Binomial(trials, prob)."""
    return stats.binom.interval(0.999, trials, prob)


def binomial_interval(trials: int, prob: float, false_alarm: float = FALSE_ALARM):
    """Central interval of Binomial(trials, prob) holding all but ``false_alarm`` of it."""
    return stats.binom.interval(1 - false_alarm, trials, prob)


def simulated_counts(n, z, n_sims, seed):
    """ECDF counts of n uniforms at the grid z, n_sims times: cumulative multinomial counts."""
    rng = np.random.default_rng(seed)
    cells = np.diff(np.concatenate(([0.0], z, [1.0])))
    blocks = []
    for start in range(0, n_sims, 50_000):
        size = min(50_000, n_sims - start)
        counts = np.cumsum(rng.multinomial(n, cells, size=size), axis=1)[:, :-1]
        blocks.append(counts.astype(np.int32))
    return np.concatenate(blocks)


def leaves_band(counts, lower, upper, n) -> np.ndarray:
    """Which simulated ECDFs leave the band [lower, upper] (ECDF values) somewhere."""
    lo, hi = np.rint(np.asarray(lower) * n), np.rint(np.asarray(upper) * n)
    return np.any((counts < lo) | (counts > hi), axis=1)


def band_level(lower, upper, n, z, n_sims=20000, seed=12345) -> float:
    """Monte Carlo probability that the ECDF of n uniforms leaves the band [lower, upper]."""
    return float(np.mean(leaves_band(simulated_counts(n, z, n_sims, seed), lower, upper, n)))


def exact_size(result) -> float:
    """Exact probability that n uniforms fail the test: P(T < threshold)."""
    return sbc.ecdf_band_cdf(np.nextafter(result.threshold, 0.0), result.n,
                             n_points=result.eval_points.size + 1)


# ------------------------------------------------------------------------------------------ rank


@PROPERTY
@given(
    draws=st.lists(
        st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=60, unique=True
    ),
    true_value=st.floats(-1e6, 1e6, allow_nan=False),
    seed=st.integers(0, 2**32 - 1),
)
def test_rank_counts_smaller_draws_and_lies_in_0_L(draws, true_value, seed):
    draws = np.array(draws)
    r = sbc.rank(true_value, draws, np.random.default_rng(seed))
    assert 0 <= r <= draws.size
    if true_value not in draws:
        assert r == int(np.sum(draws < true_value))
    else:  # one tie: the rank is below or one above
        assert r - int(np.sum(draws < true_value)) in (0, 1)
    # the vectorised variant agrees on distinct values
    vec = sbc.ranks(np.array([true_value]), draws[:, None], np.random.default_rng(seed))
    if true_value not in draws:
        assert vec.tolist() == [r]


def test_rank_breaks_ties_uniformly():
    """Frequencies over many independent generators match the uniform law (chi-square, 0.001)."""
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(2024).spawn(4000)]
    draws = np.array([0.0, 0.0, 0.0, -1.0, 1.0, 2.0])  # 1 below, 3 ties -> rank in {1, 2, 3, 4}
    values = np.array([sbc.rank(0.0, draws, rng) for rng in rngs])
    assert set(np.unique(values)) == {1, 2, 3, 4}
    assert stats.chisquare(np.bincount(values)[1:]).pvalue > 0.001
    # the vectorised variant: two parameters with 0 and 2 ties
    draws2 = np.column_stack([np.arange(5.0), [1.0, 1.0, 0.0, 3.0, 4.0]])
    out = np.array([sbc.ranks(np.array([2.5, 1.0]), draws2, rng) for rng in rngs])
    assert np.all(out[:, 0] == 3)
    assert set(np.unique(out[:, 1])) == {1, 2, 3}  # 1 below, 2 ties
    assert stats.chisquare(np.bincount(out[:, 1])[1:]).pvalue > 0.001


def test_rank_rejects_bad_input():
    with pytest.raises(UsageError, match="expected finite values"):
        sbc.rank(0.0, np.array([1.0, np.nan]), 0)
    with pytest.raises(UsageError, match="true_value=nan"):
        sbc.rank(float("nan"), np.array([1.0]), 0)
    with pytest.raises(UsageError, match="shape"):
        sbc.rank(0.0, np.zeros((2, 2)), 0)
    with pytest.raises(UsageError, match="expected draws of shape"):
        sbc.ranks(np.zeros(3), np.zeros((10, 2)), 0)
    with pytest.raises(UsageError, match="rng="):
        sbc.rank(0.0, np.zeros(3), "seed")


# -------------------------------------------------------------------------------------- thinning


def test_thin_keeps_every_factor_th_draw_per_chain():
    draws = np.arange(2 * 10 * 3).reshape(2, 10, 3)
    out = sbc.thin(draws, 3)
    assert out.shape == (2, 4, 3)
    np.testing.assert_array_equal(out, draws[:, [0, 3, 6, 9]])
    np.testing.assert_array_equal(sbc.thin(draws, 1), draws)
    with pytest.raises(UsageError, match="factor=0"):
        sbc.thin(draws, 0)
    with pytest.raises(UsageError, match=r"\(chain, draw, ...\)"):
        sbc.thin(np.arange(5), 2)


def test_auto_thin_factor():
    assert sbc.auto_thin_factor(100.0, 1000) == 10
    assert sbc.auto_thin_factor(300.0, 1000) == 3  # floor(3.33)
    assert sbc.auto_thin_factor(1500.0, 1000) == 1  # antithetic: no thinning
    assert sbc.auto_thin_factor([400.0, 250.0, 900.0], 1000) == 4  # min ESS
    with pytest.raises(UsageError, match="positive ESS"):
        sbc.auto_thin_factor(0.0, 1000)
    with pytest.raises(UsageError, match="n_total=0"):
        sbc.auto_thin_factor(10.0, 0)


# ------------------------------------------------------------------------------------------- PIT


@PROPERTY
@given(L=st.integers(1, 10_000), seed=st.integers(0, 2**32 - 1), n=st.integers(1, 50))
def test_pit_in_open_unit_interval_and_from_known_L(L, seed, n):
    rng = np.random.default_rng(seed)
    r = rng.integers(0, L + 1, size=n)
    r[0] = L  # the largest rank
    u = sbc.pit(r, L, rng)
    assert np.all((u > 0) & (u < 1))
    # u lies in the cell [r / (L + 1), (r + 1) / (L + 1)] of its own rank
    assert np.all(u >= r / (L + 1) - 1e-12) and np.all(u <= (r + 1) / (L + 1) + 1e-12)


def test_pit_uses_L_not_the_largest_rank():
    r = np.arange(51)  # ranks only up to 50, but among L = 100 draws
    u = sbc.pit(r, 100, np.random.default_rng(0))
    assert u.max() < 51 / 101  # scaling by max(rank) would reach ~1
    with pytest.raises(UsageError, match=r"ranks in \[0, L=100\]"):
        sbc.pit(np.array([0, 101]), 100, 0)
    with pytest.raises(UsageError, match="integer ranks"):
        sbc.pit(np.array([0.5]), 100, 0)


def test_pit_of_uniform_ranks_is_uniform():
    rng = np.random.default_rng(1)
    u = sbc.pit(rng.integers(0, 10, size=5000), 9, rng)  # coarse ranks, continuous PIT
    assert stats.kstest(u, "uniform").pvalue > 0.001


# ------------------------------------------------------------------------------ ECDF band test


def test_ecdf_band_rejects_uniform_data_at_about_the_nominal_rate():
    """400 uniform data sets of N = 200: rejections ~ Binomial(400, 0.05) validates gamma."""
    rng = np.random.default_rng(2024)
    results = [sbc.ecdf_band_test(rng.uniform(size=200), alpha=0.05) for _ in range(400)]
    rejected = sum(not r.passed for r in results)
    lo, hi = binomial_999(400, 0.05)
    assert lo <= rejected <= hi
    # the p-values of uniform data are about uniform too
    p = np.array([r.p_value for r in results])
    lo, hi = binomial_999(400, 0.25)
    assert lo <= np.sum(p <= 0.25) <= hi
    # the band's own level, measured by simulation, is its exact size, a little below 0.05
    r = results[0]
    size = exact_size(r)
    assert 0.045 < size <= 0.05
    lo, hi = binomial_999(20000, size)
    assert lo <= band_level(r.lower, r.upper, 200, r.eval_points) * 20000 <= hi
    assert 0.95 < r.gamma < 1


@pytest.mark.parametrize(
    "name, sample",
    [
        ("u ** 1.5 (shifted)", lambda g: g.uniform(size=200) ** 1.5),
        ("Beta(0.5, 0.5) (over-dispersed)", lambda g: g.beta(0.5, 0.5, size=200)),
        ("Beta(2, 2) (under-dispersed)", lambda g: g.beta(2.0, 2.0, size=200)),
    ],
)
def test_ecdf_band_rejects_strongly_non_uniform_values(name, sample):
    for seed in range(20):
        result = sbc.ecdf_band_test(sample(np.random.default_rng(seed)), alpha=0.05)
        assert not result.passed, (name, seed, result.p_value)
        assert result.outside.size > 0


def test_ecdf_band_power_against_mild_over_dispersion():
    rejected = [
        not sbc.ecdf_band_test(np.random.default_rng(s).beta(0.7, 0.7, size=200)).passed
        for s in range(50)
    ]
    assert np.mean(rejected) >= 0.6  # about 0.84 by simulation


@PROPERTY
@given(
    n=st.integers(1, 300),
    a=st.floats(0.3, 3.0),
    b=st.floats(0.3, 3.0),
    alpha=st.floats(0.001, 0.5),
    seed=st.integers(0, 2**32 - 1),
    n_points=st.one_of(st.none(), st.integers(2, 60)),
)
def test_p_value_below_alpha_exactly_when_the_ecdf_leaves_the_band(n, a, b, alpha, seed, n_points):
    u = np.random.default_rng(seed).beta(a, b, size=n)
    exact = sbc.ecdf_band_test(u, alpha=alpha, n_points=n_points)
    simulated = sbc.ecdf_band_test(u, alpha=alpha, n_simulations=400, n_points=n_points,
                                   rng=seed % 3)
    for r in (exact, simulated):
        inside = bool(np.all((r.ecdf >= r.lower) & (r.ecdf <= r.upper)))
        assert r.passed == inside == (r.p_value > alpha)
        assert 0 < r.p_value <= 1
        # the band is a monotone envelope of counts
        assert np.all(r.lower <= r.upper)
        assert np.all(np.diff(r.lower) >= 0) and np.all(np.diff(r.upper) >= 0)
        counts = np.searchsorted(np.sort(u), r.eval_points, side="right")
        np.testing.assert_array_equal(r.ecdf, counts / n)
    assert exact.method == "exact" and exact.n_simulations is None
    assert exact.statistic == simulated.statistic
    # the exact p-value is P(T <= observed) (to rounding; never below the underflow floor)
    cdf = sbc.ecdf_band_cdf(exact.statistic, n, n_points=n_points)
    assert exact.p_value == pytest.approx(max(cdf, sbc.ECDF_MIN_P_VALUE), rel=1e-9)
    # the simulated one is (1 + #simulated statistics <= the observed one) / (1 + S)
    null = sbc.ecdf_band_null(n, n_points=n_points, n_simulations=400, rng=seed % 3)
    assert simulated.method == "simulated" and simulated.n_simulations == 400
    assert simulated.p_value == (1 + np.sum(null <= simulated.statistic)) / 401


def test_ecdf_band_is_the_central_binomial_interval_at_level_gamma():
    r = sbc.ecdf_band_test(np.random.default_rng(3).uniform(size=150), alpha=0.1)
    lo, hi = stats.binom.interval(r.gamma, 150, r.eval_points)
    # scipy's interval and the tail-threshold band agree up to ties at the boundary
    assert np.max(np.abs(lo - r.lower * 150)) <= 1 and np.max(np.abs(hi - r.upper * 150)) <= 1
    assert np.mean(lo == r.lower * 150) > 0.9 and np.mean(hi == r.upper * 150) > 0.9


def test_exact_null_cdf_matches_enumeration():
    """P(T <= v) against all multinomial outcomes of a few tiny (n, K), at every attainable v."""
    for n, cells in ((4, 4), (6, 3), (5, 5), (3, 7), (1, 2)):
        z = np.arange(1, cells) / cells
        probs = {}
        for outcome in itertools.product(range(n + 1), repeat=cells):
            if sum(outcome) != n:
                continue
            prob = stats.multinomial.pmf(outcome, n, np.full(cells, 1 / cells))
            t = float(sbc._statistic(np.cumsum(outcome)[:-1], n, z))
            probs[t] = probs.get(t, 0.0) + prob
        values = sorted(probs)
        expected = np.cumsum([probs[v] for v in values])
        got = [sbc.ecdf_band_cdf(v, n, n_points=cells) for v in values]
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


def test_p_value_is_never_zero_and_reaches_holm_levels():
    """A grossly non-uniform quantity among m = 25 gets p <= alpha / m (Holm's first step), with
    p > 0 even where the old fixed 2000-simulation null could only say 0."""
    alpha, m = 0.01, 25
    rng = np.random.default_rng(11)
    gross = sbc.ecdf_band_test(rng.uniform(size=200) ** 3, alpha=alpha)
    assert 0 < gross.p_value <= alpha / m and not gross.passed
    assert gross.p_value == pytest.approx(sbc.ecdf_band_cdf(gross.statistic, 200), rel=1e-9)
    uniform = [sbc.ecdf_band_test(rng.uniform(size=200), alpha=alpha).p_value
               for _ in range(m - 1)]
    assert sbc.holm([gross.p_value, *uniform], alpha)[0]
    # all PIT values in one cell: the probability underflows; the p-value is floored, not 0
    extreme = sbc.ecdf_band_test(np.full(1000, 0.001), alpha=alpha)
    assert extreme.p_value == sbc.ECDF_MIN_P_VALUE and not extreme.passed


def test_size_at_the_holm_level_is_nominal():
    """Uniform data fail at p <= 0.01 / 25 = 4e-4 (Holm's first step for 25 quantities) at
    about that rate: 200 000 simulated ECDFs of N = 200 against the band at alpha = 4e-4 (the
    ECDF leaves the band exactly when p <= alpha). The old fixed null (2000 simulations, p = k /
    2000) failed only 0.22x as often. Every comparison at false-alarm rate 1e-6 (/3)."""
    n, level, n_sims = 200, 0.01 / 25, 200_000
    r = sbc.ecdf_band_test(np.random.default_rng(0).uniform(size=n), alpha=level)
    counts = simulated_counts(n, r.eval_points, n_sims, seed=2025)
    out = leaves_band(counts, r.lower, r.upper, n)
    lo, hi = binomial_interval(n_sims, level, FALSE_ALARM / 3)
    assert lo <= out.sum() <= hi, out.sum()
    # the exact size is a little below the level (the statistic is discrete) and matches
    size = exact_size(r)
    assert 0.9 * level < size <= level
    lo, hi = binomial_interval(n_sims, size, FALSE_ALARM / 3)
    assert lo <= out.sum() <= hi, (out.sum(), size)
    # Holm over 25 independent uniform quantities rejects one iff the smallest p <= 4e-4
    families = out.reshape(-1, 25).any(axis=1)
    family_rate = 1 - (1 - size) ** 25  # about 0.01
    lo, hi = binomial_interval(families.size, family_rate, FALSE_ALARM / 3)
    assert lo <= families.sum() <= hi, (families.sum(), family_rate)


def test_exact_size_matches_simulation_at_several_levels():
    """The exact null CDF against 100 000 simulated ECDFs (N = 150, K = 100) at five levels."""
    n, n_sims = 150, 100_000
    u = np.random.default_rng(1).uniform(size=n)
    counts = None
    for level in (0.3, 0.05, 0.01, 1e-3, 4e-4):
        r = sbc.ecdf_band_test(u, alpha=level)
        if counts is None:
            counts = simulated_counts(n, r.eval_points, n_sims, seed=77)
        size = exact_size(r)
        assert 0.85 * level < size <= level, (level, size)
        lo, hi = binomial_interval(n_sims, size, FALSE_ALARM / 5)
        assert lo <= leaves_band(counts, r.lower, r.upper, n).sum() <= hi, level


def test_ecdf_band_generator_rng_and_validation():
    u = np.random.default_rng(4).uniform(size=80)
    r1 = sbc.ecdf_band_test(u, rng=np.random.default_rng(9), n_simulations=300)
    r2 = sbc.ecdf_band_test(u, rng=np.random.default_rng(9), n_simulations=300)
    assert r1.p_value == r2.p_value and r1.gamma == r2.gamma
    default = sbc.ecdf_band_test(u, n_simulations=300)
    assert default.p_value == sbc.ecdf_band_test(u, rng=0, n_simulations=300).p_value
    with pytest.raises(UsageError, match="rng only with n_simulations"):
        sbc.ecdf_band_test(u, rng=0)  # the exact p-value uses no random numbers
    with pytest.raises(UsageError, match="alpha=1.5"):
        sbc.ecdf_band_test(u, alpha=1.5)
    with pytest.raises(UsageError, match=r"PIT values in \[0, 1\]"):
        sbc.ecdf_band_test(u + 1)
    with pytest.raises(UsageError, match="n_simulations=0"):
        sbc.ecdf_band_test(u, n_simulations=0)
    with pytest.raises(UsageError, match="n_points=1"):
        sbc.ecdf_band_test(u, n_points=1)


# ------------------------------------------------------------ agreement with ArviZ's own bands


def test_same_statistic_as_arviz_stats_on_the_same_uniform_draws():
    """arviz_stats' gamma is reproduced from our statistic on the same random stream.

    N = 128 makes ``k / N * N`` exact, so arviz's ``.astype(int)`` does not truncate counts.
    Two arviz quirks are emulated: ``bdtr(-1, ...)`` is nan, so when a count is 0 the upper-tail
    term is nan and Python's ``min(lower, nan)`` drops it; and gamma is a linearly interpolated
    quantile.
    """
    ecdf_utils = import_ecdf_utils()
    n, n_sims = 128, 200
    z = np.arange(1, n) / n
    gamma_arviz = ecdf_utils.simulate_confidence_bands(
        n, 1, z, 0.95, n_sims, np.random.default_rng(3)
    )
    draws = np.random.default_rng(3).uniform(0, 1, size=(n_sims, n))
    counts = np.array([np.searchsorted(np.sort(x), z, side="right") for x in draws])
    tails = sbc._tails(counts, n, z)
    lower_tail = special.bdtr(counts, n, z).min(axis=1)
    ours = tails.min(axis=1)
    emulated = np.where(np.any(counts == 0, axis=1), lower_tail, ours)
    assert np.quantile(1 - 2 * emulated, 0.95) == pytest.approx(gamma_arviz, abs=1e-14)
    assert np.all(ours <= emulated)  # the quirk can only make arviz's band narrower


def test_band_agrees_with_arviz_stats_simulated_band():
    n = 100
    ours = sbc.ecdf_band_test(np.full(n, 0.5), n_points=n)
    theirs = sbc.arviz_ecdf_band(n, n_points=n, n_simulations=1000, rng=1)
    assert theirs.source == "arviz_stats.ecdf_utils"
    np.testing.assert_array_equal(theirs.eval_points, ours.eval_points)
    # band limits differ by at most one count (simulation error in gamma)
    assert np.max(np.abs(np.rint((theirs.lower - ours.lower) * n))) <= 1
    assert np.max(np.abs(np.rint((theirs.upper - ours.upper) * n))) <= 1
    # both bands have level alpha within simulation error (ours: its exact size)
    lo, hi = binomial_999(20000, exact_size(ours))
    assert lo <= band_level(ours.lower, ours.upper, n, ours.eval_points) * 20000 <= hi
    level = band_level(theirs.lower, theirs.upper, n, ours.eval_points)
    assert abs(level - 0.05) < 4 * math.sqrt(0.05 * 0.95 / 1000) + 0.01


def test_band_agrees_with_arviz_exact_optimized_band():
    """arviz 0.x has the exact recursion of Saeilynoja et al. (``method="optimized"``)."""
    n = 100
    try:
        theirs = sbc.arviz_ecdf_band(n, n_points=n, method="optimized")
    except MissingDependency:
        pytest.skip("arviz 0.x (arviz.stats.ecdf_utils) is not installed")
    ours = sbc.ecdf_band_test(np.full(n, 0.5), n_points=n)
    assert np.max(np.abs(np.rint((theirs.lower - ours.lower) * n))) <= 1
    assert np.max(np.abs(np.rint((theirs.upper - ours.upper) * n))) <= 1
    assert abs(band_level(theirs.lower, theirs.upper, n, ours.eval_points) - 0.05) < 0.01


def test_arviz_ecdf_band_validates_method():
    with pytest.raises(UsageError, match="method='exact'"):
        sbc.arviz_ecdf_band(50, method="exact")


# ------------------------------------------------------------------------------ chi-square test


def test_chisq_p_values_are_uniform_under_the_null():
    rng = np.random.default_rng(7)
    for L, bins in ((99, 10), (100, 7)):  # even bins; near-even bins (widths 14 and 15)
        p = [sbc.chisq_test(rng.integers(0, L + 1, size=200), L, bins) for _ in range(500)]
        assert stats.kstest(p, "uniform").pvalue > 0.001, (L, bins)


def test_chisq_detects_skewed_ranks_and_uses_exact_bin_widths():
    rng = np.random.default_rng(8)
    skewed = np.floor(rng.uniform(size=300) ** 1.5 * 100).astype(int)
    assert sbc.chisq_test(skewed, 99, 10) < 1e-4
    # ranks 0..10 (L = 10) in 3 bins of widths 4, 3, 4: observed exactly proportional -> p = 1
    ranks = np.repeat(np.arange(11), 3)
    assert sbc.chisq_test(ranks, 10, 3) == pytest.approx(1.0)
    assert 0 < sbc.chisq_test(rng.integers(0, 100, size=50), 99) <= 1  # default bins
    with pytest.raises(UsageError, match="bins=12"):
        sbc.chisq_test(ranks, 10, 12)
    with pytest.raises(UsageError, match="bins=1"):
        sbc.chisq_test(ranks, 10, 1)


# ------------------------------------------------------------------ arviz-stats uniformity_test


def _pot_c(u):
    """Independent numpy version of pot_c (Tesso & Vehtari 2026, truncated Cauchy combination)."""
    x = np.sort(u)
    n = x.size
    i = np.arange(1, n + 1)
    cdf = special.betainc(i, n - i + 1, x)  # x_(i) ~ Beta(i, n - i + 1)
    p = 2 * np.minimum(cdf, 1 - cdf)
    t = np.mean(np.where(p < 0.5, np.tan((0.5 - p) * np.pi), 0.0))
    return 0.5 - np.arctan(t) / np.pi


@pytest.mark.skipif(not ARVIZ_STATS_1, reason="arviz-stats < 1 has no uniformity_test")
def test_uniformity_pvalue_with_arviz_stats_1():
    rng = np.random.default_rng(10)
    u = rng.uniform(size=200)
    p = sbc.uniformity_pvalue(u)
    assert 0 <= p <= 1 and p == pytest.approx(_pot_c(u), abs=1e-12)
    assert sbc.uniformity_pvalue(rng.uniform(size=200) ** 1.5) < 0.01
    assert 0 <= sbc.uniformity_pvalue(u, method="prit_c") <= 1
    pvals = [sbc.uniformity_pvalue(rng.uniform(size=100)) for _ in range(300)]
    lo, hi = binomial_999(300, 0.05)
    assert lo <= np.sum(np.array(pvals) <= 0.05) <= hi
    with pytest.raises(UsageError, match="method='ks'"):
        sbc.uniformity_pvalue(u, method="ks")


@pytest.mark.skipif(ARVIZ_STATS_1, reason="arviz-stats >= 1 has uniformity_test")
def test_uniformity_pvalue_raises_without_arviz_stats_1():
    with pytest.raises(MissingDependency, match="arviz-stats >= 1.0"):
        sbc.uniformity_pvalue(np.linspace(0.01, 0.99, 50))


# -------------------------------------------------------------------------------------- Holm


def test_holm_hand_computed():
    # sorted: 0.005 <= 0.05/4, 0.01 <= 0.05/3, 0.03 > 0.05/2 -> stop
    assert sbc.holm([0.01, 0.04, 0.03, 0.005], 0.05) == [True, False, False, True]
    assert sbc.holm([0.01, 0.02, 0.03], 0.05) == [True, True, True]  # 1/60, 1/40, 1/20
    assert sbc.holm([0.02, 0.001], 0.05) == [True, True]
    assert sbc.holm([0.04, 0.04], 0.05) == [False, False]
    assert sbc.holm([], 0.05) == []
    with pytest.raises(UsageError, match="p-values in"):
        sbc.holm([0.5, 1.5])
    with pytest.raises(UsageError, match="alpha=0"):
        sbc.holm([0.5], 0)


@PROPERTY
@given(
    p=st.lists(st.floats(0, 1), min_size=1, max_size=30),
    alpha=st.floats(0.001, 0.5),
)
def test_holm_between_bonferroni_and_unadjusted(p, alpha):
    reject = np.array(sbc.holm(p, alpha))
    p = np.array(p)
    assert np.all(reject[p <= alpha / p.size])  # at least Bonferroni
    assert not np.any(reject[p > alpha])  # at most unadjusted
    if reject.any() and not reject.all():  # rejects the smallest p-values only
        assert p[reject].max() <= p[~reject].min()
