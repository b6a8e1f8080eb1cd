"""Parameter recovery: posterior z-scores and contraction, and interval coverage.

z = (E[θ|y] - θ*) / sd(θ|y) and contraction 1 - Var(θ|y) / Var(θ) (Schad, Betancourt &
Vasishth 2021). Coverage here is *at the case's fixed true parameters* over K data sets from
the case's own simulator — close to nominal for weak priors, guaranteed only when averaged
over the prior (that is SBC). So coverage fails only when it is significantly *below* nominal
(over-confident intervals); shrinkage priors legitimately over-cover parameters near zero.
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
from glmcheck.stats.multiplicity import beta_interval, bonferroni_z


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


def check_coverage(
    posteriors: Sequence[Posterior], truth: dict, *, prob: float = 0.9, alpha: float = ALPHA,
) -> CheckResult:
    """Coverage of central ``prob`` intervals over K fits of data sets simulated at ``truth``."""
    if not posteriors:
        raise UsageError("coverage needs at least one posterior")
    first = posteriors[0]
    true = truth_elements(truth, first)
    hits = dict.fromkeys(true, 0)
    for post in posteriors:
        for label, inside in covered(post, true, prob).items():
            hits[label] += inside
    k_sets = len(posteriors)
    level = alpha / len(true)
    rows = []
    for label, k in hits.items():
        p_low = float(stats.binom.cdf(k, k_sets, prob))  # P(X <= k) under nominal coverage
        lo, hi = beta_interval(k, k_sets, 0.95)
        rows.append({"param": label, "covered": k, "of": k_sets, "rate": k / k_sets,
                     "rate_95": [lo, hi], "p_below_nominal": p_low, "passed": bool(p_low > level)})
    failing = [r for r in rows if not r["passed"]]
    worst = min(rows, key=lambda r: r["p_below_nominal"])
    message = (
        f"{len(failing)} parameters under-covered; worst {worst['param']}: "
        f"{worst['covered']}/{k_sets} inside {prob:.0%} intervals (p = {worst['p_below_nominal']:.2g})"
        if failing else
        f"{prob:.0%} intervals cover every true value at a rate consistent with nominal "
        f"(lowest {worst['param']}: {worst['covered']}/{k_sets})"
    )
    return CheckResult(
        check="coverage", case=first.case, frontends=[first.frontend], samplers=[first.sampler],
        passed=not failing, message=message, rows=rows,
        threshold={"rule": f"one-sided binomial P(X <= covered | K={k_sets}, {prob}) > "
                           f"{level:.2g} (alpha={alpha:g} Bonferroni over {len(rows)} parameters); "
                           "coverage at the case's fixed true parameters, not prior-averaged",
                   "alpha": alpha, "prob": prob, "data_sets": k_sets},
        details={"notion": "fixed-parameter coverage over data sets simulated at the true values"},
    )
