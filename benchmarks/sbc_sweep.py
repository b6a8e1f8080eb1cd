"""Prior SBC over the matrix: every case × frontend × installed sampler.

Each combination is an ordinary ``glmcheck sbc`` run with its own store under ``--stores``
(``CASE-FRONTEND-SAMPLER``), so an interrupted sweep resumes where it stopped and a finished one
recomputes nothing. Prints one markdown row per run: the verdict, the smallest ECDF-band p-value
(and its quantity), failed and unconverged fits, and the wall time.

    python benchmarks/sbc_sweep.py --stores sweep-stores -n 200
    python benchmarks/sbc_sweep.py --stores sweep-stores -n 200 --samplers numpyro blackjax \\
        --cases shrinkage varying_intercept --json sweep.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from glmcheck.cases import list_cases
from glmcheck.errors import GlmcheckError
from glmcheck.fitters import installed
from glmcheck.frontends import FRONTENDS
from glmcheck.sbc import SBCConfig, analyse, run_sbc

HEADER = ("| case | frontend | sampler | verdict | smallest ECDF p (quantity) | failed | "
          "unconverged | seconds |\n|---|---|---|---|---|---|---|---|")


def sweep(cases, frontends, samplers, n: int, stores: Path, *, seed: int, draws: int,
          workers: int, log) -> list[dict]:
    rows = []
    for case in cases:
        for frontend in frontends:
            for sampler in samplers:
                config = SBCConfig(case=case, frontend=frontend, sampler=sampler, seed=seed,
                                   draws=draws, thin=max(1, draws // 100))
                start = time.perf_counter()
                try:
                    run = run_sbc(config, n, stores / f"{case}-{frontend}-{sampler}",
                                  workers=workers)
                except GlmcheckError as exc:
                    row = {"case": case, "frontend": frontend, "sampler": sampler,
                           "passed": False, "error": str(exc)}
                else:
                    result, _ = analyse(run)
                    worst = min(result.rows, key=lambda r: r["ecdf_p"])
                    row = {"case": case, "frontend": frontend, "sampler": sampler,
                           "passed": result.passed, "message": result.message,
                           "min_ecdf_p": worst["ecdf_p"], "min_quantity": worst["quantity"],
                           "failed": result.details["failed"],
                           "unconverged": result.details["unconverged"],
                           "simulations": result.details["simulations"],
                           "computed": run.computed}
                row["seconds"] = time.perf_counter() - start
                rows.append(row)
                log(markdown_row(row))
    return rows


def markdown_row(row: dict) -> str:
    head = f"| {row['case']} | {row['frontend']} | {row['sampler']} |"
    if "error" in row:
        return f"{head} ERROR: {row['error']} | | | | |"
    verdict = "pass" if row["passed"] else f"**FAIL**: {row['message']}"
    return (f"{head} {verdict} | {row['min_ecdf_p']:.3g} ({row['min_quantity']}) | "
            f"{row['failed']}/{row['simulations']} | {row['unconverged']}/{row['simulations']} | "
            f"{row['seconds']:.0f} |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", required=True, type=Path, help="folder for the run stores")
    parser.add_argument("-n", "--simulations", type=int, default=200)
    parser.add_argument("--cases", nargs="+", default=[c.name for c in list_cases()])
    parser.add_argument("--frontends", nargs="+", default=list(FRONTENDS))
    parser.add_argument("--samplers", nargs="+", default=None,
                        help="default: every installed sampler")
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json", help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    samplers = args.samplers or [name for name, ok in installed().items() if ok]

    def log(line):
        print(line, flush=True)

    log(HEADER)
    rows = sweep(args.cases, args.frontends, samplers, args.simulations, args.stores,
                 seed=args.seed, draws=args.draws, workers=args.workers, log=log)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0 if all(r["passed"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
