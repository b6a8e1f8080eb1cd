"""False-alarm rates of glmcheck's checks on correct models.

For each case (default: every built-in case) this simulates N data sets with the case's own
numpy simulator at its true parameters, fits each with one sampler (default nutpie) through both
frontends (each model compiled once, refit N times) and runs, per fit, ``check_convergence``,
``check_exact`` (against that data set's exact posterior, for cases that have one) and
``check_recovery``, and per data set ``check_agreement`` between the pymc- and bambi-frontend
fits. Every model is correct, so every failure is a false alarm. (The coverage check's and
SBC's false alarms are measured by ``benchmarks/power.py``, from prior simulations.)

Reported per check kind (and per case × frontend): failures / trials, the rate with a 95 %
Beta(k + 1, n - k + 1) interval, and the distribution of each check's *margin ratio*:
``max|z| / threshold`` for exact, agreement and recovery (>= 1 fails), and for convergence the
largest of ``(R-hat - 1) / (R-hat max - 1)``, ``ESS min / min ESS`` and ``E-BFMI min / min
E-BFMI`` (>= 1 fails; divergences are counted separately). Because a rate of order alpha =
1e-4 cannot be measured with a few hundred trials, the z checks are also scored at looser
Bonferroni thresholds (alpha = 0.1, 0.01, 0.001): the observed rate should be at most alpha
there too (Bonferroni is conservative).

    python benchmarks/false_alarms.py --fits 200 --json false_alarms.json
    python benchmarks/false_alarms.py --cases shrinkage varying_intercept --checks convergence \
        --draws 2000 --fits 300

``--max-seconds`` stops starting new data sets after that long and reports the N reached.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from dataclasses import replace

import numpy as np

from glmcheck import compat
from glmcheck.cases import get_case, list_cases
from glmcheck.checks import (
    ALPHA,
    check_agreement,
    check_convergence,
    check_exact,
    check_recovery,
)
from glmcheck.checks.convergence import EBFMI_MIN, ESS_MIN, RHAT_MAX
from glmcheck.fitters import FitSettings, make_fitter
from glmcheck.frontends import FRONTENDS, build
from glmcheck.runner import FitRequest
from glmcheck.stats.multiplicity import beta_interval, bonferroni_z

#: the default settings of ``glmcheck check``
SETTINGS = FitSettings(chains=4, tune=1000, draws=1000)
KINDS = ("convergence", "exact", "recovery", "agreement")
LOOSE_ALPHAS = (0.1, 0.01, 0.001)
QUANTILES = (0.5, 0.9, 0.99)
SINGLE_PS = (0.01, 0.001, 0.0001)


def margin(result) -> float:
    """How close a result came to failing: >= 1 fails (divergences aside)."""
    if result.check == "convergence":
        ratios = []
        for row in result.rows:
            ratios.append((row["r_hat"] - 1) / (result.threshold["rhat_max"] - 1))
            ratios.append(result.threshold["ess_min"] / min(row["ess_bulk"], row["ess_tail"]))
        ebfmi = result.details.get("ebfmi") or []
        if ebfmi:
            ratios.append(result.threshold["ebfmi_min"] / min(ebfmi))
        return float(max(ratios))
    return float(max(abs(row["z"]) for row in result.rows) / result.threshold["z"])


def record(trials: list[dict], result, scope: str) -> None:
    entry = {"scope": scope, "passed": bool(result.passed), "margin": margin(result)}
    if result.check != "convergence":
        entry["max_abs_z"] = float(max(abs(row["z"]) for row in result.rows))
        entry["k"] = len(result.rows)
        #: |z| of every statistic (mean, sd, q05, ...; recovery: the parameter's z)
        entry["z_by_stat"] = [(row.get("statistic", "z"), abs(row["z"])) for row in result.rows]
    else:
        entry["divergences"] = int(result.details.get("divergences") or 0)
    if not result.passed:
        entry["message"] = result.message
        if result.check == "convergence":
            worst = max(result.rows, key=lambda r: r["r_hat"])
            low = min(result.rows, key=lambda r: min(r["ess_bulk"], r["ess_tail"]))
            entry["message"] += (f" (max R-hat {worst['r_hat']:.4f} for {worst['param']}; min ESS "
                                 f"bulk {low['ess_bulk']:.0f} / tail {low['ess_tail']:.0f} for "
                                 f"{low['param']})")
    trials.append(entry)


def per_statistic(entries: list[dict]) -> dict:
    """Calibration of single z-scores by statistic: how often |z| exceeds the two-sided N(0, 1)
    quantile of p, relative to p (1 = calibrated; > 1 = heavier tails than N(0, 1))."""
    from scipy import stats

    by_stat = defaultdict(list)
    for e in entries:
        for stat, z in e["z_by_stat"]:
            by_stat[stat].append(z)
    out = {}
    for stat, zs in by_stat.items():
        zs = np.asarray(zs)
        row = {"z_values": len(zs), "max_abs_z": float(zs.max())}
        for p in SINGLE_PS:
            hits = int((zs >= stats.norm.isf(p / 2)).sum())
            row[f"p={p:g}"] = {"exceed": hits, "expected": p * len(zs),
                               "ratio": hits / (p * len(zs))}
        out[stat] = row
    return out


def summarize(entries: list[dict], alpha: float) -> dict:
    n = len(entries)
    failures = sum(not e["passed"] for e in entries)
    lo, hi = beta_interval(failures, n, 0.95)
    margins = np.array([e["margin"] for e in entries])
    out = {
        "trials": n,
        "failures": failures,
        "rate": failures / n,
        "rate_95": [lo, hi],
        "nominal_alpha": alpha,
        "margin_quantiles": {f"q{round(q * 100):02d}": float(np.quantile(margins, q)) for q in QUANTILES},
        "margin_max": float(margins.max()),
        "failure_messages": [e["message"] for e in entries if not e["passed"]][:10],
    }
    if "max_abs_z" in entries[0]:
        loose = {}
        for a in LOOSE_ALPHAS:
            hits = sum(e["max_abs_z"] >= bonferroni_z(a, e["k"]) for e in entries)
            loose[str(a)] = {"failures": hits, "rate": hits / n, "rate_95": list(beta_interval(hits, n))}
        out["at_looser_alpha"] = loose
        out["per_statistic"] = per_statistic(entries)
    else:
        out["divergent_fits"] = sum(e["divergences"] > 0 for e in entries)
    return out


def run(cases, n_fits: int, seed: int, alpha: float, max_seconds: float | None, log, *,
        settings: FitSettings = SETTINGS, explicit=frozenset(), sampler: str = "nutpie",
        checks=KINDS, reference: bool = False) -> dict:
    """``settings`` hold for every case except where a case's own ``fit_settings`` set a value
    not in ``explicit`` (as in ``glmcheck check``). ``reference``: fit the case's reference data
    set every time, only the seed changing (exactly what ``glmcheck check --seed S`` does),
    instead of a new data set each time."""
    trials: dict[str, list[dict]] = defaultdict(list)
    settings_by_case: dict[str, dict] = {}
    timing = {}
    reached = {}
    start_all = time.perf_counter()
    for ci, name in enumerate(cases):
        case = get_case(name)
        truth = dict(case.true_params)
        design = case.design()
        t0 = time.perf_counter()
        case_settings = FitRequest(settings=settings, explicit=explicit).settings_for(case)
        settings_by_case[name] = case_settings.to_dict()
        fitters = {fe: make_fitter(sampler, build(case, fe, case.reference_data()), case_settings)
                   for fe in FRONTENDS}
        has_exact = case.exact_posterior(case.reference_data()) is not None
        compile_s = time.perf_counter() - t0
        rng = np.random.default_rng([seed, ci])
        t0 = time.perf_counter()
        done = 0
        for i in range(n_fits):
            if max_seconds is not None and time.perf_counter() - start_all > max_seconds:
                log(f"{name}: time limit reached after {done} data sets")
                break
            y = (case.reference_data()[case.response].to_numpy() if reference
                 else case.simulate(truth, design, rng))
            data = design.copy()
            data[case.response] = y
            exact = case.exact_posterior(data) if has_exact and "exact" in checks else None
            posts = {}
            for fi, (fe, fitter) in enumerate(fitters.items()):
                post = fitter.fit(y, seed=seed * 1_000_003 + ci * 100_000 + 2 * i + fi)
                posts[fe] = post
                scope = f"{name} · {fe}"
                if "convergence" in checks:
                    record(trials["convergence"], check_convergence(post), scope)
                if exact is not None:
                    record(trials["exact"], check_exact(post, exact, alpha=alpha), scope)
                if "recovery" in checks:
                    record(trials["recovery"], check_recovery(post, truth, alpha=alpha), scope)
            if "agreement" in checks:
                record(trials["agreement"],
                       check_agreement(posts["pymc"], posts["bambi"], alpha=alpha),
                       f"{name} · pymc vs bambi")
            done += 1
            if done % 25 == 0:
                log(f"{name}: {done}/{n_fits} data sets, {time.perf_counter() - t0:.0f} s")
        reached[name] = done
        timing[name] = {"compile_s": compile_s, "fit_and_check_s": time.perf_counter() - t0,
                        "per_data_set_s": (time.perf_counter() - t0) / max(done, 1)}
    report = {
        "alpha": alpha,
        "settings": settings.to_dict(),
        "settings_by_case": settings_by_case,
        "sampler": sampler,
        "frontends": list(FRONTENDS),
        "cases": list(cases),
        "data": "the reference data set, refitted" if reference else "simulated at the truth",
        "data_sets_requested": n_fits,
        "data_sets": reached,
        "seed": seed,
        "timing": timing,
        "versions": compat.versions(),
        "margin_definition": "exact/agreement/recovery: max|z| / Bonferroni threshold; "
                             "convergence: max of (R-hat-1)/(R-hat max-1), ESS min/min ESS, "
                             "E-BFMI min/min E-BFMI; >= 1 fails",
        "thresholds": {"rhat_max": RHAT_MAX, "ess_min": ESS_MIN, "ebfmi_min": EBFMI_MIN},
        "by_check": {},
        "by_scope": {},
    }
    for kind in KINDS:
        entries = trials.get(kind)
        if not entries:
            continue
        report["by_check"][kind] = summarize(entries, alpha)
        scopes = dict.fromkeys(e["scope"] for e in entries)
        report["by_scope"][kind] = {
            s: summarize([e for e in entries if e["scope"] == s], alpha) for s in scopes
        }
    return report


def _row(label: str, s: dict) -> str:
    q = s["margin_quantiles"]
    lo, hi = s["rate_95"]
    loose = s.get("at_looser_alpha")
    loose_txt = " / ".join(
        f"{v['failures']}" for v in loose.values()
    ) if loose else f"{s.get('divergent_fits', 0)} divergent fits"
    return (f"| {label} | {s['failures']}/{s['trials']} | {s['rate']:.4f} | [{lo:.4f}, {hi:.4f}] "
            f"| {q['q50']:.2f} | {q['q90']:.2f} | {q['q99']:.2f} | {s['margin_max']:.2f} | {loose_txt} |")


def markdown(report: dict) -> str:
    lines = [
        f"False alarms on correct models: {report['sampler']}, {report['settings']} (cases' own "
        f"fit settings: {report['settings_by_case']}), data sets "
        f"{report['data_sets']} per case (each fitted through both frontends), alpha = "
        f"{report['alpha']:g}.",
        "",
        "Margin = max|z| / threshold (convergence: worst of R-hat, ESS, E-BFMI relative to "
        "its bound); >= 1 fails. Last column: failures at Bonferroni alpha = "
        + " / ".join(str(a) for a in LOOSE_ALPHAS) + ".",
        "",
        "| check | failures/trials | rate | 95 % interval | margin q50 | q90 | q99 | max | "
        "at looser alpha |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for kind, s in report["by_check"].items():
        lines.append(_row(f"**{kind}** (all)", s))
        for scope, ss in report["by_scope"][kind].items():
            lines.append(_row(f"{kind}: {scope}", ss))
    z_kinds = [k for k in report["by_check"] if "per_statistic" in report["by_check"][k]]
    lines += [
        "",
        "Single z-scores by statistic, pooled over cases and frontends: observed / expected "
        "count of |z| above the two-sided N(0, 1) quantile of p.",
        "",
        "| check | statistic | z-scores | " + " | ".join(f"p = {p:g}" for p in SINGLE_PS)
        + " | max abs z |",
        "|---|---|---|" + "---|" * len(SINGLE_PS) + "---|",
    ]
    for kind in z_kinds:
        for stat, row in report["by_check"][kind]["per_statistic"].items():
            cells = " | ".join(
                f"{row[f'p={p:g}']['exceed']} / {row[f'p={p:g}']['expected']:.1f}" for p in SINGLE_PS
            )
            lines.append(f"| {kind} | {stat} | {row['z_values']} | {cells} | {row['max_abs_z']:.2f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fits", type=int, default=200, help="data sets per case (default 200)")
    parser.add_argument("--json", help="write the report as JSON to this path")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--alpha", type=float, default=ALPHA)
    parser.add_argument("--cases", nargs="+", default=[c.name for c in list_cases()],
                        help="cases (default: every built-in case)")
    parser.add_argument("--checks", nargs="+", default=list(KINDS), choices=KINDS)
    parser.add_argument("--sampler", default="nutpie")
    parser.add_argument("--reference", action="store_true",
                        help="refit each case's reference data set (as glmcheck check does) "
                             "instead of simulating a new data set per fit")
    parser.add_argument("--chains", type=int, help=f"default {SETTINGS.chains}")
    parser.add_argument("--tune", type=int, help=f"default {SETTINGS.tune}")
    parser.add_argument("--draws", type=int, help=f"default {SETTINGS.draws}")
    parser.add_argument("--target-accept", type=float, help=f"default {SETTINGS.target_accept}")
    parser.add_argument("--max-seconds", type=float, default=None,
                        help="start no new data set after this many seconds")
    args = parser.parse_args(argv)
    if args.fits < 1:
        parser.error("--fits must be >= 1")

    def log(message):
        print(message, file=sys.stderr, flush=True)

    given = {k: getattr(args, k) for k in ("chains", "tune", "draws", "target_accept")
             if getattr(args, k) is not None}
    report = run(args.cases, args.fits, args.seed, args.alpha, args.max_seconds, log,
                 settings=replace(SETTINGS, **given), explicit=frozenset(given),
                 sampler=args.sampler, checks=tuple(args.checks), reference=args.reference)
    print(markdown(report))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2, allow_nan=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
