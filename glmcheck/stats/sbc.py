"""Statistics of simulation-based calibration (METHODS.md section 1), numpy and scipy only.

SBC (Talts et al. 2018) draws theta* from the prior, simulates y, fits, and ranks theta* among L
(thinned) posterior draws. If simulator and inference agree the rank is uniform on {0, ..., L}.
This module turns ranks into tests; it knows nothing about PyMC:

- :func:`rank` / :func:`ranks`: rank of the true value, ties broken uniformly at random;
- :func:`thin` / :func:`auto_thin_factor`: thin (chain, draw, ...) arrays by a fixed factor or to
  about the effective sample size;
- :func:`pit`: PIT values ``u = (r + U) / (L + 1)``, continuous uniform on (0, 1) under the null;
- :func:`ecdf_band_test`: the simultaneous ECDF band test of Saeilynoja, Buerkner & Vehtari
  (2022), with a Monte Carlo p-value so that callers can correct across parameters;
- :func:`chisq_test`: the classic chi-square test of binned ranks (weaker fallback);
- :func:`uniformity_pvalue`: arviz-stats 1.x ``uniformity_test`` (``pot_c``) on PIT values;
- :func:`holm`: Holm-Bonferroni step-down rejections (family-wise error control).

Why :func:`ecdf_band_test` uses its own simulation. arviz-stats (0.8 and 1.x) has the simulation
method in ``arviz_stats.ecdf_utils.simulate_confidence_bands``, but it returns only the
(1 - alpha)-quantile gamma, not the simulated null distribution, and a p-value ("the smallest
alpha at which the test fails") needs that distribution. The own implementation uses the same
statistic, the same evaluation grid (``z_i = i / K``) and the same band construction (central
Binomial(N, z) intervals at level gamma); :func:`arviz_ecdf_band` returns arviz's own band so that
the two can be compared (the tests do). Two differences from arviz-stats, both deliberate: the
counts are kept as integers (arviz computes ``(ecdf * N).astype(int)``, which truncates e.g.
29/100 * 100 = 28.999... to 28), and gamma is an order statistic of the simulated values rather
than a linearly interpolated quantile, which makes ``p_value <= alpha`` hold exactly when the ECDF
leaves the band.
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
    "arviz_ecdf_band",
    "chisq_test",
    "uniformity_pvalue",
    "holm",
    "DEFAULT_SIMULATIONS",
    "DEFAULT_MAX_POINTS",
]

#: simulated uniform samples behind gamma and the p-value of :func:`ecdf_band_test`
DEFAULT_SIMULATIONS = 2000
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
    is the central Binomial(n, z) interval of pointwise level ``gamma``. ``p_value`` is the
    fraction of simulated uniform samples whose statistic (the smallest two-sided binomial tail
    probability over the grid) is <= the observed one: the smallest alpha at which the test
    fails, so ``passed == (p_value > alpha)``. Its resolution is ``1 / n_simulations`` and it is
    0 when the data are more extreme than every simulation.
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
    n_simulations: int

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


def _tails(counts: np.ndarray, n: int, z: np.ndarray) -> np.ndarray:
    """min(P(K <= k), P(K >= k)) for K ~ Binomial(n, z), elementwise."""
    counts = np.asarray(counts, dtype=np.int64)
    lower = special.bdtr(counts, n, z)
    upper = np.where(counts > 0, special.bdtrc(counts - 1, n, z), 1.0)
    return np.minimum(lower, upper)


def _statistic(counts: np.ndarray, n: int, z: np.ndarray) -> np.ndarray:
    """Smallest two-sided tail probability over the grid (last axis); small = non-uniform."""
    return _tails(counts, n, z).min(axis=-1)


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
    """Sorted null distribution of the band statistic for samples of ``n`` uniforms.

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
    n_simulations: int = DEFAULT_SIMULATIONS,
    n_points: int | None = None,
) -> EcdfBandResult:
    """Simultaneous ECDF band test of uniformity (Saeilynoja, Buerkner & Vehtari 2022).

    ``u`` are N PIT values. The grid is ``z_i = i / K``, ``i = 1..K-1``, with ``K = n_points`` or
    ``min(N, 100)`` (arviz-stats uses K = N). Under uniformity the count ``N F(z)`` is
    Binomial(N, z); the statistic is the smallest two-sided tail probability
    ``min_z min(P(K <= k), P(K >= k))``. Its null distribution is simulated from
    ``n_simulations`` uniform samples (``rng``: a Generator, or an int seed / None =
    ``DEFAULT_BAND_SEED``, which caches the simulation); the threshold ``t`` is the order statistic
    that makes the test reject with probability at most ``alpha``, the pointwise level is
    ``gamma = 1 - 2 t`` and the band holds the counts whose two tails are both >= t.
    """
    u = _pit_array(u)
    alpha = _alpha(alpha)
    n = u.size
    null = ecdf_band_null(n, n_points=n_points, n_simulations=n_simulations, rng=rng)
    size = null.size
    z = _grid(n, n_points)

    counts = np.searchsorted(np.sort(u), z, side="right")
    statistic = float(_statistic(counts, n, z))
    n_below = int(np.searchsorted(null, statistic, side="right"))  # simulations <= observed
    p_value = n_below / size
    # k = largest index with k / size <= alpha (in floating point, as p_value is computed)
    k = min(int(math.floor(alpha * size)), size - 1)
    while k + 1 < size and (k + 1) / size <= alpha:
        k += 1
    while k > 0 and k / size > alpha:
        k -= 1
    threshold = float(null[k])
    lower, upper = _band_counts(threshold, n, z)
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
