"""Exact reference posterior of a Gaussian linear model.

Model::

    y ~ N(X beta, sigma^2 I),   beta_j ~ N(m_j, s_j^2) independently,   sigma ~ p(sigma)

with ``p(sigma)`` any one-dimensional density given as a log-density function of sigma
(it need not be normalised). This is the conditionally conjugate grid technique of Gelman et
al., Bayesian Data Analysis, 3rd ed. (2013), sections 5.4 and 14.2 (the marginal posterior of the
variance parameter on a grid, then the conjugate conditional of the coefficients):

- given sigma, ``beta | sigma, y ~ N(m_sigma, V_sigma)`` with
  ``V_sigma = (X'X / sigma^2 + S^-1)^-1`` and ``m_sigma = V_sigma (X'y / sigma^2 + S^-1 m)``,
  ``S = diag(s^2)``;
- ``log p(sigma | y) = log p(sigma) + log N(y; X m, sigma^2 I + X S X') + const`` is one
  dimensional and is integrated on an adaptive grid in ``t = log sigma`` (Jacobian ``sigma``).

Numerics. With the thin QR decomposition ``X = Q R`` (read off that of ``[X, y]``) and the SVD
``R D = U diag(lam) W'`` (``D = diag(s)``), every quantity is a closed form in ``sigma`` that
costs O(k) or O(k^2) per grid point and sums only positive terms, so nothing of size n x n is
formed::

    v = U' (Q'y - R m),   c0 = |y - Q Q'y|^2,   p = min(n, k)
    log N(y; X m, sigma^2 I + X S X') = -1/2 [ n log 2 pi + (n - p) log sigma^2 + c0 / sigma^2
                                               + sum_i log(sigma^2 + lam_i^2)
                                               + sum_i v_i^2 / (sigma^2 + lam_i^2) ]
    m_sigma = m + D W diag(lam / (sigma^2 + lam^2)) v
    V_sigma = D W diag(sigma^2 / (sigma^2 + lam^2)) W' D        (lam padded with zeros to k)

The grid is placed around the mode of the log-sigma posterior (coarse grid, then zooming
grids) and spans the interval where the log density is within ``DROP`` (= 50) of its maximum,
found by doubling steps on each side; on the right it reaches as far as the
integrand of E[sigma^2] requires (when that tail is too heavy, within a factor exp(170) of the
mode, sigma's sd and possibly its mean are reported as inf). Moments use trapezoid weights, which
converge geometrically fast for a smooth density that vanishes at both ends; the CDF of sigma
uses composite Gauss-Legendre quadrature on the grid intervals, and coefficient quantiles solve
the mixture CDF ``sum_g w_g Phi((t - m_g) / sqrt(V_g)) = p`` with Brent's method.

Draws (:meth:`ExactPosterior.draws`) are exact rejection samples of ``t`` from a piecewise-constant
envelope on the grid's range (Devroye, Non-Uniform Random Variate Generation, 1986, section II.3),
then ``beta | sigma`` from its normal conditional. The envelope bounds ``log N(y; ...)`` and the
Jacobian on each interval ``[a, b]`` provably: the terms ``(n - p) 2t + sum log(sigma^2 + lam^2)``
increase and ``c0 / sigma^2 + sum v^2 / (sigma^2 + lam^2)`` decrease in ``t``, so the log likelihood
is at most ``-1/2 [n log 2 pi + increasing(a) + decreasing(b)]`` there, and ``t <= b``. The prior
(any function) is bounded by its largest value at five equally spaced points of the interval plus
the largest change between neighbouring points; a candidate above the envelope (a prior that
varies faster than that) raises the envelope of its interval and restarts the draws of that call,
so that all returned draws come from one envelope that bounded every density value evaluated.

Only numpy and scipy are used.
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special

from glmcheck.errors import UsageError

__all__ = ["ExactPosterior", "gaussian_linear_posterior", "DEFAULT_PROBS", "DEFAULT_GRID_POINTS"]

DEFAULT_PROBS = (0.05, 0.5, 0.95)
DEFAULT_GRID_POINTS = 1000

#: the grid ends where the log density of log(sigma) is this far below its maximum
DROP = 50.0
#: |log sigma| is kept below this so that sigma**2 never overflows
_T_LIMIT = 340.0
_COARSE_HALF_WIDTH = 30.0
_COARSE_POINTS = 601
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(6)
_LOG_2PI = math.log(2.0 * math.pi)
_VERY_NEGATIVE = -1e300
#: the sampler splits each grid interval so that the envelope is on average about this far (in log
#: density) above the density, i.e. about 97 % of the candidates are accepted
_SAMPLER_SLACK = 0.03
_SAMPLER_MAX_SPLIT = 64
#: the prior is evaluated at this many equal steps per sampler interval (ends included: steps + 1)
_PRIOR_STEPS = 4
#: draws() restarts at most this often after a candidate above the envelope, then gives up
_SAMPLER_MAX_RESTARTS = 100
#: candidates per batch of the sampler (bounds its memory)
_SAMPLER_BATCH = 1 << 20


# --------------------------------------------------------------------------- the model


class _Model:
    """Closed forms in sigma for one data set and prior (see the module docstring)."""

    def __init__(self, X: np.ndarray, y: np.ndarray, m: np.ndarray, s: np.ndarray,
                 sigma_logpdf: Callable) -> None:
        n, k = X.shape
        # R of the QR decomposition of [X, y] holds R of X, Q'y and |y - Q Q'y| (Q is never formed)
        Raug = np.linalg.qr(np.asfortranarray(np.column_stack([X, y])), mode="r")
        p = min(n, k)
        R, qy = Raug[:p, :k], Raug[:p, k]
        c0 = float(Raug[k, k] ** 2) if n > k else 0.0
        u = qy - R @ m
        U, lam, Wt = np.linalg.svd(R * s, full_matrices=True)  # U: p x p, Wt: k x k
        self.n, self.k, self.p = n, k, p
        self.m, self.s = m, s
        self.c0 = c0
        self.lam = lam  # length p (= min(p, k) = p)
        self.lam2 = lam**2
        self.lam2_full = np.concatenate([self.lam2, np.zeros(k - p)])
        self.v = U.T @ u
        self.W = Wt.T  # k x k, columns are right singular vectors
        self.Wp = self.W[:, :p]
        self.W2 = self.W**2
        self.sigma_logpdf = sigma_logpdf

    # ---- sigma

    def loglik(self, t: np.ndarray) -> np.ndarray:
        """log N(y; X m, sigma^2 I + X S X') at sigma = exp(t), for an array t."""
        t = np.asarray(t, dtype=float)
        s2 = np.exp(2.0 * t)[..., None]
        d = s2 + self.lam2
        quad = self.c0 / s2[..., 0] + np.sum(self.v**2 / d, axis=-1)
        logdet = (self.n - self.p) * 2.0 * t + np.sum(np.log(d), axis=-1)
        return -0.5 * (self.n * _LOG_2PI + logdet + quad)

    def _monotone_parts(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``loglik = -1/2 [n log 2 pi + inc(t) + dec(t)]``; inc increases, dec decreases in t."""
        t = np.asarray(t, dtype=float)
        s2 = np.exp(2.0 * t)[..., None]
        d = s2 + self.lam2
        inc = (self.n - self.p) * 2.0 * t + np.sum(np.log(d), axis=-1)
        dec = self.c0 / s2[..., 0] + np.sum(self.v**2 / d, axis=-1)
        return inc, dec

    def loglik_upper(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """An upper bound of ``loglik`` on each interval ``[a, b]`` (exact up to rounding)."""
        inc_a, _ = self._monotone_parts(a)
        _, dec_b = self._monotone_parts(b)
        return -0.5 * (self.n * _LOG_2PI + inc_a + dec_b)

    def log_prior_sigma(self, sigma: np.ndarray) -> np.ndarray:
        sigma = np.asarray(sigma, dtype=float)
        with np.errstate(divide="ignore", over="ignore", under="ignore"):
            try:
                out = np.asarray(self.sigma_logpdf(sigma), dtype=float)
            except TypeError:  # e.g. math.log on an array
                out = None
            if out is None or out.size != sigma.size:  # a function of one number at a time
                out = np.array([float(self.sigma_logpdf(float(x))) for x in sigma.ravel()])
            out = out.reshape(sigma.shape)
        bad = np.isnan(out) | np.isposinf(out)
        if bad.any():
            where = float(sigma[bad].ravel()[0]) if sigma.ndim else float(sigma)
            value = out[bad].ravel()[0] if out.ndim else out
            raise UsageError(
                f"expected sigma_logpdf to return a log-density (finite or -inf) "
                f"but got {value} at sigma = {where:.6g}"
            )
        return out

    def logpost_t(self, t) -> np.ndarray:
        """Unnormalised log density of t = log sigma given y (Jacobian included)."""
        t = np.asarray(t, dtype=float)
        return self.loglik(t) + self.log_prior_sigma(np.exp(t)) + t

    # ---- beta given sigma

    def cond_moments(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Means minus the prior means (G, k), and variances (G, k), of beta | sigma = exp(t), y.

        The prior means are left out so that the spread of the means over sigma does not drown
        in the rounding of large prior means."""
        s2 = np.exp(2.0 * np.asarray(t, dtype=float))[:, None]
        a = self.lam * self.v / (s2 + self.lam2)  # G x p
        delta = self.s * (a @ self.Wp.T)
        f = s2 / (s2 + self.lam2_full)  # G x k
        var = self.s**2 * (f @ self.W2.T)
        return delta, var

    def cond_cov(self, sigma: float) -> tuple[np.ndarray, np.ndarray]:
        s2 = float(sigma) ** 2
        a = self.lam * self.v / (s2 + self.lam2)
        mean = self.m + self.s * (self.Wp @ a)
        f = s2 / (s2 + self.lam2_full)
        DW = self.s[:, None] * self.W
        cov = (DW * f) @ DW.T
        return mean, 0.5 * (cov + cov.T)


# --------------------------------------------------------------------------- the grid


def _locate_mode(model: _Model, t_ref: float) -> tuple[float, float, np.ndarray, np.ndarray]:
    """Mode of the log-sigma posterior: a coarse grid, then finer grids on its bracket."""
    center = t_ref
    for _ in range(12):
        t = center + np.linspace(-_COARSE_HALF_WIDTH, _COARSE_HALF_WIDTH, _COARSE_POINTS)
        t = t[np.abs(t) <= _T_LIMIT]
        lp = model.logpost_t(t)
        if not np.isfinite(lp).any():
            raise UsageError(
                "expected sigma_logpdf to be finite somewhere in "
                f"[{math.exp(t[0]):.3g}, {math.exp(t[-1]):.3g}] around the data's scale "
                "but it is -inf everywhere there"
            )
        i = int(np.argmax(lp))
        if 0 < i < len(t) - 1 or (i == 0 and t[0] <= -_T_LIMIT + 1e-9) or (
            i == len(t) - 1 and t[-1] >= _T_LIMIT - 1e-9
        ):
            break
        center = t[i] + (-1 if i == 0 else 1) * (_COARSE_HALF_WIDTH - 1.0)
    else:  # pragma: no cover - needs a pathological prior
        raise UsageError("could not find the mode of the posterior of sigma")
    if i in (0, len(t) - 1):
        hint = " (y lies in the column space of X)" if model.c0 == 0 and i == 0 else ""
        raise UsageError(
            f"expected a proper posterior for sigma but its density still rises at "
            f"sigma = {math.exp(t[i]):.3g}{hint}; is the prior on sigma proper?"
        )
    # zoom in on the bracket [t[i-1], t[i+1]] (the mode is inside it for a unimodal density)
    a, b = float(t[i - 1]), float(t[i + 1])
    mode, lp_mode = float(t[i]), float(lp[i])
    for _ in range(7):
        z = np.linspace(a, b, 33)
        lz = model.logpost_t(z)
        j = int(np.argmax(lz))
        if lz[j] >= lp_mode:
            mode, lp_mode = float(z[j]), float(lz[j])
        a, b = float(z[max(j - 1, 0)]), float(z[min(j + 1, len(z) - 1)])
    return mode, lp_mode, t, lp


def _edge(model: _Model, mode: float, lp_max: float, direction: int, tilt: float = 0.0):
    """A point beyond the mode where ``lp(t) + tilt * |t - mode|`` is about DROP below lp_max.

    The first of the doubling steps 1e-8 * 2^j that gets below that level, refined on 33
    points of the last doubling interval (the exact place does not matter). ``tilt`` = 1 or 2
    covers the integrand of the first or second moment of sigma on the right. Returns None
    when no such point lies within a factor exp(170) of the mode.
    """
    level = lp_max - DROP

    def g(x: np.ndarray) -> np.ndarray:
        lp = model.logpost_t(mode + direction * x)
        return np.where(np.isfinite(lp), lp, _VERY_NEGATIVE) + tilt * x - level

    steps = 1e-8 * 2.0 ** np.arange(35)  # up to 172
    steps = steps[np.abs(mode + direction * steps) <= _T_LIMIT]
    below = np.flatnonzero(g(steps) <= 0) if steps.size else np.array([], dtype=int)
    if below.size == 0:
        return None
    j = int(below[0])
    if j == 0:
        return mode + direction * float(steps[0])
    x = np.linspace(steps[j - 1], steps[j], 33)
    return mode + direction * float(x[np.flatnonzero(g(x) <= 0)[0]])


@dataclass(frozen=True)
class _Grid:
    model: _Model
    t: np.ndarray  # fine grid in log sigma
    lp: np.ndarray  # unnormalised log density of t on the grid
    lp_max: float
    w: np.ndarray  # normalised trapezoid weights
    cdelta: np.ndarray  # G x k conditional means minus the prior means
    csd: np.ndarray  # G x k conditional sds
    cum: np.ndarray  # Gauss-Legendre cumulative integrals of exp(lp - lp_max) at the nodes


def _build_grid(model: _Model, grid_points: int, t_ref: float) -> tuple[_Grid, int]:
    """The fine grid, and how many moments of sigma it resolves (2, 1 or 0)."""
    mode, lp_max, t_coarse, lp_coarse = _locate_mode(model, t_ref)
    lo = _edge(model, mode, lp_max, -1)
    hi, sigma_moments = None, 3
    while hi is None and sigma_moments > 0:
        sigma_moments -= 1
        hi = _edge(model, mode, lp_max, +1, tilt=float(sigma_moments))
    if lo is None or hi is None:
        hint = " (y lies in the column space of X)" if model.c0 == 0 and lo is None else ""
        raise UsageError(
            "expected a proper posterior for sigma but its log density has not dropped by "
            f"{DROP:g} within a factor exp(170) of the mode{hint}; is the prior on sigma proper?"
        )
    # a second mode that the coarse grid saw but the walk from the first did not reach
    high = t_coarse[lp_coarse > lp_max - DROP]
    if high.size:
        step = t_coarse[1] - t_coarse[0]
        lo = min(lo, float(high.min()) - step)
        hi = max(hi, float(high.max()) + step)
    lo, hi = max(lo, -_T_LIMIT), min(hi, _T_LIMIT)
    t = np.linspace(lo, hi, grid_points)
    lp = model.logpost_t(t)
    lp_max = max(lp_max, float(np.max(lp)))
    h = t[1] - t[0]
    trap = np.full(grid_points, h)
    trap[0] = trap[-1] = h / 2.0
    w = trap * np.exp(lp - lp_max)
    w = w / w.sum()
    cdelta, cvar = model.cond_moments(t)
    # cumulative integral of the density of t by 6-point Gauss-Legendre on each interval
    mid = 0.5 * (t[:-1] + t[1:])
    nodes = mid[:, None] + 0.5 * h * _GL_NODES
    f = np.exp(model.logpost_t(nodes) - lp_max)
    pieces = 0.5 * h * (f @ _GL_WEIGHTS)
    cum = np.concatenate([[0.0], np.cumsum(pieces)])
    return _Grid(model, t, lp, lp_max, w, cdelta, np.sqrt(cvar), cum), sigma_moments


def _moments(grid: _Grid, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Means and sds (coefficients then sigma) under grid weights w."""
    delta_b = w @ grid.cdelta
    mean_b = grid.model.m + delta_b
    var_b = w @ grid.csd**2 + w @ (grid.cdelta - delta_b) ** 2
    sig = np.exp(grid.t)
    mean_s = w @ sig
    var_s = w @ (sig - mean_s) ** 2
    return np.append(mean_b, mean_s), np.sqrt(np.append(var_b, var_s))


def _coef_quantile(grid: _Grid, j: int, p: float, scale: float) -> float:
    """Solve sum_g w_g Phi((x - m_g) / sd_g) = p (in x minus the prior mean)."""
    mu, sd, w = grid.cdelta[:, j], grid.csd[:, j], grid.w
    keep = w > 0
    mu, sd, w = mu[keep], sd[keep], w[keep]

    def F(x: float) -> float:
        return float(w @ special.ndtr((x - mu) / sd)) - p

    a = float(np.min(mu - 40.0 * sd))
    b = float(np.max(mu + 40.0 * sd))
    if F(a) >= 0:
        x = a
    elif F(b) <= 0:
        x = b
    else:
        x = optimize.brentq(F, a, b, xtol=1e-13 * scale, rtol=4e-15, maxiter=500)
    return float(grid.model.m[j] + x)


def _t_integral(model: _Model, a: float, b: float, lp_max: float) -> float:
    half = 0.5 * (b - a)
    nodes = 0.5 * (a + b) + half * _GL_NODES
    return half * float(np.exp(model.logpost_t(nodes) - lp_max) @ _GL_WEIGHTS)


def _sigma_quantile(grid: _Grid, p: float) -> float:
    cum, t = grid.cum, grid.t
    target = p * cum[-1]
    i = int(np.clip(np.searchsorted(cum, target, side="right") - 1, 0, len(t) - 2))
    a, b = float(t[i]), float(t[i + 1])

    def g(x: float) -> float:
        return cum[i] + _t_integral(grid.model, a, x, grid.lp_max) - target

    if g(a) >= 0:
        return math.exp(a)
    if g(b) <= 0:
        return math.exp(b)
    return math.exp(optimize.brentq(g, a, b, xtol=1e-14, rtol=4e-15))


# --------------------------------------------------------------------------- the sampler


def _times_transpose(A: np.ndarray, M: np.ndarray) -> np.ndarray:
    """``A @ M.T`` for a tall A; column by column when A is narrow (numpy's matmul is slow)."""
    if A.shape[1] > 16:
        return A @ M.T
    out = np.zeros((A.shape[0], M.shape[0]))
    for j in range(A.shape[1]):
        out += A[:, j, None] * M[:, j]
    return out


class _Envelope:
    """Piecewise-constant upper bound of the density of t on equal intervals of the grid's range.

    ``log_env[j]`` bounds ``logpost_t - lp_max`` on ``[lo[j], lo[j] + h]`` (see the module
    docstring); it is raised, never lowered, when a candidate exceeds it.
    """

    def __init__(self, grid: _Grid) -> None:
        self.model, self.lp_max = grid.model, grid.lp_max
        t0, t1, cells = float(grid.t[0]), float(grid.t[-1]), len(grid.t) - 1
        self._build(t0, t1, cells)
        # split the grid's intervals so that the average slack of the envelope is small
        slack = float(self.log_env_mass_weighted_slack())
        split = int(np.clip(math.ceil(slack / _SAMPLER_SLACK), 1, _SAMPLER_MAX_SPLIT))
        if split > 1:
            self._build(t0, t1, cells * split)
        self.restarts = 0

    def _build(self, t0: float, t1: float, cells: int) -> None:
        model = self.model
        edges = np.linspace(t0, t1, cells + 1)
        a, b = edges[:-1], edges[1:]
        lik = model.loglik_upper(a, b) + b  # log likelihood and Jacobian, provably
        points = np.linspace(t0, t1, _PRIOR_STEPS * cells + 1)
        prior = model.log_prior_sigma(np.exp(points))
        rows = np.lib.stride_tricks.sliding_window_view(prior, _PRIOR_STEPS + 1)[::_PRIOR_STEPS]
        finite = np.isfinite(rows)
        top = np.where(finite, rows, -np.inf).max(axis=1)
        with np.errstate(invalid="ignore"):
            steps = np.abs(np.diff(rows, axis=1))
        steps = np.where(np.isfinite(steps), steps, 0.0).max(axis=1)
        ok = np.isfinite(top)
        top = np.where(ok, top, 0.0)
        # + rounding of sums of terms of size |lik|: a relative 1e-12 is far above it
        bound = lik + top + steps + 1e-12 * (np.abs(lik) + np.abs(top)) + 1e-12
        self.lo, self.h = a, (t1 - t0) / cells
        self.lp_ends = model.logpost_t(edges) - self.lp_max
        self.log_env = np.where(ok, bound - self.lp_max, -np.inf)
        self._update_cdf()

    def _update_cdf(self) -> None:
        m = float(np.max(self.log_env))
        cdf = np.cumsum(np.exp(self.log_env - m))
        self.cdf = cdf / cdf[-1]
        # about the acceptance rate (the batch size of the sampler depends on it, nothing else)
        gap = self._gaps()
        self.accept = float(np.clip(gap[0] @ np.exp(-gap[1]), 0.05, 1.0))

    def _gaps(self) -> tuple[np.ndarray, np.ndarray]:
        """Envelope masses and the envelope minus the density's larger end value, where mass > 0."""
        mass = np.diff(np.concatenate([[0.0], self.cdf]))
        keep = mass > 0
        upper = np.maximum(self.lp_ends[:-1], self.lp_ends[1:])[keep]
        gap = np.minimum(self.log_env[keep] - upper, 50.0)  # -inf ends: the gap is at most huge
        return mass[keep], gap

    def log_env_mass_weighted_slack(self) -> float:
        mass, gap = self._gaps()
        return float(mass @ gap)

    def _attempt(self, n: int, rng: np.random.Generator) -> np.ndarray | None:
        """n draws of t, or None after raising the envelope where a candidate exceeded it."""
        out = np.empty(n)
        filled = 0
        while filled < n:
            need = n - filled
            size = min(_SAMPLER_BATCH, int(need / self.accept * 1.05) + 16)
            j = np.minimum(np.searchsorted(self.cdf, rng.random(size), side="right"),
                           len(self.cdf) - 1)
            cand = self.lo[j] + self.h * rng.random(size)
            excess = self.model.logpost_t(cand) - self.lp_max - self.log_env[j]
            above = excess > 0
            if above.any():
                bad = j[above]
                np.maximum.at(self.log_env, bad, self.log_env[bad] + excess[above] + 0.1)
                self._update_cdf()
                self.restarts += 1
                return None
            take = cand[np.log(rng.random(size)) < excess][:need]
            out[filled : filled + take.size] = take
            filled += take.size
        return out

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        for _ in range(_SAMPLER_MAX_RESTARTS):
            t = self._attempt(n, rng)
            if t is not None:
                return t
        raise UsageError(  # pragma: no cover - needs a prior with many narrow spikes
            "expected sigma_logpdf to vary smoothly on the scale of the grid, but the sampler "
            f"met values above its envelope {_SAMPLER_MAX_RESTARTS} times; raise grid_points"
        )


# --------------------------------------------------------------------------- the result


@dataclass(frozen=True)
class ExactPosterior:
    """The exact posterior of a Gaussian linear model, summarised per parameter.

    ``names`` lists the coefficients in design-column order, then sigma. ``mean``, ``sd`` and
    ``quantiles`` (a tuple of values at ``probs`` per name) are plain dicts keyed by name.
    ``grid_error`` is a conservative estimate of the relative quadrature error of the means and
    sds (the change when every second grid point is dropped); ``accuracy`` says how the numbers
    were computed.
    """

    names: tuple[str, ...]
    mean: dict[str, float]
    sd: dict[str, float]
    probs: tuple[float, ...]
    quantiles: dict[str, tuple[float, ...]]
    accuracy: str
    grid_error: float
    grid_points: int
    _grid: _Grid = field(repr=False, compare=False)

    @property
    def coef_names(self) -> tuple[str, ...]:
        return self.names[:-1]

    @property
    def sigma_name(self) -> str:
        return self.names[-1]

    def _index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise UsageError(
                f"expected a parameter name in {list(self.names)} but got {name!r}"
            ) from None

    def quantile(self, name: str, p):
        """Posterior quantile(s) of parameter ``name`` at probability ``p`` (scalar or array)."""
        j = self._index(name)
        arr = np.asarray(p, dtype=float)
        if not (np.all(np.isfinite(arr)) and np.all((arr > 0) & (arr < 1))):
            raise UsageError(f"expected probabilities strictly between 0 and 1 but got {p!r}")
        out = np.empty(arr.shape)
        for idx, q in np.ndenumerate(arr):
            q = float(q)
            if q in self.probs:
                out[idx] = self.quantiles[name][self.probs.index(q)]
            else:
                out[idx] = self._solve_quantile(j, q)
        return float(out) if out.ndim == 0 else out

    def _solve_quantile(self, j: int, p: float) -> float:
        if j == len(self.names) - 1:
            return _sigma_quantile(self._grid, p)
        return _coef_quantile(self._grid, j, p, self.sd[self.names[j]])

    def conditional(self, sigma: float) -> tuple[np.ndarray, np.ndarray]:
        """Mean vector and covariance matrix of the coefficients given sigma (and y)."""
        sigma = float(sigma)
        if not (math.isfinite(sigma) and sigma > 0):
            raise UsageError(f"expected a positive finite sigma but got {sigma!r}")
        return self._grid.model.cond_cov(sigma)

    @functools.cached_property
    def _envelope(self) -> _Envelope:
        return _Envelope(self._grid)

    def draws(self, n: int, rng=None) -> dict[str, np.ndarray]:
        """``n`` independent exact posterior draws, as ``{name: array of shape (n,)}``.

        ``t = log sigma`` is drawn by rejection from a piecewise-constant envelope of its density
        on the grid's range (a tail mass of about exp(-50) beyond the grid is left out), so its
        draws are exact whenever the envelope bounds the density: provably for the likelihood
        and the Jacobian, and checked at every candidate for the prior (see the module
        docstring). The coefficients are then drawn from ``N(m_sigma, V_sigma)``. ``rng`` is a
        numpy Generator or a seed.
        """
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
            raise UsageError(f"expected a non-negative whole number of draws but got {n!r}")
        n = int(n)
        rng = np.random.default_rng(rng)
        model = self._grid.model
        with np.errstate(over="ignore", under="ignore", divide="ignore"):
            t = self._envelope.sample(n, rng)
        sigma = np.exp(t)
        s2 = sigma[:, None] ** 2
        a = model.lam * model.v / (s2 + model.lam2)
        mean = model.m + model.s * _times_transpose(a, model.Wp)
        f = np.sqrt(s2 / (s2 + model.lam2_full))
        eps = rng.standard_normal((n, model.k))
        beta = mean + model.s * _times_transpose(f * eps, model.W)
        out = {name: beta[:, j].copy() for j, name in enumerate(self.coef_names)}
        out[self.sigma_name] = sigma
        return out


# --------------------------------------------------------------------------- validation


def _vector(value, name: str, k: int) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise UsageError(
            f"expected {name} to be a number or {k} numbers but got {value!r}"
        ) from None
    if arr.ndim == 0:
        arr = np.full(k, float(arr))
    if arr.shape != (k,):
        raise UsageError(
            f"expected {name} to be one number or {k} (one per coefficient) but got shape "
            f"{arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise UsageError(f"expected finite values in {name} but got {arr.tolist()}")
    return arr


def _validate(X, y, coef_names, prior_mean, prior_sd, sigma_logpdf, sigma_name, probs,
              grid_points):
    try:
        y = np.asarray(y, dtype=float)
    except (TypeError, ValueError):
        raise UsageError("expected y to be an array of numbers") from None
    try:
        X = np.asarray(X, dtype=float)
    except (TypeError, ValueError):
        raise UsageError("expected X to be a 2-D array of numbers") from None
    if y.ndim != 1:
        raise UsageError(f"expected y to be 1-D but got shape {y.shape}")
    if X.ndim != 2:
        raise UsageError(f"expected X to be 2-D (rows x coefficients) but got shape {X.shape}")
    n, k = X.shape
    if n != y.shape[0]:
        raise UsageError(f"expected X with {y.shape[0]} rows to match y but got {n}")
    if n < 1 or k < 1:
        raise UsageError(f"expected at least one row and one column in X but got shape {X.shape}")
    for label, arr in (("y", y), ("X", X)):
        bad = ~np.isfinite(arr)
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            where = where[0] if arr.ndim == 1 else where
            raise UsageError(
                f"expected finite values in {label} but got {arr[bad][0]} at index {where}"
            )
    if isinstance(coef_names, str):
        coef_names = (coef_names,)
    coef_names = tuple(coef_names)
    if len(coef_names) != k:
        raise UsageError(
            f"expected {k} coef_names (one per column of X) but got {len(coef_names)}"
        )
    names = coef_names + (sigma_name,)
    if not all(isinstance(nm, str) and nm for nm in names):
        raise UsageError(f"expected non-empty strings as names but got {list(names)}")
    if len(set(names)) != len(names):
        raise UsageError(f"expected distinct parameter names but got {list(names)}")
    m = _vector(prior_mean, "prior_mean", k)
    s = _vector(prior_sd, "prior_sd", k)
    if np.any(s <= 0):
        raise UsageError(f"expected positive values in prior_sd but got {s.tolist()}")
    if not callable(sigma_logpdf):
        raise UsageError(
            f"expected sigma_logpdf to be a function of sigma but got {type(sigma_logpdf).__name__}"
        )
    try:
        probs = tuple(float(p) for p in probs)
    except (TypeError, ValueError):
        raise UsageError(f"expected probs to be a sequence of numbers but got {probs!r}") from None
    if not probs or not all(0 < p < 1 for p in probs):
        raise UsageError(f"expected probs strictly between 0 and 1 but got {list(probs)}")
    if (isinstance(grid_points, bool) or not isinstance(grid_points, numbers.Integral)
            or not 50 <= grid_points <= 1_000_000):
        raise UsageError(f"expected grid_points to be a whole number from 50 to 1e6 but got "
                         f"{grid_points!r}")
    return X, y, names, m, s, probs, int(grid_points)


# --------------------------------------------------------------------------- entry point


def gaussian_linear_posterior(
    X,
    y,
    *,
    coef_names: Sequence[str] | Iterable[str],
    prior_mean=0.0,
    prior_sd,
    sigma_logpdf: Callable,
    sigma_name: str = "sigma",
    probs: Sequence[float] = DEFAULT_PROBS,
    grid_points: int = DEFAULT_GRID_POINTS,
) -> ExactPosterior:
    """Exact posterior of ``y ~ N(X beta, sigma^2 I)``, ``beta_j ~ N(prior_mean_j, prior_sd_j^2)``.

    ``X``: (n, k) design; ``y``: (n,) response; ``coef_names``: k names in column order;
    ``prior_mean``, ``prior_sd``: one number or k numbers; ``sigma_logpdf``: a function of an
    array of sigma values returning their (unnormalised) log prior density, for instance
    ``scipy.stats.halfcauchy(scale=10).logpdf``; ``probs``: the probabilities of the quantile
    table; ``grid_points``: points of the fine grid in log sigma (a few hundred already give
    about 1e-10 relative accuracy).

    Raises :class:`glmcheck.errors.UsageError` on malformed input or an improper posterior.
    """
    X, y, names, m, s, probs, grid_points = _validate(
        X, y, coef_names, prior_mean, prior_sd, sigma_logpdf, sigma_name, probs, grid_points
    )
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        detail = ""
        try:
            post = _posterior(X, y, names, m, s, sigma_logpdf, probs, grid_points)
            ok = True
        except UsageError:
            raise
        except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:  # NaN in a solver
            ok, detail = False, f" ({exc})"
    if ok:
        ok = all(math.isfinite(v) for nm, v in post.mean.items() if nm != names[-1])
        ok = ok and all(math.isfinite(v) for nm, v in post.sd.items() if nm != names[-1])
        ok = ok and all(math.isfinite(v) for qs in post.quantiles.values() for v in qs)
        ok = ok and not math.isnan(post.mean[names[-1]]) and not math.isnan(post.sd[names[-1]])
    if not ok:
        raise UsageError(
            "expected X, y and the priors on a scale that double precision can handle, but the "
            f"computation overflowed{detail}; rescale the data (or the priors)"
        )
    return post


def _posterior(X, y, names, m, s, sigma_logpdf, probs, grid_points) -> ExactPosterior:
    model = _Model(X, y, m, s, sigma_logpdf)
    n, p = model.n, model.p
    if n > p and model.c0 > 0:
        t_ref = 0.5 * math.log(model.c0 / (n - p))
    else:
        r = y - X @ m
        ms = float(r @ r) / n
        t_ref = 0.5 * math.log(ms) if ms > 0 else 0.0
    t_ref = float(np.clip(t_ref, -_T_LIMIT + _COARSE_HALF_WIDTH, _T_LIMIT - _COARSE_HALF_WIDTH))
    grid, sigma_moments = _build_grid(model, grid_points, t_ref)

    means, sds = _moments(grid, grid.w)
    # error estimate: the same sums on every second grid point
    t_half = grid.t[::2]
    if len(t_half) >= 3:
        h2 = t_half[1] - t_half[0]
        trap = np.full(len(t_half), h2)
        trap[0] = trap[-1] = h2 / 2.0
        w_half = trap * np.exp(grid.lp[::2] - grid.lp_max)
        sub = _Grid(model, t_half, grid.lp[::2], grid.lp_max, w_half / w_half.sum(),
                    grid.cdelta[::2], grid.csd[::2], grid.cum)
        means_h, sds_h = _moments(sub, sub.w)
        # relative to the sd, but no finer than rounding of the mean allows
        unit = np.maximum(sds, np.maximum(1e-13 * np.abs(means), 1e-300))
        with np.errstate(invalid="ignore"):
            err = np.concatenate([np.abs(means_h - means) / unit, np.abs(sds_h - sds) / unit])
        k1 = len(names)
        keep = np.ones(2 * k1, dtype=bool)
        if sigma_moments < 2:
            keep[2 * k1 - 1] = False  # the sd of sigma
        if sigma_moments < 1:
            keep[k1 - 1] = False  # the mean of sigma
        grid_error = float(np.max(err[keep]))
    else:  # pragma: no cover - grid_points >= 50
        grid_error = float("nan")

    tail_note = ""
    if sigma_moments < 2:  # the tail of sigma is too heavy for its variance (or mean)
        sds[-1] = math.inf
        tail_note = f"; the sd of {names[-1]} is infinite or its tail too heavy for the grid"
        if sigma_moments < 1:
            means[-1] = math.inf
            tail_note = f"; the mean and sd of {names[-1]} are infinite or undetermined"
    mean = {nm: float(v) for nm, v in zip(names, means)}
    sd = {nm: float(v) for nm, v in zip(names, sds)}
    quantiles = {}
    for j, nm in enumerate(names):
        if j == len(names) - 1:
            quantiles[nm] = tuple(_sigma_quantile(grid, p) for p in probs)
        else:
            quantiles[nm] = tuple(_coef_quantile(grid, j, p, sd[nm]) for p in probs)
    accuracy = (
        f"conditionally conjugate grid (BDA3 5.4, 14.2): {grid_points} trapezoid points in "
        f"log {names[-1]} on [{math.exp(grid.t[0]):.6g}, {math.exp(grid.t[-1]):.6g}], beyond "
        f"which the log density (and its {names[-1]}^2-weighted tail) is over {DROP:g} below "
        f"its maximum; half-grid change {grid_error:.1e} posterior sds (a conservative "
        f"estimate of the quadrature error); "
        f"quantiles solved to ~1e-13 sd{tail_note}"
    )
    return ExactPosterior(
        names=names,
        mean=mean,
        sd=sd,
        probs=probs,
        quantiles=quantiles,
        accuracy=accuracy,
        grid_error=grid_error,
        grid_points=grid_points,
        _grid=grid,
    )
