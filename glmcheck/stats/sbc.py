"""Statistics of simulation-based calibration, numpy and scipy only.

SBC (Talts, Betancourt, Simpson, Vehtari & Gelman 2018, arXiv:1804.06788) draws theta* from the
prior, simulates y, fits, and ranks theta* among L (thinned) posterior draws. If simulator and
inference agree the rank is uniform on {0, ..., L}. This module turns ranks into tests; it knows
nothing about PyMC:

- :func:`rank` / :func:`ranks`: rank of the true value, ties broken uniformly at random;
- :func:`thin` / :func:`auto_thin_factor`: thin (chain, draw, ...) arrays by a fixed factor or to
  about the effective sample size;
- :func:`pit`: PIT values ``u = (r + U) / (L + 1)``, continuous uniform on (0, 1) under the null;
- :func:`ecdf_band_test`: the simultaneous ECDF band test of Saeilynoja, Buerkner & Vehtari
  (2022, Statistics and Computing 32:32), with an exact p-value (:func:`ecdf_band_cdf`) so that
  callers can correct across parameters (Holm needs p-values down to alpha / m);
- :func:`chisq_test`: the classic chi-square test of binned ranks (weaker fallback);
- :func:`uniformity_pvalue`: arviz-stats 1.x ``uniformity_test`` (``pot_c``) on PIT values;
- :func:`holm`: Holm-Bonferroni step-down rejections (family-wise error control).

Why :func:`ecdf_band_test` has its own null distribution. arviz-stats (0.8 and 1.x) has the
simulation method in ``arviz_stats.ecdf_utils.simulate_confidence_bands``, but it returns only the
(1 - alpha)-quantile gamma, not the null distribution, and a p-value ("the smallest alpha at which
the test fails") needs that distribution. The own implementation uses the same statistic, the
same evaluation grid (``z_i = i / K``) and the same band construction (central Binomial(N, z)
intervals at level gamma), but computes the null distribution of the statistic exactly, by a
recursion over the grid like the one behind the optimization-based band of Saeilynoja et al.
(2022) (a simulated null, :func:`ecdf_band_null`, remains available). :func:`arviz_ecdf_band`
returns arviz's own band so that the two can be compared (the tests do). Two further
differences from arviz-stats, both deliberate: the counts are kept as integers (arviz computes
``(ecdf * N).astype(int)``, which truncates e.g. 29/100 * 100 = 28.999... to 28), and gamma comes
from an attainable value of the statistic rather than a linearly interpolated quantile, which
makes ``p_value <= alpha`` hold exactly when the ECDF leaves the band.
"""

from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from glmcheck.errors import MissingDependency, UsageError

__all__ = [
    "EcdfBandResult",
    "ArvizBand",
    "rank",
    "ranks",
    "thin",
    "auto_thin_factor",
    "pit",
    "ecdf_band_test",
    "ecdf_band_null",
    "ecdf_band_cdf",
    "arviz_ecdf_band",
    "chisq_test",
    "uniformity_pvalue",
    "holm",
    "DEFAULT_SIMULATIONS",
    "DEFAULT_MAX_POINTS",
    "ECDF_MIN_P_VALUE",
]

#: default size of the simulated null of :func:`ecdf_band_null`
DEFAULT_SIMULATIONS = 2000
#: the exact p-value of :func:`ecdf_band_test` is reported as at least this (where it underflows)
ECDF_MIN_P_VALUE = 1e-300
#: the default grid has K = min(N, DEFAULT_MAX_POINTS) cells, i.e. K - 1 interior points
DEFAULT_MAX_POINTS = 100
#: the default seed of the band simulation, so that the band is a fixed function of N
DEFAULT_BAND_SEED = 0

_UNIFORMITY_METHODS = ("pot_c", "prit_c", "piet_c")


# --------------------------------------------------------------------------------- validation


def _as_rng(rng, name: str = "rng") -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, numbers.Integral) and not isinstance(rng, bool)):
        if rng is not None and rng < 0:
            raise UsageError(f"expected a non-negative seed but got {name}={rng}")
        return np.random.default_rng(rng)
    raise UsageError(f"expected a numpy Generator, an int seed or None but got {name}={rng!r}")


def _positive_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise UsageError(f"expected an integer >= {minimum} but got {name}={value!r}")
    return int(value)


def _alpha(alpha) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 < alpha < 1:
        raise UsageError(f"expected 0 < alpha < 1 but got alpha={alpha!r}")
    return float(alpha)


def _finite_array(values, name: str, ndim: int | None = None) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise UsageError(f"expected a numeric array but got {name}={values!r}") from None
    if ndim is not None and array.ndim != ndim:
        raise UsageError(f"expected a {ndim}-d array but got {name} with shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise UsageError(f"expected finite values but got non-finite entries in {name}")
    return array


def _rank_array(values, L: int, name: str = "ranks") -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1 or array.size == 0:
        raise UsageError(f"expected a non-empty 1-d array but got {name} with shape {array.shape}")
    if array.dtype.kind not in "iuf" or not np.all(np.isfinite(array)):
        raise UsageError(f"expected integer ranks but got {name} of dtype {array.dtype}")
    if array.dtype.kind == "f" and not np.all(array == np.round(array)):
        raise UsageError(f"expected integer ranks but got non-integer values in {name}")
    array = array.astype(np.int64)
    if array.min() < 0 or array.max() > L:
        raise UsageError(
            f"expected ranks in [0, L={L}] but got {name} in [{array.min()}, {array.max()}]"
        )
    return array


def _pit_array(u, name: str = "u") -> np.ndarray:
    array = _finite_array(u, name, ndim=1)
    if array.size == 0:
        raise UsageError(f"expected at least one PIT value but got {name} with shape (0,)")
    if array.min() < 0 or array.max() > 1:
        raise UsageError(
            f"expected PIT values in [0, 1] but got {name} in [{array.min()}, {array.max()}]"
        )
    return array


# --------------------------------------------------------------------------------------- ranks


def rank(true_value: float, draws: np.ndarray, rng) -> int:
    """Rank of ``true_value`` among the L ``draws``: #draws < true value, ties broken at random.

    With ``n_ties`` draws equal to the true value, a uniform integer in ``[0, n_ties]`` is added,
    so that the rank is uniform on ``{0, ..., L}`` under the null even for discrete parameters.
    """
    if isinstance(true_value, bool) or not isinstance(true_value, numbers.Real):
        raise UsageError(f"expected a real true value but got true_value={true_value!r}")
    if not math.isfinite(true_value):
        raise UsageError(f"expected a finite true value but got true_value={true_value}")
    draws = _finite_array(draws, "draws", ndim=1)
    if draws.size == 0:
        raise UsageError("expected at least one draw but got draws with shape (0,)")
    rng = _as_rng(rng)
    below = int(np.count_nonzero(draws < true_value))
    ties = int(np.count_nonzero(draws == true_value))
    return below + (int(rng.integers(0, ties + 1)) if ties else 0)


def ranks(true_values: np.ndarray, draws: np.ndarray, rng) -> np.ndarray:
    """Vectorised :func:`rank`: true_values (n_params,), draws (L, n_params) -> (n_params,)."""
    true_values = _finite_array(true_values, "true_values", ndim=1)
    draws = _finite_array(draws, "draws", ndim=2)
    if draws.shape[0] == 0 or draws.shape[1] != true_values.shape[0]:
        raise UsageError(
            f"expected draws of shape (L >= 1, {true_values.shape[0]}) but got draws with shape "
            f"{draws.shape}"
        )
    rng = _as_rng(rng)
    below = np.count_nonzero(draws < true_values, axis=0)
    ties = np.count_nonzero(draws == true_values, axis=0)
    return (below + rng.integers(0, ties + 1)).astype(np.int64)


# -------------------------------------------------------------------------------------- thinning


def thin(draws: np.ndarray, factor: int) -> np.ndarray:
    """Keep every ``factor``-th draw of each chain of an array shaped (chain, draw, ...).

    Starts at draw 0, as ``arviz_stats.thin`` does.
    """
    factor = _positive_int(factor, "factor")
    array = np.asarray(draws)
    if array.ndim < 2:
        raise UsageError(
            f"expected an array shaped (chain, draw, ...) but got draws with shape {array.shape}"
        )
    return array[:, ::factor]


def auto_thin_factor(ess, n_total: int) -> int:
    """Thinning factor that leaves about ESS draws: ``max(1, floor(n_total / ess))``.

    ``ess`` should be min(bulk ESS, tail ESS) as ``arviz_stats.thin(factor="auto")`` uses; an
    array of ESS values (one per parameter) is reduced with ``min``, the conservative choice
    (arviz-stats' ``thin_factor(reduce_func="min")`` also uses floor). An ESS above ``n_total``
    (antithetic chains) gives 1.
    """
    n_total = _positive_int(n_total, "n_total")
    ess_array = _finite_array(ess, "ess")
    if ess_array.size == 0 or np.any(ess_array <= 0):
        raise UsageError(f"expected positive ESS values but got ess={ess!r}")
    return max(1, int(math.floor(n_total / float(ess_array.min()))))


# ------------------------------------------------------------------------------------------- PIT


def pit(ranks: np.ndarray, L: int, rng) -> np.ndarray:
    """PIT values ``u = (r + U) / (L + 1)``, ``U ~ Uniform(0, 1)``, from the known ``L``.

    Under the null (r uniform on {0..L}) ``u`` is continuous uniform on (0, 1). ``L`` must be the
    number of draws each rank was taken among, never ``max(ranks)``. The values lie strictly
    inside (0, 1).
    """
    L = _positive_int(L, "L")
    r = _rank_array(ranks, L)
    rng = _as_rng(rng)
    # U on the midpoints of a 2**53 grid: uniform and never exactly 0 or 1
    jitter = (rng.integers(0, 2**53, size=r.shape).astype(float) + 0.5) / 2.0**53
    u = (r + jitter) / (L + 1)
    return np.clip(u, np.nextafter(0.0, 1.0), np.nextafter(1.0, 0.0))


# ------------------------------------------------------------------------------ ECDF band test


@dataclass(frozen=True, eq=False)
class EcdfBandResult:
    """Outcome of :func:`ecdf_band_test`.

    ``lower``, ``upper`` and ``ecdf`` are ECDF values (counts / n) at ``eval_points``; the band
    is the central Binomial(n, z) interval of pointwise level ``gamma``: the counts whose two
    binomial tail probabilities are both >= ``threshold``. ``p_value`` is the probability, for n
    uniforms, of a statistic (the smallest two-sided binomial tail probability over the grid)
    <= the observed one. ``method="exact"``: computed exactly (:func:`ecdf_band_cdf`), never 0
    (values below 1e-300, where floating point underflows, are reported as
    ``ECDF_MIN_P_VALUE``, which is conservative). ``method="simulated"``: the Monte Carlo p-value
    ``(1 + k) / (1 + S)`` with k of ``S = n_simulations`` simulated statistics <= the observed
    one, never below ``1 / (1 + S)``; ``n_simulations`` is S, or None for the exact p-value.
    Either way ``passed == (p_value > alpha)`` and the ECDF
    leaves the band exactly when the test fails.
    """

    passed: bool
    p_value: float
    alpha: float
    gamma: float
    statistic: float
    threshold: float
    eval_points: np.ndarray
    ecdf: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    n: int
    n_simulations: int | None
    method: str = "exact"

    @property
    def outside(self) -> np.ndarray:
        """Evaluation points where the ECDF leaves the band."""
        mask = (self.ecdf < self.lower) | (self.ecdf > self.upper)
        return self.eval_points[mask]


def _grid(n: int, n_points: int | None) -> np.ndarray:
    if n_points is None:
        cells = max(min(n, DEFAULT_MAX_POINTS), 2)
    else:
        cells = _positive_int(n_points, "n_points", 2)
    return np.arange(1, cells) / cells


def _tail_pair(counts: np.ndarray, n: int, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P(K <= k) and P(K >= k) for K ~ Binomial(n, z), elementwise."""
    counts = np.asarray(counts, dtype=np.int64)
    lower = special.bdtr(counts, n, z)
    upper = np.where(counts > 0, special.bdtrc(counts - 1, n, z), 1.0)
    return lower, upper


def _tails(counts: np.ndarray, n: int, z: np.ndarray) -> np.ndarray:
    """min(P(K <= k), P(K >= k)) for K ~ Binomial(n, z), elementwise."""
    return np.minimum(*_tail_pair(counts, n, z))


def _statistic(counts: np.ndarray, n: int, z: np.ndarray) -> np.ndarray:
    """Smallest two-sided tail probability over the grid (last axis); small = non-uniform."""
    return _tails(counts, n, z).min(axis=-1)


# ---- the exact null distribution of the statistic


class _ExactNull:
    """Exact null CDF of the band statistic for n uniforms on the grid ``z_i = i / K``.

    ``T = min_i tail_i(N F(z_i))`` is <= v unless every cumulative count stays in the set of
    counts whose two tails are both > v. The probability of staying inside is a recursion over
    the K cells: the multinomial counts of n uniforms in K equal cells are independent
    Poisson(n / K) counts conditioned on their sum being n (the device of Moscovich & Nadler
    2017, Statistics & Probability Letters 123, for boundary-crossing probabilities; Saeilynoja
    et al. 2022 compute their optimization-based band with a recursion of this kind), so
    ``pi_i(j) = P(counts inside before i, S_i = j)`` is a convolution of the previous
    ``pi`` with the Poisson(n / K) pmf, and the probability of leaving the set is accumulated
    as a sum of positive first-exit terms ``pi_i(j) P(Poisson(n (K - i) / K) = n - j)`` (divided
    by ``P(Poisson(n) = n)``), so that small probabilities keep their relative accuracy.
    """

    def __init__(self, n: int, n_cells: int) -> None:
        self.n, self.cells = n, n_cells
        z = np.arange(1, n_cells) / n_cells
        k = np.arange(n + 1)
        # exactly the floating-point values that _statistic computes for these counts
        self.lower, self.upper = _tail_pair(k[None, :], n, z[:, None])
        values = np.unique(np.minimum(self.lower, self.upper))
        self.values = values
        mu = n / n_cells
        self.kernel = _poisson_pmf(k, mu)
        self.kernel = self.kernel[: int(np.flatnonzero(self.kernel)[-1]) + 1]
        # finish[i, j] = P(Poisson(mu (K - 1 - i)) = n - j): the cells after grid point i + 1
        remaining = mu * (n_cells - 1 - np.arange(n_cells - 1))
        self.finish = _poisson_pmf((n - k)[None, :], remaining[:, None])
        self.norm = float(_poisson_pmf(np.array(n), float(n)))
        self._thresholds: dict[float, tuple[float, float, float]] = {}

    def exit_probability(self, inside: np.ndarray) -> float:
        """P(some cumulative count leaves ``inside``), a (K - 1) x (n + 1) boolean table."""
        n = self.n
        pi = self.kernel[: n + 1]  # S_1 = the first cell's count, for S_1 = 0..len(pi) - 1
        offset = 0
        exits = 0.0
        for i in range(self.cells - 1):
            support = np.arange(offset, offset + pi.size)
            ok = inside[i, support]
            exits += float(pi[~ok] @ self.finish[i, support[~ok]])
            where = np.flatnonzero(ok)
            if where.size == 0:
                return exits / self.norm
            lo, hi = int(where[0]), int(where[-1])
            pi = np.where(ok[lo : hi + 1], pi[lo : hi + 1], 0.0)
            offset += lo
            if i < self.cells - 2:
                pi = np.convolve(pi, self.kernel)[: n + 1 - offset]
        return exits / self.norm

    def cdf(self, v: float) -> float:
        """P(T <= v) under uniformity."""
        inside = (self.lower > v) & (self.upper > v)
        return min(self.exit_probability(inside), 1.0)

    def threshold(self, alpha: float) -> tuple[float, float, float]:
        """The smallest attainable value t with P(T <= t) > alpha, P(T <= t), and P(T < t)."""
        if alpha not in self._thresholds:
            values = self.values
            lo, hi = -1, values.size - 1  # cdf(values[lo]) <= alpha < cdf(values[hi])
            f_lo, f_hi = 0.0, self.cdf(float(values[hi]))
            while hi - lo > 1:
                mid = (lo + hi) // 2
                f_mid = self.cdf(float(values[mid]))
                if f_mid > alpha:
                    hi, f_hi = mid, f_mid
                else:
                    lo, f_lo = mid, f_mid
            self._thresholds[alpha] = (float(values[hi]), f_hi, f_lo)
        return self._thresholds[alpha]

    def band(self, threshold: float) -> tuple[np.ndarray, np.ndarray]:
        """Smallest and largest count with both tails >= threshold, per grid point."""
        ok = (self.lower >= threshold) & (self.upper >= threshold)
        k = np.arange(self.n + 1)
        lower = np.where(ok, k, self.n + 1).min(axis=1)
        upper = np.where(ok, k, -1).max(axis=1)
        return lower, upper


def _poisson_pmf(k: np.ndarray, mu) -> np.ndarray:
    k = np.asarray(k, dtype=float)
    mu = np.asarray(mu, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.exp(special.xlogy(k, mu) - mu - special.gammaln(k + 1))
    return np.where(k >= 0, out, 0.0)


@functools.lru_cache(maxsize=8)
def _exact_null(n: int, n_cells: int) -> _ExactNull:
    return _ExactNull(n, n_cells)


def ecdf_band_cdf(statistic: float, n: int, n_points: int | None = None) -> float:
    """Exact ``P(T <= statistic)`` for the band statistic T of n uniforms (see ``_ExactNull``).

    The grid is that of :func:`ecdf_band_test` (``n_points`` cells, default ``min(n, 100)``).
    Cost: O(K n w) for K cells and band width w, a few ms for n = 200 and K = 100.
    """
    n = _positive_int(n, "n")
    z = _grid(n, n_points)
    if isinstance(statistic, bool) or not isinstance(statistic, numbers.Real):
        raise UsageError(f"expected a real statistic but got statistic={statistic!r}")
    return _exact_null(n, z.size + 1).cdf(float(statistic))


# ---- the simulated null distribution of the statistic


def _simulate_null(n: int, z: np.ndarray, n_simulations: int, rng: np.random.Generator):
    # the ECDF counts of n uniforms at the grid are cumulative multinomial counts over the cells
    cells = np.diff(np.concatenate(([0.0], z, [1.0])))
    out = np.empty(n_simulations)
    block = max(1, 2_000_000 // max(z.size, 1))
    for start in range(0, n_simulations, block):
        size = min(block, n_simulations - start)
        counts = np.cumsum(rng.multinomial(n, cells, size=size), axis=1)[:, :-1]
        out[start : start + size] = _statistic(counts, n, z)
    out.sort()
    out.setflags(write=False)
    return out


@functools.lru_cache(maxsize=64)
def _cached_null(n: int, n_cells: int, n_simulations: int, seed: int) -> np.ndarray:
    z = np.arange(1, n_cells) / n_cells
    return _simulate_null(n, z, n_simulations, np.random.default_rng(seed))


def ecdf_band_null(
    n: int, n_points: int | None = None, n_simulations: int = DEFAULT_SIMULATIONS, rng=None
) -> np.ndarray:
    """Sorted simulated null distribution of the band statistic for samples of ``n`` uniforms.

    ``rng`` is a Generator (fresh simulation) or an int seed / None (= ``DEFAULT_BAND_SEED``;
    cached per ``(n, grid, n_simulations, seed)``). The result is read-only.
    """
    n = _positive_int(n, "n")
    n_simulations = _positive_int(n_simulations, "n_simulations")
    z = _grid(n, n_points)
    if rng is None or (isinstance(rng, numbers.Integral) and not isinstance(rng, bool)):
        seed = DEFAULT_BAND_SEED if rng is None else int(rng)
        if seed < 0:
            raise UsageError(f"expected a non-negative seed but got rng={rng}")
        return _cached_null(n, z.size + 1, n_simulations, seed)
    return _simulate_null(n, z, n_simulations, _as_rng(rng))


def _band_counts(threshold: float, n: int, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Counts k with both tails >= threshold at each z: [lo, hi] (binary search, exact)."""

    def search(ok_at):  # smallest k in [0, n] with ok_at(k) True; ok_at monotone False -> True
        lo = np.zeros(z.shape, dtype=np.int64)
        hi = np.full(z.shape, n, dtype=np.int64)
        while np.any(lo < hi):
            mid = (lo + hi) // 2
            ok = ok_at(mid)
            hi = np.where(ok, mid, hi)
            lo = np.where(ok, lo, mid + 1)
        return lo

    lower = search(lambda k: special.bdtr(k, n, z) >= threshold)
    # largest k with P(K >= k) >= t  ==  (smallest k with P(K >= k + 1) < t)
    upper = search(lambda k: np.where(k < n, special.bdtrc(k, n, z), 0.0) < threshold)
    return lower, upper


def ecdf_band_test(
    u: np.ndarray,
    alpha: float = 0.05,
    rng=None,
    n_simulations: int | None = None,
    n_points: int | None = None,
) -> EcdfBandResult:
    """Simultaneous ECDF band test of uniformity (Saeilynoja, Buerkner & Vehtari 2022).

    ``u`` are N PIT values. The grid is ``z_i = i / K``, ``i = 1..K-1``, with ``K = n_points`` or
    ``min(N, 100)`` (arviz-stats uses K = N). Under uniformity the count ``N F(z)`` is
    Binomial(N, z); the statistic is the smallest two-sided tail probability
    ``T = min_z min(P(K <= k), P(K >= k))``, small for non-uniform values.

    p-value. By default (``n_simulations=None``) it is exact: ``p = P(T <= T_obs)`` for N
    uniforms, computed by a recursion over the grid cells (:func:`ecdf_band_cdf`; Saeilynoja et
    al. 2022 use such a recursion for the band), so it is never 0 and resolves the levels that
    Holm's procedure needs (``alpha / m`` for m quantities) at any N. It costs a few ms per call
    once the threshold for (N, K, alpha) is cached (about 0.1 s cold for N = 200, K = 100).
    With ``n_simulations = S`` the null is simulated instead (``rng``: a Generator, or an int
    seed / None = ``DEFAULT_BAND_SEED``, which caches the simulation) and the p-value is the
    standard Monte Carlo one, ``(1 + #{simulated T <= T_obs}) / (1 + S)`` (Davison & Hinkley
    1997, section 4.2.1; North, Curtis & Sham 2002), which is valid but cannot go below
    ``1 / (1 + S)``.

    The band. The threshold ``t`` is the smallest attainable statistic with ``P(T <= t) > alpha``
    (exact) or the matching order statistic (simulated); the band holds the counts whose two
    tails are both >= t, with pointwise level ``gamma = 1 - 2 t``. So the ECDF leaves the band
    exactly when ``p_value <= alpha``, i.e. ``passed == (p_value > alpha)``.
    """
    u = _pit_array(u)
    alpha = _alpha(alpha)
    n = u.size
    z = _grid(n, n_points)
    counts = np.searchsorted(np.sort(u), z, side="right")
    statistic = float(_statistic(counts, n, z))
    if n_simulations is None:
        if rng is not None:
            raise UsageError(
                "expected rng only with n_simulations (the default p-value is exact and uses no "
                f"random numbers) but got rng={rng!r}"
            )
        null = _exact_null(n, z.size + 1)
        threshold, f_at, f_below = null.threshold(alpha)
        p_value = null.cdf(statistic)
        # P(T <= v) is non-decreasing in v; keep the rounding of two evaluations consistent
        if statistic >= threshold:
            p_value = max(p_value, f_at)  # > alpha
        else:  # <= alpha, and > 0 where the probability underflows
            p_value = max(min(p_value, f_below), min(ECDF_MIN_P_VALUE, alpha))
        lower, upper = null.band(threshold)
        size, method = None, "exact"
    else:
        n_simulations = _positive_int(n_simulations, "n_simulations")
        sims = ecdf_band_null(n, n_points=n_points, n_simulations=n_simulations, rng=rng)
        size = sims.size
        n_below = int(np.searchsorted(sims, statistic, side="right"))  # simulations <= observed
        p_value = (1 + n_below) / (1 + size)
        # passed <=> (1 + n_below) / (1 + size) > alpha <=> n_below >= m (m: smallest such)
        m = max(int(math.floor(alpha * (1 + size))) - 1, 0)
        while (1 + m) / (1 + size) <= alpha:
            m += 1
        while m > 0 and m / (1 + size) > alpha:
            m -= 1
        threshold = float(sims[m - 1]) if m > 0 else 0.0  # n_below >= m <=> T >= sims[m - 1]
        lower, upper = _band_counts(threshold, n, z)
        method = "simulated"
    return EcdfBandResult(
        passed=bool(statistic >= threshold),
        p_value=float(p_value),
        alpha=alpha,
        gamma=1.0 - 2.0 * threshold,
        statistic=statistic,
        threshold=threshold,
        eval_points=z,
        ecdf=counts / n,
        lower=lower / n,
        upper=upper / n,
        n=n,
        n_simulations=size,
        method=method,
    )


@dataclass(frozen=True, eq=False)
class ArvizBand:
    """A simultaneous ECDF band computed by ArviZ itself (for comparison with the own one)."""

    source: str
    gamma: float | None
    eval_points: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


def arviz_ecdf_band(
    n: int,
    alpha: float = 0.05,
    n_points: int | None = None,
    n_simulations: int = 1000,
    rng=None,
    method: str = "simulated",
) -> ArvizBand:
    """The (1 - alpha) simultaneous band for n uniforms, computed by the installed ArviZ.

    - ``method="simulated"``: ``arviz_stats.ecdf_utils.simulate_confidence_bands`` and
      ``get_pointwise_confidence_band`` (arviz-stats 0.8 and 1.x);
    - ``method="optimized"``: the exact-recursion band of arviz 0.x,
      ``arviz.stats.ecdf_utils.ecdf_confidence_band(method="optimized")`` (gamma not exposed).

    Raises :class:`MissingDependency` when the installed ArviZ lacks the function.
    """
    n = _positive_int(n, "n")
    alpha = _alpha(alpha)
    n_simulations = _positive_int(n_simulations, "n_simulations")
    z = _grid(n, n_points)
    if method == "simulated":
        try:
            from arviz_stats import ecdf_utils  # noqa: PLC0415 - optional, imported lazily
        except ImportError as exc:
            raise MissingDependency(f"arviz_ecdf_band needs arviz-stats: {exc}") from None
        if not hasattr(ecdf_utils, "simulate_confidence_bands"):
            raise MissingDependency(
                "the installed arviz_stats.ecdf_utils has no simulate_confidence_bands"
            )
        gamma = float(
            ecdf_utils.simulate_confidence_bands(n, 1, z, 1 - alpha, n_simulations, _as_rng(rng))
        )
        lower, upper = ecdf_utils.get_pointwise_confidence_band(gamma, n, z)
        return ArvizBand("arviz_stats.ecdf_utils", gamma, z, np.asarray(lower), np.asarray(upper))
    if method == "optimized":
        try:
            from arviz.stats.ecdf_utils import ecdf_confidence_band  # noqa: PLC0415
        except ImportError:
            raise MissingDependency(
                "method='optimized' needs arviz 0.x (arviz.stats.ecdf_utils.ecdf_confidence_band)"
            ) from None
        lower, upper = ecdf_confidence_band(n, z, z, prob=1 - alpha, method="optimized")
        return ArvizBand("arviz.stats.ecdf_utils", None, z, np.asarray(lower), np.asarray(upper))
    raise UsageError(f"expected method 'simulated' or 'optimized' but got method={method!r}")


# ------------------------------------------------------------------------------ chi-square test


def chisq_test(ranks: np.ndarray, L: int, bins: int | None = None) -> float:
    """Chi-square test that ranks are uniform on {0..L}; returns the p-value.

    The L + 1 rank values are cut into ``bins`` contiguous bins of (near-)equal width, with
    integer edges ``round(j (L + 1) / bins)``; expected counts are N * width / (L + 1) from the
    exact widths. Default ``bins``: ``min(L + 1, 20, max(2, N // 5))`` (expected count >= 5 when
    possible). This is the classic, weaker fallback to :func:`ecdf_band_test`.
    """
    L = _positive_int(L, "L")
    r = _rank_array(ranks, L)
    n = r.size
    if bins is None:
        bins = min(L + 1, 20, max(2, n // 5))
    bins = _positive_int(bins, "bins", 2)
    if bins > L + 1:
        raise UsageError(f"expected 2 <= bins <= L + 1 = {L + 1} but got bins={bins}")
    edges = np.rint(np.arange(bins + 1) * (L + 1) / bins).astype(np.int64)
    widths = np.diff(edges)
    observed = np.bincount(np.searchsorted(edges, r, side="right") - 1, minlength=bins)
    expected = n * widths / (L + 1)
    statistic = float(np.sum((observed - expected) ** 2 / expected))
    return float(stats.chi2.sf(statistic, bins - 1))


# ------------------------------------------------------------------- arviz-stats uniformity_test


def uniformity_pvalue(u: np.ndarray, method: str = "pot_c") -> float:
    """p-value of arviz-stats 1.x ``uniformity_test`` on PIT values (Tesso & Vehtari 2026).

    ``method``: ``"pot_c"`` (order statistics, truncated Cauchy combination), ``"prit_c"`` or
    ``"piet_c"``. Raises :class:`MissingDependency` (a :class:`UsageError`) when the installed
    arviz-stats has no ``uniformity_test`` (arviz 0.x stacks ship arviz-stats 0.8, which lacks it).
    """
    u = _pit_array(u)
    if method not in _UNIFORMITY_METHODS:
        raise UsageError(f"expected method in {_UNIFORMITY_METHODS} but got method={method!r}")
    try:
        from arviz_stats.base import array_stats  # noqa: PLC0415 - optional, imported lazily
    except ImportError as exc:
        raise MissingDependency(f"uniformity_pvalue needs arviz-stats >= 1.0: {exc}") from None
    if not hasattr(array_stats, "uniformity_test"):
        from arviz_stats import __version__  # noqa: PLC0415

        raise MissingDependency(
            "uniformity_pvalue needs arviz-stats >= 1.0 (uniformity_test); "
            f"installed: {__version__}"
        )
    p_value, _, _ = array_stats.uniformity_test(u, axis=-1, method=method)
    return float(p_value)


# ---------------------------------------------------------------------------------- multiplicity


def holm(pvalues, alpha: float = 0.05) -> list[bool]:
    """Holm-Bonferroni step-down: which hypotheses to reject at family-wise level ``alpha``.

    Sort the m p-values ascending and reject p_(i) (i = 1..m) while p_(i) <= alpha / (m - i + 1);
    stop at the first that fails. Returns one bool per input, in input order.
    """
    alpha = _alpha(alpha)
    p = _finite_array(pvalues, "pvalues", ndim=1)
    if np.any((p < 0) | (p > 1)):
        raise UsageError(f"expected p-values in [0, 1] but got pvalues={list(p)}")
    m = p.size
    reject = np.zeros(m, dtype=bool)
    for i, index in enumerate(np.argsort(p, kind="stable")):
        if p[index] > alpha / (m - i):
            break
        reject[index] = True
    return [bool(x) for x in reject]
