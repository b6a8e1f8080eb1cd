"""Stored reference posteriors and sampler behaviour, and comparison of any fit against them.

A case's posterior on its reference data set is one distribution, whatever the frontend,
sampler or library stack. ``baselines/<case>/`` holds, in small diffable text:

* ``reference.json`` — a run record of kind ``reference``: the **reference posterior**, per
  parameter element its mean, sd and 5/25/50/75/95 % quantiles, each with its Monte Carlo
  standard error (MCSE); the long runs that made it (two independent samplers, nutpie and
  PyMC's NUTS, many chains), the strict gates they passed, the settings, seeds and
  environment; the SHA-256 of the files beside it.
* ``data.csv`` — the reference data set itself. NumPy does not promise its random streams
  stable across releases (NEP 19), so a regenerated data set that differs is reported as a
  changed data set, and the fits always use the stored one.
* ``draws.csv`` — thinned, nearly independent draws of the reference posterior.
* ``behaviour/<stack>.json`` — per frontend × sampler × route, how the sampler behaved on
  that library stack at the check's settings: divergences, gradient evaluations per draw,
  ESS per gradient, step size, tree depth, per chain. Behaviour legitimately differs between
  stacks, so it is judged only against the same stack's record (same versions of every
  library in :func:`glmcheck.compat.versions`).

The comparison (:func:`compare_posterior`) treats every statistic as the posterior mean of a
function, so its MCSE is a plain mean's: the mean (f = θ), the variance through
f = (θ − μ_ref)² against σ_ref², each quantile through f = 1[θ <= q_ref] against its
probability p. z = (f̄ − target) / sqrt(MCSE_fit² + MCSE_ref²), the reference's MCSE carried
into the same units; a whole ``baseline check`` is one family of K comparisons held at a
family false-alarm rate by Bonferroni.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from glmcheck import compat
from glmcheck.cases import Case, get_case
from glmcheck.checks.compare import _element_draws, _means_and_mcse
from glmcheck.checks.result import CheckResult
from glmcheck.errors import UsageError
from glmcheck.fitters import FitSettings
from glmcheck.posterior import Posterior
from glmcheck.record import file_entry, load_record, make_ordinary, new_record, write_record

__all__ = [
    "STATISTICS", "CHECK_SETTINGS", "REFERENCE_SAMPLERS", "REFERENCE_SETTINGS", "ALPHA",
    "BEHAVIOUR_ALPHA", "BEHAVIOUR_TOLERANCE", "Reference", "baselines_dir", "check_settings",
    "stack_key", "load_reference", "load_behaviour", "compare_posterior", "compare_behaviour",
    "reference_statistics", "reference_gates", "write_reference", "write_behaviour",
    "data_changed",
]

#: statistic -> quantile probability (None: mean and sd)
STATISTICS = {"mean": None, "sd": None, "q05": 0.05, "q25": 0.25, "q50": 0.5, "q75": 0.75,
              "q95": 0.95}
#: what every fit of a ``baseline check`` runs with (a case's own target_accept, and draws where
#: it asks for more, add to these). 16 000 draws: enough ESS for the sd's z-score to catch a
#: 10 % inflation with >= 90 % probability at the whole check's threshold (README)
CHECK_SETTINGS = FitSettings(chains=4, tune=1000, draws=4000)
#: the two independent samplers whose long runs make a reference
REFERENCE_SAMPLERS = ("nutpie", "pymc")
#: long runs: 8 chains × (1500 + 5000) per sampler, 80 000 draws in all
REFERENCE_SETTINGS = FitSettings(chains=8, tune=1500, draws=5000, target_accept=0.9)
#: family false-alarm rate of one whole ``baseline check`` (all fits, all statistics)
ALPHA = 0.01
#: family false-alarm rate of the behaviour comparisons of one ``baseline check``
BEHAVIOUR_ALPHA = 0.01
#: a behaviour change smaller than this factor is never flagged, however significant
BEHAVIOUR_TOLERANCE = 1.25
#: the strict gates a reference's long runs must pass
GATES = {"max_rhat": 1.005, "min_ess": 10_000, "divergences": 0, "saturated_draws": 0,
         "alpha": 1e-4}
#: thinned draws kept per reference
THINNED = 1000

FILES = ("data.csv", "draws.csv")


def baselines_dir(path: Path | str | None = None) -> Path:
    """Where references live: ``path``, else ``$GLMCHECK_BASELINES``, else the checkout's
    ``baselines/`` (beside the package), else ``./baselines``."""
    if path is not None:
        return Path(path)
    if os.environ.get("GLMCHECK_BASELINES"):
        return Path(os.environ["GLMCHECK_BASELINES"])
    checkout = Path(__file__).resolve().parent.parent / "baselines"
    return checkout if checkout.is_dir() else Path("baselines")


def check_settings(case: Case) -> FitSettings:
    """The settings of a ``baseline check`` fit of ``case``: its own fit settings win, except
    that it never gets fewer draws than :data:`CHECK_SETTINGS`."""
    from dataclasses import replace

    own = dict(case.fit_settings)
    if "draws" in own:
        own["draws"] = max(own["draws"], CHECK_SETTINGS.draws)
    return replace(CHECK_SETTINGS, **own)


def stack_key(versions: dict | None = None) -> str:
    """A file name for this library stack: Python and PyMC versions plus a hash of every
    version that can change a verdict."""
    import platform

    versions = dict(compat.versions() if versions is None else versions)
    python = versions.get("python") or platform.python_version()
    digest = hashlib.sha256(json.dumps(versions, sort_keys=True).encode()).hexdigest()[:10]
    return f"py{'.'.join(python.split('.')[:2])}-pymc{versions.get('pymc')}-{digest}"


# -- reading -------------------------------------------------------------------------------
@dataclass(kw_only=True)
class Reference:
    """A loaded, validated reference of one case."""

    case: str
    path: Path
    record: dict
    data: pd.DataFrame
    #: element -> statistic -> {"value", "mcse", and for quantiles "mcse_p"}
    statistics: dict[str, dict[str, dict]]

    @property
    def versions(self) -> dict:
        return self.record["environment"].get("versions", {})

    @property
    def comparisons(self) -> int:
        return sum(len(stats) for stats in self.statistics.values())


def _bad(path: Path, what: str) -> UsageError:
    return UsageError(
        f"reference {str(path)!r} {what}; rebuild it with glmcheck baseline update"
    )


def load_reference(case: Case | str, root: Path | str | None = None) -> Reference:
    """The reference of ``case``, validated; anything wrong is one line naming the file (a
    missing reference is never a pass)."""
    case = get_case(case)
    folder = baselines_dir(root) / case.name
    path = folder / "reference.json"
    if not path.is_file():
        raise UsageError(
            f"no reference for case {case.name!r}: {str(path)!r} does not exist; make one with "
            f"glmcheck baseline update --case {case.name}"
        )
    record = load_record(path)
    if record["kind"] != "reference":
        raise _bad(path, f"is a record of kind {record['kind']!r}, not a reference")
    body = record.get("reference")
    if not isinstance(body, dict):
        raise _bad(path, "has no \"reference\" section")
    if body.get("case") != case.name:
        raise _bad(path, f"is the reference of case {body.get('case')!r}, not {case.name!r}")
    for name in FILES:
        file = folder / name
        expected = record.get("files", {}).get(name, {}).get("sha256")
        if not file.is_file():
            raise _bad(path, f"names {name} but {str(file)!r} does not exist")
        if expected != file_entry(file, folder)["sha256"]:
            raise _bad(file, "does not match the SHA-256 its reference.json records "
                             "(edited by hand or truncated)")
    statistics = body.get("statistics")
    if not isinstance(statistics, dict) or not statistics:
        raise _bad(path, "has no statistics")
    for element, stats in statistics.items():
        if not isinstance(stats, dict) or set(stats) != set(STATISTICS):
            raise _bad(path, f"has malformed statistics for {element!r}")
        for stat, entry in stats.items():
            keys = ("value", "mcse") + (("mcse_p",) if STATISTICS[stat] else ())
            values = [entry.get(k) if isinstance(entry, dict) else None for k in keys]
            if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                       for v in values) or values[1] < 0:
                raise _bad(path, f"has a missing or non-finite {stat} of {element!r}")
    data = pd.read_csv(folder / "data.csv")
    design = body.get("design", {})
    own = _design(case, data)
    if design != own:
        diff = sorted(k for k in set(design) | set(own) if design.get(k) != own.get(k))
        raise _bad(path, f"was made for another design of case {case.name!r} "
                         f"(differs in {', '.join(diff)})")
    settings = body.get("check_settings")
    wanted = check_settings(case).to_dict()
    if settings != wanted:
        raise _bad(path, f"was made for check settings {settings}, but case {case.name!r} is "
                         f"checked with {wanted}")
    return Reference(case=case.name, path=path, record=record, data=data,
                     statistics=statistics)


def _design(case: Case, data: pd.DataFrame) -> dict:
    """What a reference is a reference of: the case's model interface and design matrix."""
    predictors = data[list(case.predictors)]
    digest = hashlib.sha256(
        predictors.to_csv(index=False, float_format="%.17g").encode()
    ).hexdigest()
    return {
        "params": list(case.params), "response": case.response,
        "predictors": list(case.predictors), "formula": case.formula, "family": case.family,
        "rows": int(len(data)), "design_sha256": digest,
    }


def data_changed(case: Case, stored: pd.DataFrame) -> str | None:
    """How the case's regenerated reference data set differs from the stored one, or None."""
    fresh = case.reference_data()
    if list(fresh.columns) != list(stored.columns) or len(fresh) != len(stored):
        return f"columns/rows {list(fresh.columns)}×{len(fresh)} vs stored " \
               f"{list(stored.columns)}×{len(stored)}"
    for column in fresh.columns:
        a, b = fresh[column].to_numpy(), stored[column].to_numpy()
        if a.dtype.kind in "fiub" and b.dtype.kind in "fiub":
            if not np.allclose(a.astype(float), b.astype(float), rtol=1e-12, atol=0):
                return f"column {column!r} differs (numpy {compat.versions().get('numpy')})"
        elif not (a.astype(str) == b.astype(str)).all():
            return f"column {column!r} differs"
    return None


def load_behaviour(case: Case | str, root: Path | str | None = None,
                   versions: dict | None = None) -> tuple[dict | None, Path]:
    """This stack's stored behaviour of ``case`` (None when there is none) and its path."""
    case = get_case(case)
    path = baselines_dir(root) / case.name / "behaviour" / f"{stack_key(versions)}.json"
    if not path.is_file():
        return None, path
    record = load_record(path)
    body = record.get("behaviour")
    if record["kind"] != "reference" or not isinstance(body, dict) or body.get("case") != case.name:
        raise UsageError(f"behaviour record {str(path)!r} is not the behaviour of case "
                         f"{case.name!r}; rebuild it with glmcheck baseline update")
    if body.get("check_settings") != check_settings(case).to_dict():
        raise UsageError(f"behaviour record {str(path)!r} was made for other check settings; "
                         "rebuild it with glmcheck baseline update")
    return body, path


# -- statistics ------------------------------------------------------------------------------
def reference_statistics(posteriors: list[Posterior]) -> dict[str, dict[str, dict]]:
    """Mean, sd and quantiles of the pooled draws, each with its MCSE.

    Every chain of every posterior is one chain of the pool. ``mcse`` is in the parameter's
    units; a quantile's ``mcse_p`` is the MCSE of the fraction of draws below it (its error in
    probability units, the units :func:`compare_posterior` tests it in).
    """
    pooled: dict[str, np.ndarray] = {}
    for post in posteriors:
        for label, values in _element_draws(post).items():
            pooled[label] = values if label not in pooled else np.concatenate([pooled[label], values])
    out: dict[str, dict[str, dict]] = {}
    functions, keys = {}, {}
    for label, theta in pooled.items():
        mu = float(theta.mean())
        functions[(label, "mean")] = theta
        functions[(label, "sd")] = (theta - mu) ** 2
        for stat, prob in STATISTICS.items():
            if prob is not None:
                q = float(np.quantile(theta, prob))
                keys[(label, stat)] = q
                functions[(label, stat)] = (theta <= q).astype(float)
    estimates = _means_and_mcse(functions)
    quantile_mcse = {}
    ds = xr.Dataset({label: (("chain", "draw"), theta) for label, theta in pooled.items()})
    for stat, prob in STATISTICS.items():
        if prob is None:
            continue
        errors = compat.mcse(ds, method="quantile", prob=prob)
        quantile_mcse[stat] = {label: float(errors[label]) for label in pooled}
    for label, theta in pooled.items():
        var, var_error = estimates[(label, "sd")]
        sd = math.sqrt(var)
        entry = {
            "mean": {"value": estimates[(label, "mean")][0], "mcse": estimates[(label, "mean")][1]},
            "sd": {"value": sd, "mcse": var_error / (2 * sd) if sd > 0 else math.inf},
        }
        for stat, prob in STATISTICS.items():
            if prob is not None:
                entry[stat] = {"value": keys[(label, stat)], "mcse": quantile_mcse[stat][label],
                               "mcse_p": estimates[(label, stat)][1]}
        out[label] = entry
    return out


def compare_posterior(posterior: Posterior, reference: Reference, *, crit: float,
                      alpha: float, k_total: int) -> CheckResult:
    """Compare one fit's posterior with the reference of its case.

    ``crit`` is the |z| every statistic must stay below: the Bonferroni threshold of the
    whole request (``k_total`` comparisons at family false-alarm rate ``alpha``). Each row
    says what moved and by how much, in MCSEs (z) and in reference posterior sds.
    """
    elements = _element_draws(posterior)
    missing = sorted(set(reference.statistics) - set(elements))
    extra = sorted(set(elements) - set(reference.statistics))
    if missing or extra:
        raise UsageError(
            f"reference {str(reference.path)!r} has parameters the fit {posterior.label()} does "
            f"not (missing {missing}, extra {extra}): it was made for another design; rebuild it "
            "with glmcheck baseline update"
        )
    functions, targets = {}, {}
    for label, ref in reference.statistics.items():
        theta = elements[label]
        mu, sd = ref["mean"]["value"], ref["sd"]["value"]
        functions[(label, "mean")] = theta
        targets[(label, "mean")] = (mu, ref["mean"]["mcse"])
        functions[(label, "sd")] = (theta - mu) ** 2
        targets[(label, "sd")] = (sd**2, 2 * sd * ref["sd"]["mcse"])
        for stat, prob in STATISTICS.items():
            if prob is not None:
                functions[(label, stat)] = (theta <= ref[stat]["value"]).astype(float)
                targets[(label, stat)] = (prob, ref[stat]["mcse_p"])
    estimates = _means_and_mcse(functions)
    rows = []
    for (label, stat), (value, error) in estimates.items():
        target, ref_error = targets[(label, stat)]
        ref = reference.statistics[label]
        combined = math.hypot(error, ref_error)
        z = (value - target) / combined if combined > 0 else math.inf * (value != target)
        theta = elements[label].ravel()
        sd = ref["sd"]["value"]
        if stat == "mean":
            fit_value, shift = float(theta.mean()), (float(theta.mean()) - ref["mean"]["value"]) / sd
        elif stat == "sd":
            fit_value = float(theta.std(ddof=1))
            shift = fit_value / sd - 1
        else:
            fit_value = float(np.quantile(theta, STATISTICS[stat]))
            shift = (fit_value - ref[stat]["value"]) / sd
        passed = bool(np.isfinite(z) and abs(z) < crit)
        rows.append({
            "param": label, "statistic": stat, "value": fit_value,
            "reference": ref[stat]["value"], "z": z,
            # mean and quantiles: shift in reference posterior sds; sd: relative change
            "shift_sd" if stat != "sd" else "ratio_minus_1": shift,
            "mcse": error, "mcse_ref": ref_error, "passed": passed,
        })
    failing = [r for r in rows if not r["passed"]]
    worst = max(rows, key=lambda r: abs(r["z"]) if np.isfinite(r["z"]) else math.inf)
    if failing:
        message = f"{len(failing)} of {len(rows)} statistics moved; worst {_describe(worst)}"
        message += _versions_note(reference.versions)
    else:
        message = f"all {len(rows)} statistics agree (max |z| {abs(worst['z']):.2f} < {crit:.2f})"
    return CheckResult(
        check="baseline", case=posterior.case, frontends=[posterior.frontend],
        samplers=[posterior.sampler], route=posterior.route, passed=not failing,
        message=message, rows=rows,
        threshold={
            "rule": f"|z| < {crit:.2f}: Bonferroni over K={k_total} statistics of the whole "
                    f"baseline check at family false-alarm rate alpha={alpha:g}",
            "z": crit, "alpha": alpha, "k": k_total,
        },
        details={"reference": str(reference.path), "reference_versions": reference.versions,
                 "reference_created": reference.record.get("created")},
    )


def _describe(row: dict) -> str:
    stat, param = row["statistic"], row["param"]
    if stat == "sd":
        how = f"sd {row['ratio_minus_1']:+.1%} ({row['value']:.4g} vs {row['reference']:.4g})"
    else:
        how = (f"{stat} moved {row['shift_sd']:+.2f} posterior sd ({row['value']:.4g} vs "
               f"{row['reference']:.4g})")
    return f"{param} {how}, z = {row['z']:.1f} MCSEs"


def _versions_note(reference_versions: dict) -> str:
    here = compat.versions()
    differ = [f"{k} {reference_versions.get(k)} → {here.get(k)}"
              for k in sorted(set(here) | set(reference_versions))
              if reference_versions.get(k) != here.get(k)]
    if not differ:
        return "; same versions as the reference"
    return "; versions reference → this run: " + ", ".join(differ)


# -- behaviour ---------------------------------------------------------------------------------
#: metric -> the direction that is worse ("up": larger is worse), or None: shown, not judged
BEHAVIOUR_METRICS = {"ess_per_grad": "down", "grad_per_draw": "up", "step_size": None,
                     "tree_depth": None}


def behaviour_key(frontend: str, sampler: str, route: str) -> str:
    return f"{frontend}/{sampler}/{route}"


def compare_behaviour(behaviour: dict, stored: list[dict], *, subject: tuple[str, str, str, str],
                      alpha: float, k_total: int, seed: int | None = None) -> CheckResult:
    """Judge one fit's sampler behaviour against the same stack's stored behaviour.

    Per chain, log ESS per gradient and log gradient evaluations per draw are compared by a
    one-sided Welch t-test in the worse direction; a change is flagged only when it is
    significant at ``alpha / k_total`` (Bonferroni over the request's behaviour comparisons)
    *and* larger than :data:`BEHAVIOUR_TOLERANCE`. Divergences: conditional binomial test of
    the fit's count against the stored rate (equal rates give
    X | total ~ Binomial(total, n_fit / (n_fit + n_stored))), same significance, and a rate at
    least :data:`BEHAVIOUR_TOLERANCE` times the stored one. Step size and tree depth are shown
    with their ratio, not judged. A fit with the ``seed`` of a stored one repeats it: on an
    unchanged stack every ratio is 1, and the message says so.
    """
    from scipy import stats

    case, frontend, sampler, route = subject
    level = alpha / k_total
    rows = []
    for metric, worse in BEHAVIOUR_METRICS.items():
        new = behaviour.get("chains", {}).get(metric)
        old = [v for entry in stored for v in entry.get("chains", {}).get(metric) or []]
        if not new or not old:
            rows.append({"metric": metric, "judged": False, "passed": True,
                         "note": "not available"})
            continue
        new_log, old_log = np.log(np.asarray(new, float)), np.log(np.asarray(old, float))
        ratio = float(np.exp(new_log.mean() - old_log.mean()))
        row = {"metric": metric, "value": float(np.exp(new_log.mean())),
               "reference": float(np.exp(old_log.mean())), "ratio": ratio,
               "judged": worse is not None}
        if not (np.isfinite(new_log).all() and np.isfinite(old_log).all()):
            row.update(p=math.nan, passed=worse is None, note="non-finite value")
            rows.append(row)
            continue
        if len(new_log) > 1 and len(old_log) > 1 and (new_log.std() > 0 or old_log.std() > 0):
            alternative = {"up": "greater", "down": "less"}.get(worse, "two-sided")
            p = float(stats.ttest_ind(new_log, old_log, equal_var=False,
                                      alternative=alternative).pvalue)
        else:
            p = 0.0 if ratio != 1 else 1.0
        big = ratio > BEHAVIOUR_TOLERANCE if worse == "up" else (
            ratio < 1 / BEHAVIOUR_TOLERANCE if worse == "down"
            else not 1 / BEHAVIOUR_TOLERANCE <= ratio <= BEHAVIOUR_TOLERANCE)
        changed = bool(p < level and big)
        row.update(p=p, changed=changed, passed=not (changed and worse is not None))
        rows.append(row)
    new_div = behaviour.get("divergences")
    old_div = [e.get("divergences") for e in stored]
    if new_div is None or any(d is None for d in old_div):
        rows.append({"metric": "divergences", "judged": False, "passed": True,
                     "note": "not available"})
    else:
        n_new = behaviour.get("draws") or 1
        n_old = sum(e.get("draws") or 0 for e in stored) or 1
        d_old = sum(old_div)
        total = new_div + d_old
        p = float(stats.binomtest(new_div, total, n_new / (n_new + n_old),
                                  alternative="greater").pvalue) if total else 1.0
        rate_new, rate_old = new_div / n_new, d_old / n_old
        big = rate_new > BEHAVIOUR_TOLERANCE * rate_old
        changed = bool(p < level and big and new_div > 0)
        rows.append({"metric": "divergences", "value": new_div, "reference": d_old,
                     "reference_draws": n_old, "draws": n_new, "p": p, "judged": True,
                     "changed": changed, "passed": not changed})
    failing = [r for r in rows if not r["passed"]]
    if failing:
        message = "sampler behaviour got worse: " + "; ".join(
            f"{r['metric']} {r['reference']:.4g} → {r['value']:.4g}"
            + (f" (×{r['ratio']:.2f}, p = {r['p']:.1e})" if "ratio" in r else f" (p = {r['p']:.1e})")
            for r in failing)
    else:
        shown = [f"{r['metric']} ×{r['ratio']:.2f}" for r in rows if "ratio" in r]
        message = "behaviour as stored: " + (", ".join(shown) or "nothing to compare")
    if seed is not None and any(entry.get("seed") == seed for entry in stored):
        message += f" (the stored fit had the same seed, {seed}: an unchanged stack repeats it)"
    return CheckResult(
        check="behaviour", case=case, frontends=[frontend], samplers=[sampler], route=route,
        passed=not failing, message=message, rows=rows,
        threshold={
            "rule": f"flag when worse by more than ×{BEHAVIOUR_TOLERANCE} and significant at "
                    f"{level:.2g} (Bonferroni over K={k_total} at family alpha={alpha:g})",
            "alpha": alpha, "k": k_total, "tolerance": BEHAVIOUR_TOLERANCE,
        },
    )


# -- gates and writing -----------------------------------------------------------------------
def reference_gates(posteriors: list[Posterior], exact=None) -> list[CheckResult]:
    """The strict gates a reference's long runs must pass: per run R-hat, ESS, no divergence,
    no saturated tree depth; agreement of the two samplers; the exact posterior where one
    exists."""
    from glmcheck.checks import check_agreement, check_exact
    from glmcheck.results import summarize

    results = []
    for post in posteriors:
        summary = summarize(post)
        problems = []
        if not summary.max_rhat <= GATES["max_rhat"]:
            problems.append(f"R-hat {summary.max_rhat:.4f} > {GATES['max_rhat']}")
        if not summary.min_ess >= GATES["min_ess"]:
            problems.append(f"ESS {summary.min_ess:.0f} < {GATES['min_ess']}")
        if summary.divergences is None or summary.divergences > GATES["divergences"]:
            problems.append(f"{summary.divergences} divergences")
        if summary.saturated_draws is None or summary.saturated_draws > GATES["saturated_draws"]:
            problems.append(f"{summary.saturated_draws} draws at the maximum tree depth")
        results.append(CheckResult(
            check="reference-gates", case=post.case, frontends=[post.frontend],
            samplers=[post.sampler], passed=not problems,
            message="; ".join(problems) or (
                f"R-hat {summary.max_rhat:.4f}, min ESS {summary.min_ess:.0f}, no divergence, "
                "no saturated tree depth"),
            threshold={"rule": f"R-hat <= {GATES['max_rhat']}, ESS >= {GATES['min_ess']}, "
                               "0 divergences, 0 draws at the maximum tree depth", **GATES},
        ))
    for a_index in range(len(posteriors)):
        for b in posteriors[a_index + 1:]:
            results.append(check_agreement(posteriors[a_index], b, alpha=GATES["alpha"]))
    if exact is not None:
        results += [check_exact(post, exact, alpha=GATES["alpha"]) for post in posteriors]
    return results


def thinned_draws(posteriors: list[Posterior], n: int = THINNED) -> pd.DataFrame:
    """``n`` draws spread evenly over every chain of the pool (far apart: nearly independent)."""
    elements: dict[str, list[np.ndarray]] = {}
    for post in posteriors:
        for label, values in _element_draws(post).items():
            elements.setdefault(label, []).append(values)
    columns = {label: np.concatenate(v).ravel() for label, v in elements.items()}
    total = len(next(iter(columns.values())))
    index = np.linspace(0, total - 1, min(n, total)).round().astype(int)
    return pd.DataFrame({label: v[index] for label, v in columns.items()})


def write_reference(case: Case, data: pd.DataFrame, posteriors: list[Posterior],
                    gates: list[CheckResult], request: dict, fits: list[dict],
                    root: Path | str | None = None) -> Path:
    """Write ``baselines/<case>/`` atomically: the new folder is complete before it replaces
    the old one (whose ``behaviour/`` records are kept)."""
    root = baselines_dir(root)
    root.mkdir(parents=True, exist_ok=True)
    final = root / case.name
    work = Path(tempfile.mkdtemp(dir=root, prefix=f".{case.name}.new-"))
    try:
        make_ordinary(work)
        data.to_csv(work / "data.csv", index=False, float_format="%.17g")
        stored = pd.read_csv(work / "data.csv")
        thinned_draws(posteriors).to_csv(work / "draws.csv", index=False, float_format="%.10g")
        record = new_record("reference", request)
        record["fits"] = fits
        record["checks"] = [g.to_dict() for g in gates]
        record["reference"] = {
            "case": case.name,
            "design": _design(case, stored),
            "check_settings": check_settings(case).to_dict(),
            "samplers": [p.sampler for p in posteriors],
            "settings": [p.settings for p in posteriors],
            "seeds": [p.seed for p in posteriors],
            "gates": dict(GATES),
            "statistics": reference_statistics(posteriors),
        }
        record["files"] = {name: file_entry(work / name, work) for name in FILES}
        record["exit_code"] = 0
        write_record(work / "reference.json", record)
        if (final / "behaviour").is_dir():
            shutil.copytree(final / "behaviour", work / "behaviour")
        old = None
        if final.exists():
            old = root / f".{case.name}.old-{os.getpid()}"
            os.replace(final, old)
        os.replace(work, final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return final / "reference.json"


def write_behaviour(case: Case, entries: dict[str, list[dict]], request: dict,
                    root: Path | str | None = None) -> Path:
    """Write this stack's behaviour record of ``case`` atomically; entries of frontends,
    samplers and routes this update did not fit are kept."""
    folder = baselines_dir(root) / case.name / "behaviour"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stack_key()}.json"
    if path.is_file():  # keep what this update did not redo (other frontends, samplers, routes)
        previous, _ = load_behaviour(case, root)
        entries = {**(previous or {}).get("entries", {}), **entries}
    record = new_record("reference", request)
    record["behaviour"] = {"case": case.name, "check_settings": check_settings(case).to_dict(),
                           "entries": entries}
    record["exit_code"] = 0
    write_record(path, record)
    return path
