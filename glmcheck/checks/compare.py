"""Is it the same posterior? MCSE z-scores on mean, sd and 5/50/95 % quantiles.

Every statistic is compared as the posterior mean of a function, so its MCSE is a plain mean's
(CLT, ArviZ's ESS of that function): the mean (f = θ), the sd through f = (θ - c)² and each
quantile q_p through the indicator f = 1[θ <= q_p]. Against an exact reference, c and q_p are
the exact mean and quantile and the targets σ² and p are known. Between two posteriors a and b,
c and q_p are those of the pooled draws, and z = (f̄_a - f̄_b) / sqrt(MCSE_a² + MCSE_b²): under
the same posterior both estimate the same expectation. Quantile MCSEs estimated from order
statistics (ArviZ's ``mcse(method="quantile")``) are noisy enough to give the z-scores heavy
tails (measured: 18 times the nominal false-alarm rate against an exact reference), which this
avoids. With K statistics, every |z| must stay below the Bonferroni threshold for a family
false-alarm rate ``alpha`` (Vehtari et al. 2021, Bayesian Analysis 16(2), for the MCSE).
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

from glmcheck import compat
from glmcheck.checks._estimates import STATISTICS, require_finite
from glmcheck.checks.result import CheckResult
from glmcheck.errors import UsageError
from glmcheck.posterior import Posterior
from glmcheck.results import flat_elements
from glmcheck.stats.exact import ExactPosterior
from glmcheck.stats.multiplicity import bonferroni_z

#: Family false-alarm rate of one check (all its statistics together). The default suite has
#: 53 checks, so at nominal rates a spurious suite failure stays below 1 run in 100; the
#: measured rates are in the README (benchmarks/false_alarms.py).
ALPHA = 1e-4


def _zrows(pairs: dict, alpha: float) -> tuple[list[dict], float]:
    crit = bonferroni_z(alpha, len(pairs))
    rows = []
    for (label, stat), (value, reference, error) in pairs.items():
        z = (value - reference) / error if error > 0 else math.inf * (value != reference)
        rows.append({
            "param": label, "statistic": stat, "value": value, "reference": reference,
            "mcse": error, "z": z, "passed": bool(abs(z) < crit),
        })
    return rows, crit


def _verdict(check, rows, crit, alpha, **meta) -> CheckResult:
    worst = max(rows, key=lambda r: abs(r["z"]))
    failing = [r for r in rows if not r["passed"]]
    if failing:
        message = (
            f"{len(failing)} of {len(rows)} statistics differ; worst {worst['param']} "
            f"{worst['statistic']}, {worst['compared']}: {worst['value']:.4g} vs "
            f"{worst['reference']:.4g} (z = {worst['z']:.1f})"
        )
    else:
        message = f"all {len(rows)} statistics agree (max |z| {abs(worst['z']):.2f} < {crit:.2f})"
    return CheckResult(
        check=check, passed=not failing, message=message, rows=rows,
        threshold={
            "rule": f"|z| < {crit:.2f}: Bonferroni over K={len(rows)} statistics at family "
                    f"false-alarm rate alpha={alpha:g}",
            "z": crit, "alpha": alpha, "k": len(rows),
        },
        **meta,
    )


def _element_draws(posterior: Posterior) -> dict[str, np.ndarray]:
    """Every parameter element's draws as a (chain, draw) array."""
    out = {}
    for name in posterior.draws.data_vars:
        for label, values in flat_elements(posterior.draws, name):
            out[label] = np.asarray(values.transpose("chain", "draw").values, dtype=float)
    return out


Key = tuple[str, str]  # (parameter element, statistic)


def _means_and_mcse(functions: dict[Key, np.ndarray]) -> dict[Key, tuple[float, float]]:
    """``(element, statistic) -> (posterior mean, MCSE)`` of each function's (chain, draw) values;
    the MCSE is a plain mean's, from ArviZ's ESS of that function."""
    names = {key: "|".join(key) for key in functions}
    ds = xr.Dataset({names[key]: (("chain", "draw"), f) for key, f in functions.items()})
    errors = compat.mcse(ds, method="mean")
    return {key: (float(ds[name].mean()), float(errors[name])) for key, name in names.items()}


def check_exact(posterior: Posterior, reference: ExactPosterior, *, alpha: float = ALPHA) -> CheckResult:
    """Compare a posterior with the exact reference posterior of its case and data."""
    require_finite(posterior)
    missing = [n for n in reference.names if n not in posterior.draws]
    if missing:
        raise UsageError(
            f"posterior of {posterior.label()} has no variable {missing} needed by the exact reference"
        )
    elements = _element_draws(posterior)
    functions, targets = {}, {}
    for name in reference.names:
        theta = elements[name]
        mu, sd = reference.mean[name], reference.sd[name]
        for stat, prob in STATISTICS.items():
            key = (name, stat)
            if stat == "mean":
                functions[key], targets[key] = theta, mu
            elif stat == "sd":
                functions[key], targets[key] = (theta - mu) ** 2, sd**2
            else:
                q = float(reference.quantile(name, prob))
                functions[key], targets[key] = (theta <= q).astype(float), prob
    estimates = _means_and_mcse(functions)
    pairs = {key: (mean, targets[key], error) for key, (mean, error) in estimates.items()}
    rows, crit = _zrows(pairs, alpha)
    for row in rows:  # say in the row what was compared
        row["compared"] = {"mean": "E[θ]", "sd": "E[(θ-μ)²] vs σ²"}.get(
            row["statistic"], f"P(θ <= exact {row['statistic']})"
        )
    return _verdict(
        "exact", rows, crit, alpha, case=posterior.case, frontends=[posterior.frontend],
        samplers=[posterior.sampler],
    )


def check_agreement(a: Posterior, b: Posterior, *, alpha: float = ALPHA) -> CheckResult:
    """Do two posteriors of the same case (other frontend or sampler) agree?"""
    if a.case != b.case:
        raise UsageError(f"cannot compare posteriors of different cases {a.case!r} and {b.case!r}")
    require_finite(a)
    require_finite(b)
    da, db = _element_draws(a), _element_draws(b)
    if set(da) != set(db):
        only_a = sorted(set(da) - set(db))
        only_b = sorted(set(db) - set(da))
        raise UsageError(
            f"parameter maps do not match: only in {a.label()}: {only_a}; only in {b.label()}: {only_b}"
        )
    fa, fb, compared = {}, {}, {}
    for label in da:
        pooled = np.concatenate([da[label].ravel(), db[label].ravel()])
        centre = pooled.mean()
        for stat, prob in STATISTICS.items():
            key = (label, stat)
            if stat == "mean":
                fa[key], fb[key], compared[key] = da[label], db[label], "E[θ]"
            elif stat == "sd":
                fa[key], fb[key] = (da[label] - centre) ** 2, (db[label] - centre) ** 2
                compared[key] = f"E[(θ - {centre:.4g})²], pooled mean"
            else:
                q = float(np.quantile(pooled, prob))
                fa[key], fb[key] = (da[label] <= q).astype(float), (db[label] <= q).astype(float)
                compared[key] = f"P(θ <= {q:.4g}), pooled {stat}"
    ea, eb = _means_and_mcse(fa), _means_and_mcse(fb)
    pairs = {key: (ea[key][0], eb[key][0], math.hypot(ea[key][1], eb[key][1])) for key in fa}
    rows, crit = _zrows(pairs, alpha)
    for row in rows:
        row["compared"] = compared[(row["param"], row["statistic"])]
    return _verdict(
        "agreement", rows, crit, alpha, case=a.case,
        frontends=list(dict.fromkeys([a.frontend, b.frontend])),
        samplers=list(dict.fromkeys([a.sampler, b.sampler])),
    )
