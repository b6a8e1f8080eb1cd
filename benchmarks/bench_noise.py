"""False alarms, noise and power of ``glmcheck bench compare``'s rule, on this machine.

Two experiments on the default small subset (linear, both frontends, nutpie, the default
repeats), each run with its own seed (so that the ESS of two runs is as independent as between
two library versions: stricter than rerunning one seed):

1. **separate runs**: ``glmcheck bench`` RUNS times one after the other; consecutive runs are
   compared as ``bench compare`` does by default (ESS per gradient and gradients per draw
   judged, times not: they ran in different time windows), and once more with times judged,
   to show why they are not;
2. **interleaved runs**: ``glmcheck bench --env self --env self`` RUNS - 1 times (two stacks
   that are the same, in one time window, three worker processes per side), every metric
   judged.

For each: the pairs with any flag (false alarms), the coefficient of variation of every metric
within a run and between runs, and the power against planted errors: a slowdown (every time × s,
every ESS/s ÷ s) or a loss of ESS per gradient (ESS, ESS/grad and ESS/s × l) planted into the
second side of each pair, at several sizes; the smallest slowdown flagged in at least 90 % of
pairs is what the default rule catches.

Resumable: runs already in OUT are reused. Not part of CI. Usage::

    python benchmarks/bench_noise.py --runs 21 --out bench-noise
"""

from __future__ import annotations

import argparse
import copy
import subprocess
import sys
from pathlib import Path

import numpy as np

from glmcheck.bench import ALPHA, FACTOR, METRICS, REPEATS, compare_bench
from glmcheck.record import load_record

TIME = ("warmup_s", "sampling_s", "fit_s", "us_per_grad")
PER_SECOND = ("ess_per_s", "ess_per_s_total")
ESS = ("ess_bulk", "ess_per_grad", "ess_per_s", "ess_per_s_total")
SLOWDOWNS = (1.05, 1.10, 1.12, 1.15, 1.20, 1.25, 1.30)
ESS_LOSSES = (0.95, 0.90, 0.85, 0.80, 0.75)


def run_all(out: Path, runs: int, extra: list[str], interleaved: bool) -> list[tuple[dict, dict]]:
    """(A, B) record pairs: consecutive separate runs, or the two sides of interleaved runs."""
    folder = out / ("interleaved" if interleaved else "separate")
    count = runs - 1 if interleaved else runs
    found = []
    for r in range(count):
        run = folder / f"run-{r + 1:03d}"
        if not run.exists():
            envs = ["--env", "self", "--env", "self"] if interleaved else []
            cmd = [sys.executable, "-m", "glmcheck", "bench", "--seed", str(8927 + 1000 * r),
                   "--no-figures", "--out", str(folder), *envs, *extra]
            subprocess.run(cmd, check=False, stdout=subprocess.DEVNULL)
            print(f"{folder.name} run {r + 1}/{count} done", file=sys.stderr)
        if interleaved:
            found.append((load_record(run / "A" / "results.json"),
                          load_record(run / "B" / "results.json")))
        else:
            found.append(load_record(run / "results.json"))
    return found if interleaved else list(zip(found[:-1], found[1:]))


def plant(record: dict, *, slow: float = 1.0, ess: float = 1.0) -> dict:
    b = copy.deepcopy(record)
    for config in b["bench"]["configs"]:
        for run in config["runs"]:
            for key in TIME:
                if run.get(key) is not None:
                    run[key] *= slow
            for key in PER_SECOND:
                if run.get(key) is not None:
                    run[key] /= slow
            for key in ESS:
                if run.get(key) is not None:
                    run[key] *= ess
    return b


def flagged(comparison, metric: str | None = None, status=("regressed",)) -> bool:
    return any(c.status in status and (metric is None or c.metric == metric)
               for c in comparison.changes)


def cv(values) -> float:
    values = np.asarray([v for v in values if v is not None], dtype=float)
    return float(values.std(ddof=1) / values.mean()) if len(values) > 1 and values.mean() else float("nan")


def noise_table(pairs) -> list[str]:
    lines = ["| metric | judged | CV within a run (median) | CV of run medians, A vs B (median) |",
             "|---|---|---|---|"]
    n = len(pairs[0][0]["bench"]["configs"])
    for m in METRICS:
        if m.key == "compile_s":
            values = [c["compile_s"] for a, _ in pairs for c in a["bench"]["configs"]]
            lines.append(f"| {m.label} | no | one per run | {cv(values):.1%} over runs |")
            continue
        within, between = [], []
        for a, b in pairs:
            for i in range(n):
                ra, rb = a["bench"]["configs"][i]["runs"], b["bench"]["configs"][i]["runs"]
                if any(r[m.key] is None for r in ra + rb):
                    continue
                within.append(cv([r[m.key] for r in ra]))
                ma, mb = np.median([r[m.key] for r in ra]), np.median([r[m.key] for r in rb])
                between.append(abs(ma - mb) / ((ma + mb) / 2) / np.sqrt(2) if ma + mb else 0.0)
        if not within:
            lines.append(f"| {m.label} | {'yes' if m.judged else 'no'} | n/a | n/a |")
            continue
        lines.append(f"| {m.label} | {'yes' if m.judged else 'no'} | "
                     f"{np.median(within):.1%} | {np.median(between):.1%} |")
    return lines


def experiment(title: str, pairs, judge_times) -> list[str]:
    def compare(a, b):
        return compare_bench(a, b, judge_times=judge_times)

    lines = [f"## {title}", ""]
    same = [compare(a, b) for a, b in pairs]
    alarms = sum(flagged(c, status=("regressed", "improved")) for c in same)
    regress = sum(flagged(c) for c in same)
    which = sorted({ch.metric for c in same for ch in c.changes
                    if ch.status in ("regressed", "improved")})
    lines += [f"False alarms: {alarms}/{len(pairs)} pairs with any flag ({regress} with a "
              f"regression){'; metrics flagged: ' + ', '.join(which) if which else ''}.", ""]
    lines += noise_table(pairs)
    lines += ["", "| planted | size | pairs flagged as regressed |", "|---|---|---|"]
    caught_at = None
    if same[0].times_judged:
        for s in SLOWDOWNS:
            hits = sum(flagged(compare(a, plant(b, slow=s)), "fit_s") for a, b in pairs)
            lines.append(f"| slowdown (fit time × s) | {s:g} | {hits}/{len(pairs)} |")
            if caught_at is None and hits >= 0.9 * len(pairs):
                caught_at = s
    for loss in ESS_LOSSES:
        hits = sum(flagged(compare(a, plant(b, ess=loss)), "ess_per_grad") for a, b in pairs)
        lines.append(f"| loss of ESS per gradient (× l) | {loss:g} | {hits}/{len(pairs)} |")
    if same[0].times_judged:
        lines += ["", f"Smallest planted slowdown flagged in at least 90 % of pairs: "
                      f"{'none tried' if caught_at is None else f'×{caught_at:g}'}."]
    return lines + [""]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=21)
    p.add_argument("--out", type=Path, default=Path("bench-noise"))
    args, extra = p.parse_known_args()
    separate = run_all(args.out, args.runs, extra, interleaved=False)
    interleaved = run_all(args.out, args.runs, extra, interleaved=True)
    lines = [f"# bench compare: noise, false alarms and power (rule ×{FACTOR:g} and "
             f"p < {ALPHA:g}, {REPEATS} repeats)", ""]
    lines += experiment(f"Separate runs ({len(separate)} consecutive pairs), the default rule",
                        separate, None)
    lines += experiment("Separate runs, times judged too (--judge-times)", separate, True)
    lines += experiment(f"Interleaved runs ({len(interleaved)} runs of --env self --env self)",
                        interleaved, None)
    text = "\n".join(lines)
    (args.out / "summary.markdown").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
