"""False alarms of ``glmcheck baseline check`` on an unchanged stack, and its power.

Fits every case × frontend × sampler (compiled once, refit with ``--runs`` seeds) on the stored
reference data at the baseline check's settings and compares each posterior with the committed
reference, exactly as ``glmcheck baseline check`` does, at the threshold of a whole default
check (every case × frontend × sampler × route, family alpha 0.01). Nothing changed, so every
flagged statistic is a false alarm.

Reported: runs with any alarm (a run = every fit of one seed); the per-comparison z-scores'
spread and tail frequencies against N(0, 1); and the family false-alarm rate of one whole
default check derived from them, K × P(|z| > crit) with P from the empirical tail (and from a
normal of the observed sd). Power: the smallest mean shift (in posterior sds) that the mean's
z-score catches in 90 % of the fits, per fit kind.

    python benchmarks/baseline_false_alarms.py --runs 20 --json baseline_false_alarms.json
    python benchmarks/baseline_false_alarms.py --samplers nutpie --cases linear --runs 5
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
from scipy import stats

from glmcheck import baseline as bl
from glmcheck.cases import BUILTIN, get_case
from glmcheck.fitters import SAMPLERS, get_fitter
from glmcheck.frontends import FRONTENDS, build
from glmcheck.posterior import ROUTES
from glmcheck.stats.multiplicity import bonferroni_z


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", nargs="+", default=list(BUILTIN))
    p.add_argument("--frontends", nargs="+", default=list(FRONTENDS))
    p.add_argument("--samplers", nargs="+", default=["nutpie", "numpyro", "blackjax"])
    p.add_argument("--runs", type=int, default=20, help="seeds per fit kind (20)")
    p.add_argument("--seed", type=int, default=50_000)
    p.add_argument("--json", help="write every z-score and the summary here")
    args = p.parse_args(argv)

    per_fit = sum(bl.load_reference(c).comparisons for c in BUILTIN)
    k_default = per_fit * len(FRONTENDS) * len(SAMPLERS) * len(ROUTES)
    crit = bonferroni_z(bl.ALPHA, k_default)
    print(f"default check: K = {k_default} comparisons, |z| < {crit:.3f}")
    zs, alarms_by_run, power = [], {}, {}
    start = time.perf_counter()
    for name in args.cases:
        case = get_case(name)
        reference = bl.load_reference(case)
        settings = bl.check_settings(case)
        for frontend in args.frontends:
            spec = build(case, frontend, reference.data)
            for sampler in args.samplers:
                fitter = get_fitter(sampler)(spec, settings)
                needed = []
                for run in range(args.runs):
                    post = fitter.fit(seed=args.seed + run)
                    result = bl.compare_posterior(post, reference, crit=crit, alpha=bl.ALPHA,
                                                  k_total=k_default)
                    zs += [r["z"] for r in result.rows]
                    alarms_by_run.setdefault(run, 0)
                    alarms_by_run[run] += not result.passed
                    # per parameter, the smallest upward shift d (in reference sds) whose
                    # mean z-score z + d * sd / MCSE reaches crit
                    for row in result.rows:
                        if row["statistic"] == "mean":
                            sd = reference.statistics[row["param"]]["sd"]["value"]
                            combined = np.hypot(row["mcse"], row["mcse_ref"])
                            needed.append(max(0.0, (crit - row["z"]) * combined / sd))
                key = f"{name} · {frontend} · {sampler}"
                power[key] = float(np.quantile(needed, 0.9))
                worst = max(abs(z) for z in zs[-len(result.rows) * args.runs:])
                print(f"{key}: {args.runs} runs, max |z| {worst:.2f}, 90 % power at a mean "
                      f"shift of {power[key]:.3f} sd ({time.perf_counter() - start:.0f} s)",
                      flush=True)
    z = np.asarray(zs, dtype=float)
    n = len(z)
    sd = float(z.std())
    tails = {t: float(np.mean(np.abs(z) > t)) for t in (2, 3, 4)}
    exceed = int(np.sum(np.abs(z) >= crit))
    # family rate of a default check: K comparisons at the empirical per-comparison rate; the
    # empirical rate at crit is below 1/n, so bound it by the normal with the observed spread
    per_comparison = float(2 * stats.norm.sf(crit / sd))
    summary = {
        "comparisons": n, "runs": args.runs, "runs_with_alarm": sum(v > 0 for v in alarms_by_run.values()),
        "z_sd": sd, "z_mean": float(z.mean()), "tails": tails,
        "normal_tails": {t: float(2 * stats.norm.sf(t)) for t in tails},
        "crit": crit, "k_default": k_default, "exceedances": exceed,
        "family_rate_normal_fit": min(1.0, k_default * per_comparison),
        "power_90_shift_sd": power,
    }
    print(json.dumps({k: v for k, v in summary.items() if k != "power_90_shift_sd"}, indent=1))
    print(f"smallest mean shift caught with 90 % power: median over fit kinds "
          f"{np.median(list(power.values())):.3f} sd, worst {max(power.values()):.3f} sd")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({**summary, "z": z.tolist()}, fh)
    return 0 if exceed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
