"""Parameter recovery: posterior z-scores and contraction; calibration over prior draws.

z = (E[θ|y] - θ*) / sd(θ|y) and contraction 1 - Var(θ|y) / Var(θ) (Schad, Betancourt &
Vasishth 2021), on one data set at the case's true parameters. Coverage is averaged over the
prior, where it is exact whatever the prior (Talts et al. 2018): K simulations with θ* from the
case's prior simulator, each θ*'s PIT value in its posterior turned into a z-score, and the
z-scores' location and spread tested (:func:`check_coverage`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

from glmcheck.checks._estimates import require_finite
from glmcheck.checks.compare import ALPHA
from glmcheck.checks.result import CheckResult
from glmcheck.errors import UsageError
from glmcheck.posterior import Posterior
from glmcheck.results import flat_elements
from glmcheck.stats.multiplicity import bonferroni_z


def truth_elements(truth: dict, posterior: Posterior) -> dict[str, float]:
    out = {}
    for name in posterior.draws.data_vars:
        if name not in truth:
            raise UsageError(f"no true value for parameter {name!r} of case {posterior.case!r}")
        values = np.atleast_1d(np.asarray(truth[name], dtype=float)).ravel()
        labels = [label for label, _ in flat_elements(posterior.draws, name)]
        if len(values) != len(labels):
            raise UsageError(
                f"true value of {name!r} has {len(values)} elements but the posterior has {len(labels)}"
            )
        out.update(zip(labels, values))
    return out


def check_recovery(
    posterior: Posterior, truth: dict, prior_var: dict | None = None, *,
    alpha: float = ALPHA,
) -> CheckResult:
    """Posterior z-score of every true value (one data set), with contraction reported.

    ``prior_var`` maps parameter names to prior variances (arrays for vector parameters).
    """
    require_finite(posterior)
    true = truth_elements(truth, posterior)
    prior_var = truth_elements(prior_var, posterior) if prior_var else {}
    crit = bonferroni_z(alpha, len(true))
    rows = []
    for name in posterior.draws.data_vars:
        for label, values in flat_elements(posterior.draws, name):
            v = np.asarray(values, dtype=float).ravel()
            mean, sd = v.mean(), v.std(ddof=1)
            z = (mean - true[label]) / sd
            var0 = prior_var.get(label)
            contraction = 1 - sd**2 / var0 if var0 and np.isfinite(var0) else None
            rows.append({"param": label, "truth": true[label], "mean": mean, "sd": sd, "z": z,
                         "contraction": contraction, "passed": bool(abs(z) < crit)})
    failing = [r for r in rows if not r["passed"]]
    worst = max(rows, key=lambda r: abs(r["z"]))
    message = (
        f"{len(failing)} of {len(rows)} true values outside the posterior; worst {worst['param']}: "
        f"truth {worst['truth']:.4g}, posterior {worst['mean']:.4g} ± {worst['sd']:.2g} (z = {worst['z']:.1f})"
        if failing else f"all {len(rows)} true values recovered (max |z| {abs(worst['z']):.2f} < {crit:.2f})"
    )
    return CheckResult(
        check="recovery", case=posterior.case, frontends=[posterior.frontend],
        samplers=[posterior.sampler], passed=not failing, message=message, rows=rows,
        threshold={"rule": f"|posterior z| < {crit:.2f}: Bonferroni over {len(rows)} parameters "
                           f"at alpha={alpha:g}, assuming z ~ N(0, 1) (weak priors)",
                   "z": crit, "alpha": alpha},
    )


def covered(posterior: Posterior, true: dict, prob: float = 0.9) -> dict[str, bool]:
    """Does each parameter element's central ``prob`` interval contain its true value?

    ``true``: the true value per element label, as :func:`truth_elements` gives them.
    """
    require_finite(posterior)
    tail = (1 - prob) / 2
    inside = {}
    for name in posterior.draws.data_vars:
        for label, values in flat_elements(posterior.draws, name):
            lo, hi = np.quantile(np.asarray(values, dtype=float).ravel(), (tail, 1 - tail))
            inside[label] = bool(lo <= true[label] <= hi)
    return inside


#: a coverage run fails when more than this fraction of its simulations could not be ranked
MAX_FAILED = 0.05


def check_coverage(
    simulations: Sequence[dict], *, case: str, frontend: str, sampler: str,
    route: str = "compiled", seed: int = 0, alpha: float = ALPHA,
) -> CheckResult:
    """Calibration of the posterior over K simulations with θ* drawn from the prior.

    ``simulations``: outcomes of :func:`glmcheck.sbc.simulation_ranks` (``{"ok": True, "L":
    L, "ranks": {quantity: rank}}``, or ``{"ok": False, "error": ...}``). Each rank r of θ*
    among L draws becomes a PIT value u = (r + U)/(L + 1) and z = Φ⁻¹(u); a calibrated
    posterior makes the K values of z independent N(0, 1) for every quantity, exactly (θ* comes
    from the prior), whatever the prior. Per quantity two tests: location, √K·z̄ ~ N(0, 1)
    (posteriors shifted off the truth), and spread, Σ(z − z̄)² ~ χ²(K − 1), two-sided (too
    wide: over-confident posteriors; too narrow: under-confident ones, or posteriors that do
    not follow the data). p = 2·min of the two; Bonferroni over the quantities at ``alpha``.
    More than :data:`MAX_FAILED` of the simulations not ranked also fails.
    """
    from glmcheck.sbc import converged
    from glmcheck.stats.sbc import pit

    if not simulations:
        raise UsageError("coverage needs at least one simulation")
    ok = [s for s in simulations if s.get("ok")]
    failed = [s for s in simulations if not s.get("ok")]
    k_sims = len(simulations)
    base = dict(check="coverage", case=case, frontends=[frontend], samplers=[sampler],
                route=None if route == "compiled" else route)
    threshold = {"alpha": alpha, "simulations": k_sims, "max_failed": MAX_FAILED}
    too_many = len(failed) > MAX_FAILED * k_sims
    if len(ok) < 3:
        return CheckResult(
            **base, passed=False, rows=[], threshold={**threshold, "rule": "at least 3 ranked "
                                                     "simulations"},
            message=f"only {len(ok)} of {k_sims} simulations could be ranked"
                    + (f"; first: {failed[0]['error']}" if failed else ""),
        )
    quantities = list(ok[0]["ranks"])
    level = alpha / len(quantities)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2**32 + 1]))
    rows = []
    for q in quantities:
        ranks = np.array([s["ranks"][q] for s in ok])
        L = int(ok[0]["L"])
        z = stats.norm.ppf(pit(ranks, L, rng))
        n = len(z)
        mean, sd = float(z.mean()), float(z.std(ddof=1))
        p_loc = float(2 * stats.norm.sf(abs(mean) * np.sqrt(n)))
        spread = float(((z - z.mean()) ** 2).sum())
        below = float(stats.chi2.cdf(spread, n - 1))
        p_spread = float(2 * min(below, stats.chi2.sf(spread, n - 1)))
        p = min(1.0, 2 * min(p_loc, p_spread))
        inside = int(np.count_nonzero(np.abs(z) <= stats.norm.ppf(0.95)))
        rows.append({"param": q, "z_mean": mean, "z_sd": sd, "p_location": p_loc,
                     "p_spread": p_spread, "p": p, "covered_90": inside, "of": n,
                     "passed": bool(p > level)})
    failing = [r for r in rows if not r["passed"]]
    worst = min(rows, key=lambda r: r["p"])
    unconverged = sum(1 for s in ok if not converged(s))
    tail = f"; {unconverged} of {len(ok)} fits unconverged" if unconverged else ""
    if failing:
        message = (f"{len(failing)} of {len(rows)} quantities miscalibrated; worst "
                   f"{_calibration(worst)}{tail}")
    elif too_many:
        message = (f"{len(failed)} of {k_sims} simulations could not be ranked (more than "
                   f"{MAX_FAILED:.0%}); first: {failed[0]['error']}")
    else:
        message = (f"calibrated over {k_sims} prior simulations (lowest {worst['param']}: "
                   f"p = {worst['p']:.2g} > {level:.2g}; {worst['covered_90']}/{worst['of']} "
                   f"inside 90 % intervals){tail}")
    return CheckResult(
        **base, passed=not failing and not too_many, message=message, rows=rows,
        threshold={**threshold, "rule":
                   f"per quantity, PIT z-scores of θ* drawn from the prior: location √K·mean "
                   f"~ N(0,1) and spread Σ(z−z̄)² ~ χ²(K−1) two-sided, p = 2·min; p > "
                   f"{level:.2g} (alpha={alpha:g} Bonferroni over {len(rows)} quantities); "
                   f"at most {MAX_FAILED:.0%} of simulations not ranked", "level": level},
        details={"notion": "prior-averaged calibration: θ* from the case's prior simulator, "
                           "y from its likelihood simulator (the first K simulations of prior "
                           "SBC with the same seed)",
                 "failed": len(failed), "unconverged": unconverged,
                 "errors": [s["error"] for s in failed][:5]},
    )


def _calibration(row: dict) -> str:
    """What is wrong with one quantity, in words."""
    if row["p_location"] <= row["p_spread"]:
        side = "above" if row["z_mean"] < 0 else "below"
        what = f"posteriors lie {side} the truth (mean PIT z {row['z_mean']:+.2f})"
    elif row["z_sd"] > 1:
        what = f"posteriors over-confident (PIT z sd {row['z_sd']:.2f})"
    else:
        what = f"posteriors under-confident or not following the data (PIT z sd {row['z_sd']:.2f})"
    return (f"{row['param']}: {what}, p = {row['p']:.2g}; "
            f"{row['covered_90']}/{row['of']} inside 90 % intervals")
