"""``glmcheck`` on the command line. A thin shell over :mod:`glmcheck.runner`.

Exit codes, the same for every command (:mod:`glmcheck.errors`): 0 everything asked ran and
passed; 1 a check failed; 2 bad input, found before any work; 3 a fit failed (reported per fit,
the run goes on); 4 an internal error, glmcheck's or a plugin's. The highest wins (4 > 3 > 1 >
0). Errors are one line on stderr; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from glmcheck import __version__
from glmcheck.errors import (
    EXIT_FAILED, EXIT_FIT, EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, FitError, GlmcheckError,
    PluginError, UsageError, worst_exit,
)

__all__ = ["main", "build_parser", "EXIT_OK", "EXIT_FAILED", "EXIT_USAGE", "EXIT_FIT",
           "EXIT_INTERNAL"]


class _Parser(argparse.ArgumentParser):
    """argparse, but bad arguments are a one-line UsageError like every other bad input."""

    def error(self, message):
        raise UsageError(f"{self.prog}: {message}")


def _names(values: list[str] | None, default: tuple[str, ...],
           every: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """Repeated and comma-separated option values, in order, without duplicates; where
    ``every`` is given, the value ``all`` stands for every name in it."""
    if not values:
        return default
    out: list[str] = []
    for value in values:
        for name in value.split(","):
            name = name.strip()
            for one in (every if every is not None and name == "all" else (name,)):
                if one and one not in out:
                    out.append(one)
    return tuple(out)


def _add_check_options(p: argparse.ArgumentParser, *, coverage: int) -> None:
    from glmcheck.checks import ALPHA, CHECKS

    g = p.add_argument_group("checks")
    g.add_argument("--check", action="append", metavar="NAME",
                   help=f"checks to run: {', '.join(CHECKS)} (default: all that apply)")
    g.add_argument("--coverage-sets", type=int, default=coverage, metavar="K",
                   help=f"prior simulations for coverage ({coverage}; 0: off)")
    g.add_argument("--alpha", type=float, default=ALPHA,
                   help=f"family false-alarm rate of each check (default {ALPHA:g})")


#: FitSettings fields with a command-line option (``--target-accept`` -> ``target_accept``)
_FIT_OPTIONS = ("chains", "tune", "draws", "target_accept")


def _add_fit_options(p: argparse.ArgumentParser, *, draws: int, chains: int = 2) -> None:
    g = p.add_argument_group("what to fit")
    g.add_argument("--case", "-c", action="append", metavar="NAME",
                   help="case name or package.module:attribute (repeat or comma-separate; "
                        "default: linear for run, every built-in case for check)")
    g.add_argument("--frontend", "-f", action="append", metavar="NAME",
                   help="pymc and/or bambi (default: both)")
    g.add_argument("--sampler", "-s", action="append", metavar="NAME",
                   help="nutpie, pymc, numpyro, blackjax or package.module:ClassName "
                        "(default: nutpie)")
    g.add_argument("--data", metavar="CSV", type=Path,
                   help="fit this data set instead of the case's reference data (one case)")
    g = p.add_argument_group(
        "sampling", "a case may need more (varying_intercept: 2000 draws, target_accept 0.95); "
        "it gets that unless these are given"
    )
    g.add_argument("--draws", type=int, help=f"draws per chain (default {draws})")
    g.add_argument("--tune", type=int, help="warm-up iterations per chain (1000)")
    g.add_argument("--chains", type=int, help=f"chains (default {chains})")
    g.add_argument("--target-accept", type=float, metavar="P",
                   help="NUTS step-size adaptation target (default 0.8)")
    g.add_argument("--seed", type=int, default=8927, help="random seed (default 8927)")
    # the command's own defaults; tune and target_accept are FitSettings' defaults
    p.set_defaults(fit_defaults={"draws": draws, "chains": chains})


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="glmcheck",
        description="Validate and benchmark Bayesian GLMs written in PyMC and Bambi.",
    )
    parser.add_argument("--version", action="version", version=f"glmcheck {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    run = sub.add_parser(
        "run",
        help="fit cases with both frontends, print summaries, write figures and JSON",
        description="Replay the GLM tutorial end to end (by default: the linear case, "
        "hand-written PyMC and Bambi, nutpie, 3000 draws, seed 8927).",
    )
    _add_fit_options(run, draws=3000)
    run.add_argument("--out", "-o", type=Path, default=Path("glmcheck-out"),
                     help="output folder; each run writes a new run-NNN folder inside "
                          "(default: glmcheck-out)")
    run.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    run.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    _add_check_options(run, coverage=20)

    check = sub.add_parser(
        "check",
        help="fit cases × frontends × samplers and run the correctness checks",
        description="Convergence gates, exact reference posteriors, parameter recovery and "
        "coverage, and agreement between frontends and between samplers. Exit 0 when every "
        "check passes, 1 when any fails.",
    )
    _add_fit_options(check, draws=1000, chains=4)
    _add_check_options(check, coverage=20)
    check.add_argument("--out", "-o", type=Path, default=Path("glmcheck-out"),
                       help="output folder for results.json (a new run-NNN inside)")
    check.add_argument("--figures", action="store_true",
                       help="also draw each case's data and each fit's trace and regression "
                            "lines, for the report")
    check.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)

    sbc = sub.add_parser(
        "sbc",
        help="simulation-based calibration of cases × frontends × samplers, as one job",
        description="Prior (or posterior) SBC with each case's own simulator. Several cases, "
        "frontends and samplers run as one scheduled job on every worker; every finished "
        "simulation is stored in its configuration's store as it finishes: rerun the same "
        "command to resume. Exit 0 when every configuration is calibrated, 1 when any is not, "
        "3 when a model does not build.",
    )
    g = sbc.add_argument_group("what to calibrate")
    g.add_argument("--case", "-c", action="append", metavar="NAME",
                   help="case name or module:attribute; repeat, comma-separate, or 'all' (linear)")
    g.add_argument("--frontend", "-f", action="append", metavar="NAME",
                   help="pymc, bambi or all (pymc)")
    g.add_argument("--sampler", "-s", action="append", metavar="NAME",
                   help="sampler name or module:Class; repeat, or 'all': every installed (nutpie)")
    g.add_argument("--all", action="store_true",
                   help="every built-in case with both frontends (the samplers of --sampler)")
    g.add_argument("--posterior", action="store_true",
                   help="posterior SBC: θ* from the exact posterior of the reference data")
    g = sbc.add_argument_group("simulations")
    g.add_argument("--simulations", "-n", type=int, default=200,
                   help="simulations per configuration (200)")
    g.add_argument("--sequential", action="store_true",
                   help="judge each configuration at a quarter, half and all of -n (each at "
                   "alpha/3) and stop it at the first look that fails")
    g.add_argument("--draws", type=int, default=1000, help="draws per chain (1000)")
    g.add_argument("--tune", type=int, default=1000, help="warm-up per chain (1000)")
    g.add_argument("--chains", type=int, default=2, help="chains (2)")
    g.add_argument("--thin", type=int, default=10, help="keep every k-th draw for ranking (10)")
    g.add_argument("--seed", type=int, default=8927, help="run seed (8927)")
    g.add_argument("--alpha", type=float, default=None,
                   help="family false-alarm rate per configuration, Holm over quantities (0.01)")
    g = sbc.add_argument_group("where it runs")
    g.add_argument("--workers", "-j", type=int, default=os.cpu_count() or 1,
                   help="local worker processes (default: CPU count); the model is compiled "
                   "once and the workers forked after it where the sampler allows")
    g.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on a Dask cluster: tcp://host:port, or 'local' for a local cluster")
    g.add_argument("--stores", type=Path, default=Path("glmcheck-sbc"), metavar="DIR",
                   help="folder of the run stores, one per configuration, named "
                   "<case>-<frontend>-<sampler>-<mode>-s<seed> (glmcheck-sbc)")
    g.add_argument("--store", type=Path, metavar="PATH",
                   help="the run store of a single configuration (instead of --stores)")
    sbc.add_argument("--no-figures", action="store_true", help="skip the SBC figures")
    sbc.add_argument("--out", "-o", type=Path, default=Path("glmcheck-out"),
                     help="folder for results.json and figures (a new run-NNN inside)")
    sbc.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)

    # commands that live in their own module: each adds its parser and runs from args
    for module in _COMMAND_MODULES.values():
        _command_module(module).add_parser(sub, _Parser)

    sub.add_parser("cases", help="list the built-in cases")
    sub.add_parser("samplers", help="list the built-in samplers and whether they are installed")
    sub.add_parser("versions", help="print the versions of the libraries that matter")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        if args.command is None:
            build_parser().print_help()
            return EXIT_USAGE
        if args.command in _COMMAND_MODULES:
            return _command_module(_COMMAND_MODULES[args.command]).command(args)
        return _COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print("glmcheck: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if debug:
            raise
        code, line = describe_error(exc)
        print(line, file=sys.stderr)
        return code


def describe_error(exc: BaseException) -> tuple[int, str]:
    """The exit code and the one line to print for an exception that ended a command."""
    from glmcheck._loader import plugin_module_of

    first = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, UsageError):
        return EXIT_USAGE, f"glmcheck: error: {first}"
    if isinstance(exc, FitError):
        return EXIT_FIT, f"glmcheck: fit failed: {first}"
    hint = "--debug shows the traceback"
    if isinstance(exc, PluginError):
        return EXIT_INTERNAL, f"glmcheck: plugin error: {first} (a bug in the plugin; {hint})"
    what = first if isinstance(exc, GlmcheckError) else f"{type(exc).__name__}: {first}"
    plugin = plugin_module_of(exc)
    if plugin:
        return EXIT_INTERNAL, (
            f"glmcheck: plugin error: {what}, raised in plugin module {plugin!r} "
            f"(a bug in the plugin, not in glmcheck; {hint})"
        )
    return EXIT_INTERNAL, (
        f"glmcheck: internal error: {what} (a bug in glmcheck: please report it with the "
        f"output of --debug)"
    )


# -- commands -------------------------------------------------------------------------------
def _cmd_cases(args) -> int:
    from glmcheck.cases import list_cases

    for case in list_cases():
        print(f"{case.name:<20} {case.title}")
    return EXIT_OK


def _cmd_samplers(args) -> int:
    from glmcheck.fitters import installed

    for name, ok in installed().items():
        print(f"{name:<10} {'installed' if ok else 'not installed'}")
    return EXIT_OK


def _cmd_versions(args) -> int:
    from glmcheck.compat import versions

    for name, version in versions().items():
        print(f"{name:<12} {version or '-'}")
    return EXIT_OK


def _read_data(path: Path | None):
    if path is None:
        return None
    import pandas as pd

    try:
        return pd.read_csv(path)
    except FileNotFoundError:
        raise UsageError(f"data file {str(path)!r} does not exist") from None
    except Exception as exc:
        raise UsageError(f"cannot read data file {str(path)!r} as CSV: {exc}") from None


def new_run_dir(out: Path) -> Path:
    """A fresh ``out/run-NNN`` folder; earlier runs are never touched."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        existing = [int(p.name[4:]) for p in out.glob("run-[0-9]*") if p.name[4:].isdigit()]
        number = max(existing, default=0) + 1
        while True:
            run_dir = out / f"run-{number:03d}"
            try:
                run_dir.mkdir()
                return run_dir
            except FileExistsError:
                number += 1
    except OSError as exc:
        raise UsageError(
            f"cannot write output folder {str(out)!r}: {exc.strerror or exc}"
        ) from None


@contextmanager
def _progress():
    """A status line on stderr for the long steps; plain lines when stderr is not a terminal."""
    from glmcheck.report import stderr_console

    console = stderr_console()
    with console.status("starting…") as status:
        def hook(label: str, stage: str) -> None:
            text = {"compile": "compiling", "sample": "sampling"}.get(stage, stage)
            status.update(f"{label}: {text}…")
            if not console.is_terminal:
                console.print(f"{label}: {text}…")

        yield console, hook


def _cmd_run(args) -> int:
    return _execute(args, command="run", defaults=("linear",), figures=not args.no_figures)


def _cmd_check(args) -> int:
    from glmcheck.cases import BUILTIN

    return _execute(args, command="check", defaults=BUILTIN, figures=args.figures)


def _execute(args, *, command: str, defaults: tuple[str, ...], figures: bool) -> int:
    """Fit, check, print, and write ``results.json`` (after every step) and figures."""
    from glmcheck import plots
    from glmcheck.checks import CHECKS, CheckResult
    from glmcheck.compat import versions
    from glmcheck.fitters import FitSettings
    from glmcheck.record import file_entry, new_record, write_record
    from glmcheck.report import check_table, fit_table, stdout_console
    from glmcheck.runner import CheckRequest, FitFailure, Skipped, run_checks

    given = {key: getattr(args, key) for key in _FIT_OPTIONS if getattr(args, key) is not None}
    request = CheckRequest(
        cases=_names(args.case, defaults),
        frontends=_names(args.frontend, ("pymc", "bambi")),
        samplers=_names(args.sampler, ("nutpie",)),
        settings=FitSettings(**{**args.fit_defaults, **given}),
        explicit=frozenset(given),
        seed=args.seed,
        data=_read_data(args.data),
        checks=_names(args.check, CHECKS),
        explicit_checks=bool(args.check),
        coverage_sets=args.coverage_sets,
        alpha=args.alpha,
    )
    request.plan()  # bad names, and named checks that apply to nothing, fail before any work
    cases, _ = request.resolve()
    run_dir = new_run_dir(args.out)
    out = stdout_console()
    payload = new_record(command, {
        "cases": list(request.cases), "frontends": list(request.frontends),
        "samplers": list(request.samplers), "seed": request.seed,
        **request.settings.to_dict(), "data": str(args.data) if args.data else None,
        "settings_by_case": {c.name: request.settings_for(c).to_dict() for c in cases},
        "checks": list(request.checks), "coverage_sets": request.coverage_sets,
        "alpha": request.alpha,
    }, versions=versions())
    json_path = run_dir / "results.json"
    checks: list[CheckResult] = []
    failures: list[FitFailure] = []
    drawn_data: set[str] = set()
    with _progress() as (err, hook), _record_crash(json_path, payload):
        for item in run_checks(request, progress=hook):
            if isinstance(item, Skipped):
                payload["skipped"].append(item.to_dict())
                if request.explicit_checks:
                    err.print(f"- {item.check} skipped for {item.subject}: {item.reason}")
            elif isinstance(item, FitFailure):
                failures.append(item)
                payload["fits"].append(item.to_dict())
                err.print(f"✗ fit failed: {item.label} ({item.stage}): {item.error}")
            elif isinstance(item, CheckResult):
                checks.append(item)
                payload["checks"].append(item.to_dict())
                if not item.passed:
                    err.print(f"✗ {item.check}: {item.subject}: {item.message}")
            else:
                result = item.result
                out.print(fit_table(result))
                payload["fits"].append(result.to_dict())
                if figures:
                    for path in _figures(plots, item, run_dir, drawn_data):
                        entry = file_entry(path, run_dir)
                        payload["files"][entry["path"]] = entry
            write_record(json_path, payload)  # after every step: nothing computed is lost
        code = worst_exit(
            EXIT_FAILED if any(not c.passed for c in checks) else EXIT_OK,
            EXIT_FIT if failures else EXIT_OK,
        )
        payload["exit_code"] = code
        write_record(json_path, payload)
    if checks:
        out.print(check_table(checks))
    if failures:
        out.print(f"{len(failures)} fit(s) failed: "
                  + "; ".join(f"{f.label} ({f.stage})" for f in failures))
    out.print(f"results: {json_path}")
    if figures:
        out.print(f"figures: {run_dir}/<case>/")
    return code


@contextmanager
def _record_crash(path: Path, payload: dict):
    """If the run ends in an exception, the record says so (with the exit code it will get)
    before the error propagates; everything computed so far is already in it."""
    from glmcheck.record import write_record

    try:
        yield
    except Exception as exc:
        code, line = describe_error(exc)
        payload["exit_code"], payload["error"] = code, line
        write_record(path, payload)
        raise


def _figures(plots, outcome, run_dir: Path, drawn_data: set) -> list[Path]:
    """Draw the data (once per case), trace and regression-line figures; return their paths."""
    case, result = outcome.case, outcome.result
    folder = run_dir / case.name
    folder.mkdir(exist_ok=True)
    written = []
    if case.name not in drawn_data:
        written.append(folder / "data.png")
        plots.data_figure(case, outcome.data, outcome.truth, written[-1])
        drawn_data.add(case.name)
    stem = f"{result.frontend}-{result.sampler}"
    written.append(folder / f"trace-{stem}.png")
    plots.trace_figure(outcome.posterior, written[-1])
    written.append(folder / f"lines-{stem}.png")
    plots.lines_figure(case, outcome.data, outcome.posterior, outcome.truth, written[-1])
    return written


def _sbc_configs(args) -> list:
    """The configurations of ``glmcheck sbc``: cases × frontends × samplers, in that order."""
    from glmcheck.cases import BUILTIN
    from glmcheck.fitters import installed
    from glmcheck.frontends import FRONTENDS
    from glmcheck.sbc import SBCConfig

    cases = _names(args.case, BUILTIN if args.all else ("linear",), every=BUILTIN)
    frontends = _names(args.frontend, FRONTENDS if args.all else ("pymc",), every=FRONTENDS)
    samplers = _names(args.sampler, ("nutpie",),
                      every=tuple(name for name, ok in installed().items() if ok))
    mode = "posterior" if args.posterior else "prior"
    return [
        SBCConfig(case=case, frontend=frontend, sampler=sampler, chains=args.chains,
                  tune=args.tune, draws=args.draws, thin=args.thin, seed=args.seed, mode=mode)
        for case in cases for frontend in frontends for sampler in samplers
    ]


def sbc_store_name(config) -> str:
    """A configuration's store folder name: ``<case>-<frontend>-<sampler>-<mode>-s<seed>``."""
    def safe(text: str) -> str:
        return text.replace(":", "_").replace("/", "_")

    return (f"{safe(config.case)}-{config.frontend}-{safe(config.sampler)}-{config.mode}"
            f"-s{config.seed}")


def _cmd_sbc(args) -> int:
    from contextlib import suppress

    from rich.progress import (
        BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from glmcheck import plots
    from glmcheck.compat import versions
    from glmcheck.record import file_entry, new_record, write_record
    from glmcheck.report import check_table, stderr_console, stdout_console
    from glmcheck.sbc import SBC_ALPHA, analyse, check_scheduler, run_many, sequential_looks

    alpha = SBC_ALPHA if args.alpha is None else args.alpha
    if not 0 < alpha < 1:
        raise UsageError(f"expected 0 < alpha < 1 but got alpha={alpha}")
    configs = _sbc_configs(args)
    if args.store is not None and len(configs) > 1:
        raise UsageError(
            f"--store names the store of one configuration, and {len(configs)} are asked for; "
            "use --stores DIR (one store per configuration inside)"
        )
    stores = ([args.store] if args.store is not None
              else [args.stores / sbc_store_name(c) for c in configs])
    # what can be checked without the stores, before the progress display starts
    check_scheduler(args.scheduler)
    for name, value in (("simulations", args.simulations), ("workers", args.workers)):
        if value < 1:
            raise UsageError(f"expected {name} >= 1 but got {name}={value}")
    columns = (
        TextColumn("SBC {task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
    )
    err = stderr_console()
    run_dir: Path | None = None
    # no refresh thread: the workers are forked from this process
    progress = Progress(*columns, console=err, transient=False, auto_refresh=False)
    what = (f"{configs[0].case} · {configs[0].frontend} · {configs[0].sampler}"
            if len(configs) == 1 else f"{len(configs)} configurations")
    task = progress.add_task(what, total=None)
    last = 0.0

    def start() -> None:
        """Input checked, stores open: make the output folder before the first simulation, so
        that an unwritable --out costs no work (exit 2); only then show progress, so bad input
        is one line on stderr and nothing else."""
        nonlocal run_dir
        run_dir = new_run_dir(args.out)
        progress.start()

    def report(done: int, total: int) -> None:
        nonlocal last
        progress.update(task, completed=done, total=total)
        now = time.monotonic()
        if now - last > 0.1 or done == total:
            last = now
            progress.refresh()

    looks = sequential_looks(args.simulations) if args.sequential else ()
    try:
        job = run_many(
            configs, args.simulations, stores, workers=args.workers, scheduler=args.scheduler,
            progress=report, on_start=start, looks=looks, alpha=alpha,
        )
    except BaseException:
        if run_dir is not None:  # leave no empty run folder behind; the stores keep the work
            with suppress(OSError):
                run_dir.rmdir()
        raise
    finally:
        if run_dir is not None:  # started: a display that never started prints nothing
            progress.stop()
    results, figures, broken = [], {}, []
    for outcome in job.outcomes:
        if outcome.error is not None:
            broken.append(outcome)
            continue
        result, bands = analyse(outcome.run, alpha=alpha)
        results.append(result)
        if bands and not args.no_figures:
            name = ("sbc.png" if len(configs) == 1
                    else f"sbc-{sbc_store_name(outcome.config)}.png")
            plots.sbc_figure(bands, f"SBC: {result.subject} ({len(outcome.run.records)} "
                             "simulations)", run_dir / name)
            figures[name] = run_dir / name
            result.details["figure"] = name  # the report puts it beside its verdict
    code = worst_exit(
        EXIT_OK if all(r.passed for r in results) else EXIT_FAILED,
        *(o.error.exit_code for o in broken),
    )
    request = {
        "configs": [c.to_dict() for c in configs],
        **(configs[0].to_dict() if len(configs) == 1 else {}),
        "simulations": args.simulations, "stores": [str(p) for p in stores],
        **({"store": str(stores[0])} if len(configs) == 1 else {}),
        "workers": args.workers, "scheduler": args.scheduler, "alpha": alpha,
        "looks": list(looks),
    }
    payload = new_record(
        "sbc", request, versions=versions(), computed=job.computed, seconds=job.seconds,
        timings={"seconds": job.seconds, "startup_s": job.startup, "loop_s": job.loop},
        exit_code=code,
        errors=[{"config": o.config.to_dict(), "exit_code": o.error.exit_code,
                 "message": str(o.error)} for o in broken],
    )
    payload["checks"].extend(r.to_dict() for r in results)
    for name, path in figures.items():
        payload["files"][name] = file_entry(path, run_dir)
    write_record(run_dir / "results.json", payload)
    out = stdout_console()
    if results:
        out.print(check_table(results))
    for outcome in broken:  # one line each, on stderr, as for any error that ends a command
        c = outcome.config
        print(describe_error(outcome.error)[1].replace(
            ": ", f": {c.case} · {c.frontend} · {c.sampler}: ", 1), file=sys.stderr)
    reused = sum(o.run.reused for o in job.outcomes if o.run)
    where = stores[0] if len(stores) == 1 else args.stores
    times = (f"start-up {job.startup:.1f} s, simulations {job.loop:.1f} s"
             if job.startup is not None else f"{job.seconds:.1f} s")
    out.print(f"{job.computed} simulations computed, {reused} reused from {where} ({times})")
    out.print(f"results: {run_dir / 'results.json'}")
    if len(figures) == 1:
        out.print(f"figure: {next(iter(figures.values()))}")
    elif figures:
        out.print(f"figures: {len(figures)} in {run_dir}")
    return code


_COMMANDS = {
    "run": _cmd_run,
    "check": _cmd_check,
    "sbc": _cmd_sbc,
    "cases": _cmd_cases,
    "samplers": _cmd_samplers,
    "versions": _cmd_versions,
}
#: commands with a module of their own (``add_parser(sub, parser_class)`` and ``command(args)``)
_COMMAND_MODULES = {
    "baseline": "glmcheck.baseline_cli",
    "compare": "glmcheck.comparison",
    "bench": "glmcheck.bench_cli",
    "validate": "glmcheck.validate",
    "report": "glmcheck.reporting",
    "bisect": "glmcheck.bisect_cli",
}


def _command_module(name: str):
    import importlib

    return importlib.import_module(name)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
