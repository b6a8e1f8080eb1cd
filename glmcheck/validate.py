"""``glmcheck validate --profile NAME``: run a profile's commands, then write its report.

A profile (:mod:`glmcheck.profiles`) is a list of ordinary glmcheck commands — ``check``,
``sbc``, ``baseline check`` and, nightly, ``bench`` — each writing its own record into a folder
of this run. Their arguments and the stored references are checked before the first fit, so a
bad sampler name or a missing baseline costs nothing (exit 2). Then every step runs, even after
one fails, and the run writes a record of kind ``validate`` naming each step's record, its exit
code and its time, and the report of all of them: ``report.html``, ``report.md`` and
``junit.xml``. The exit code is the worst of the steps' (4 > 3 > 1 > 0); a step that finds bad
input midway (exit 2) stops the run, with what ran so far reported.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

__all__ = ["add_parser", "command"]


def add_parser(sub, parser_class) -> None:
    from glmcheck.options import add_cli
    from glmcheck.profiles import PROFILES

    lines = "; ".join(f"{p.name}: {p.purpose}" for p in PROFILES.values())
    p = sub.add_parser(
        "validate", help="run a profile (checks, SBC, baseline check, benchmarks) and report it",
        description=f"Run the commands of a profile and write their report. Profiles: {lines}.",
    )
    add_cli(p, "profile", "sampler", "simulations", "baselines", "out")
    p.add_argument("--seed", type=int, default=8927, help="random seed of every step (8927)")
    p.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)


def _precheck(steps) -> None:
    """Everything that can be known before the first fit: every step's arguments parse, its
    samplers are installed, and the baseline step's references exist and are sound."""
    from glmcheck import baseline as bl
    from glmcheck.cli import build_parser
    from glmcheck.errors import UsageError
    from glmcheck.fitters import SAMPLERS, installed

    parser = build_parser()
    have = installed()
    for step in steps:
        parsed = parser.parse_args(list(step.argv))
        for value in getattr(parsed, "sampler", None) or []:
            for name in value.split(","):
                if name in SAMPLERS and not have[name]:
                    raise UsageError(f"sampler {name!r} of step {step.name!r} is not installed; "
                                     "install glmcheck[jax] or choose others with --sampler")
        if step.name == "baseline":
            from glmcheck.baseline_cli import _selection

            cases, *_ = _selection(parsed)
            for case in cases:
                bl.load_reference(case, parsed.baselines)


def command(args) -> int:
    from glmcheck import reporting
    from glmcheck.cli import main, new_run_dir
    from glmcheck.errors import EXIT_USAGE, worst_exit
    from glmcheck.profiles import get_profile
    from glmcheck.record import new_record, write_record

    profile = get_profile(args.profile or "quick")
    out = args.out or Path("glmcheck-out")
    probe = profile.steps(out=out / "run-000", samplers=args.sampler,
                          simulations=args.simulations, baselines=args.baselines,
                          seed=args.seed)
    _precheck(probe)
    run_dir = new_run_dir(out)
    steps = profile.steps(out=run_dir, samplers=args.sampler, simulations=args.simulations,
                          baselines=args.baselines, seed=args.seed)
    record = new_record("validate", {
        "profile": profile.name, "samplers": list(args.sampler) if args.sampler else None,
        "simulations": args.simulations, "seed": args.seed,
        "baselines": str(args.baselines) if args.baselines else None,
    }, steps=[])
    path = run_dir / "results.json"
    write_record(path, record)
    codes = []
    start = time.monotonic()
    for i, step in enumerate(steps, 1):
        print(f"glmcheck validate {profile.name}: step {i}/{len(steps)}: glmcheck "
              f"{' '.join(step.argv)}", file=sys.stderr, flush=True)
        began = time.monotonic()
        code = main([*step.argv, *(["--debug"] if args.debug else [])])
        found = sorted((run_dir / step.name).glob("run-*/*.json"))
        record["steps"].append({
            "name": step.name, "argv": list(step.argv), "exit_code": code,
            "seconds": round(time.monotonic() - began, 2),
            "record": found[-1].relative_to(run_dir).as_posix() if found else None,
        })
        write_record(path, record)
        codes.append(code)
        if code == EXIT_USAGE:
            break
    record["seconds"] = round(time.monotonic() - start, 2)
    code = worst_exit(*codes)
    record["exit_code"] = code
    write_record(path, record)
    runs, warnings = reporting.load_runs([path])
    reporting.write_reports(runs, warnings, html_path=run_dir / "report.html",
                            markdown_path=run_dir / "report.md",
                            junit_path=run_dir / "junit.xml")
    for step in record["steps"]:
        print(f"{step['name']:<9} {reporting.VERDICTS.get(step['exit_code'], '?'):<11} "
              f"{step['seconds']:8.1f} s  {step['record'] or '(no record)'}")
    print(f"glmcheck validate {profile.name}: {reporting.VERDICTS[code]} in "
          f"{record['seconds'] / 60:.1f} min")
    print(f"report: {run_dir / 'report.html'} (Markdown: report.md, JUnit: junit.xml)")
    print(f"results: {path}")
    return code
