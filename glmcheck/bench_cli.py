"""``glmcheck bench``: benchmark samplers, and ``glmcheck bench compare``: judge two benchmarks.

``glmcheck bench`` writes, in a new ``run-NNN`` folder: ``results.json`` (the run record, kind
``bench``), ``benchmark.json`` (the fit times in pytest-benchmark's format: ``pytest-benchmark
compare`` reads it beside the suite in ``benchmarks/``) and ``bench.png`` (ESS/s and ESS per
gradient by case and sampler). With ``--env A --env B`` it runs the same benchmark in two
environments, interleaved fit by fit, writes each side's files in ``A/`` and ``B/`` and their
comparison in ``record.json``, and exits as ``bench compare`` does.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from glmcheck.errors import EXIT_FIT, EXIT_OK, UsageError, worst_exit

_ALL = {"sampler": ("nutpie", "pymc", "numpyro", "blackjax"), "route": ("compiled", "public")}


def add_parser(sub, parser_class) -> None:
    from glmcheck.bench import ALPHA, FACTOR, MIN_TIME, REPEATS, SETTINGS

    p = sub.add_parser(
        "bench",
        help="benchmark samplers: time, ESS/s and ESS per gradient; compare two benchmarks",
        description="Fit each case × frontend × sampler × route --repeats times (a repeat is a "
        "block of fits lasting --min-time; configurations take turns) and report medians with their spread: compile, "
        "warm-up and sampling time, ESS, ESS/s, ESS per gradient evaluation, gradient "
        "evaluations per draw, time per gradient evaluation, divergences. ESS per gradient and "
        "gradients per draw do not depend on the machine: compare those across machines. "
        "'glmcheck bench compare OLD NEW' judges two benchmarks.",
    )
    g = p.add_argument_group("what to benchmark")
    g.add_argument("--case", "-c", action="append", metavar="NAME",
                   help="case name, all (the built-in zoo) or package.module:attribute "
                        "(repeat or comma-separate; default: linear)")
    g.add_argument("--frontend", "-f", action="append", metavar="NAME",
                   help="pymc and/or bambi (default: both)")
    g.add_argument("--sampler", "-s", action="append", metavar="NAME",
                   help="nutpie, pymc, numpyro, blackjax, all, or package.module:ClassName "
                        "(default: nutpie)")
    g.add_argument("--route", action="append", metavar="NAME",
                   help="compiled (compile once, refit), public (pm.sample / Bambi's fit, "
                        "compile included in every fit) or all (default: compiled)")
    g = p.add_argument_group("repeats and sampling")
    g.add_argument("--repeats", "-n", type=int, default=REPEATS,
                   help=f"fits per configuration (default {REPEATS})")
    g.add_argument("--min-time", type=float, default=MIN_TIME, metavar="S",
                   help=f"each repeat fits as often as it takes to last S seconds, timed from "
                        f"a warm-up fit (default {MIN_TIME:g}; 0: one fit)")
    g.add_argument("--seed", type=int, default=8927,
                   help="fit j of repeat k uses seed SEED + 1000·k + j (default 8927)")
    g.add_argument("--draws", type=int, help=f"draws per chain (default {SETTINGS.draws})")
    g.add_argument("--tune", type=int, help=f"warm-up per chain (default {SETTINGS.tune})")
    g.add_argument("--chains", type=int, help=f"chains (default {SETTINGS.chains})")
    g.add_argument("--target-accept", type=float, metavar="P",
                   help="NUTS step-size adaptation target (default 0.8; a case may ask for more)")
    g = p.add_argument_group("two stacks in one run")
    g.add_argument("--env", action="append", metavar="SPEC",
                   help="run in this environment instead (give it twice to compare two, "
                        "interleaved A B B A): self, tox:NAME, a virtual environment or its "
                        "python, or a requirements file with overrides "
                        "(requirements/current.txt+blackjax==1.7.1, built with uv)")
    g.add_argument("--processes", type=int, default=None, metavar="P",
                   help="worker processes per environment (default 3 when comparing two, "
                        "else 1): two processes of one stack differ in speed by a few percent "
                        "for as long as they live, and repeats spread over several average it")
    g.add_argument("--python", metavar="X.Y",
                   help="Python of environments built from a requirements file "
                        "(default: this one's)")
    _add_rule_options(g, FACTOR, ALPHA)
    p.add_argument("--markdown", metavar="FILE",
                   help="also write GitHub Markdown to FILE ('-': print it instead of tables)")
    p.add_argument("--no-figures", action="store_true", help="skip bench.png")
    p.add_argument("--out", "-o", type=Path, default=Path("glmcheck-out"),
                   help="output folder (a new run-NNN inside; default: glmcheck-out)")
    p.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)

    bench_sub = p.add_subparsers(dest="bench_command", metavar="compare",
                                 parser_class=parser_class)
    c = bench_sub.add_parser(
        "compare",
        help="judge benchmark B (after) against A (before)",
        description="Flag a metric of a configuration as regressed (exit 1) when the ratio of "
        f"its medians is worse than --factor (default {FACTOR:g}) and a two-sided Mann-Whitney "
        f"U test over the repeats gives p < --alpha (default {ALPHA:g}); beyond the factor "
        "without significance is reported as not significant. ESS per gradient and gradients "
        "per draw are judged between any two runs; times only between the two sides of one "
        "interleaved run (--env A --env B), or with --judge-times. Shows the stack each side "
        "ran.",
    )
    c.add_argument("a", metavar="OLD", help="a bench record (results.json) or its run folder")
    c.add_argument("b", metavar="NEW", help="a bench record or its run folder")
    _add_rule_options(c, FACTOR, ALPHA)
    c.add_argument("--judge-times", action="store_true",
                   help="judge times too, although the runs did not share a time window "
                        "(by default only ESS per gradient and gradients per draw are judged "
                        "between separate runs: a shared machine drifts between runs)")
    c.add_argument("--markdown", metavar="FILE",
                   help="also write GitHub Markdown to FILE ('-': print it instead of tables)")
    c.add_argument("--out", "-o", type=Path, default=Path("glmcheck-out"),
                   help="folder for the comparison's record.json (a new run-NNN inside)")
    c.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    w = bench_sub.add_parser("worker")  # started by --env: JSON lines on stdin and stdout
    w.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)


def _add_rule_options(g, factor: float, alpha: float) -> None:
    g.add_argument("--factor", type=float, default=factor,
                   help=f"smallest ratio of medians that is flagged (default {factor:g})")
    g.add_argument("--alpha", type=float, default=alpha,
                   help=f"Mann-Whitney p below which a change is significant (default {alpha:g})")


def command(args) -> int:
    if args.bench_command == "worker":
        from glmcheck.bench_worker import serve

        return serve()
    if args.bench_command == "compare":
        return _compare(args)
    return _bench(args)


# -- glmcheck bench ---------------------------------------------------------------------------
def _request(args):
    from dataclasses import replace

    from glmcheck.bench import SETTINGS, BenchRequest
    from glmcheck.cli import _names

    chosen = {k: getattr(args, k) for k in ("chains", "tune", "draws", "target_accept")
              if getattr(args, k) is not None}
    from glmcheck.cases import BUILTIN

    samplers = _names(args.sampler, ("nutpie",), every=_ALL["sampler"])
    routes = _names(args.route, ("compiled",), every=_ALL["route"])
    cases = _names(args.case, ("linear",), every=BUILTIN)
    request = BenchRequest(
        cases=cases, frontends=_names(args.frontend, ("pymc", "bambi")),
        samplers=samplers, routes=routes, repeats=args.repeats, seed=args.seed,
        min_time=args.min_time,
        settings=replace(SETTINGS, **chosen), explicit=frozenset(chosen),
    )
    request.resolve()
    return request


def _bench(args) -> int:
    from glmcheck.bench import bench_configs, min_p
    from glmcheck.cli import new_run_dir

    request = _request(args)
    envs = _environments(args)
    if args.processes is None:
        from glmcheck.bench_worker import PROCESSES

        args.processes = PROCESSES if len(envs) == 2 else 1
    if args.processes < 1 or (args.processes > 1 and not envs):
        raise UsageError(f"--processes {args.processes}: give 1 or more, with --env "
                         f"(a run in this process is one process)")
    _check_rule(args.factor, args.alpha)
    if len(envs) == 2 and min_p(request.repeats, request.repeats) >= args.alpha:
        raise UsageError(
            f"with {request.repeats} repeats per side the Mann-Whitney test cannot go below "
            f"p = {min_p(request.repeats, request.repeats):.2g}, so no change could reach "
            f"alpha {args.alpha:g}: use more --repeats"
        )
    total = len(bench_configs(request)) * request.repeats * max(1, len(envs))
    if args.processes > request.repeats:
        raise UsageError(f"--processes {args.processes} is more than --repeats "
                         f"{request.repeats}: every process needs a repeat")
    run_dir = new_run_dir(args.out)
    try:
        with _progress_bar(total) as progress:
            if envs:
                from glmcheck.bench_worker import interleave

                sides = interleave(request.to_dict(), envs, progress, processes=args.processes)
            else:
                from glmcheck.bench import run_bench

                sides = [{"ready": None, "bench": run_bench(request, progress)}]
    except BaseException:
        from contextlib import suppress

        with suppress(OSError):  # leave no empty run folder behind
            run_dir.rmdir()
        raise
    records = []
    for i, side in enumerate(sides):
        folder = run_dir if len(sides) == 1 else run_dir / "AB"[i]
        folder.mkdir(exist_ok=True)
        env = envs[i] if envs else None
        records.append(_write_side(folder, request, side, env, figures=not args.no_figures))
    code = worst_exit(*(r["exit_code"] for r in records))
    if len(sides) == 2:
        return worst_exit(code, _interleaved_comparison(args, run_dir, records, envs))
    _show_side(args, records[0], run_dir)
    return code


def _environments(args) -> list:
    specs = args.env or []
    if len(specs) > 2:
        raise UsageError(f"--env takes one environment, or two to compare, not {len(specs)}")
    if not specs:
        return []
    from glmcheck.environments import BuildError, resolve_environment

    try:
        return [resolve_environment(spec, root=Path.cwd(), python=args.python) for spec in specs]
    except BuildError as exc:  # the environment asked for cannot exist: bad input here
        raise UsageError(str(exc)) from None


def _check_rule(factor: float, alpha: float) -> None:
    if not factor > 1:
        raise UsageError(f"expected --factor > 1 but got {factor}")
    if not 0 < alpha < 1:
        raise UsageError(f"expected 0 < --alpha < 1 but got {alpha}")


def _write_side(folder: Path, request, side: dict, env, *, figures: bool) -> dict:
    from glmcheck.bench import failures, pytest_benchmark_json, summarize_bench
    from glmcheck.record import file_entry, new_record, write_record

    body = side["bench"]
    failed = failures(body)
    record = new_record("bench", {**request.to_dict(), "env": env.label if env else None},
                        bench=body, exit_code=EXIT_FIT if failed else EXIT_OK)
    record["fits"] = [f.to_dict() for f in failed]
    if side["ready"] is not None:  # ran in another environment: its fingerprint, not ours
        record["environment"] = side["ready"]["environment"]
        record["glmcheck"] = side["ready"]["glmcheck"]
    (folder / "benchmark.json").write_text(json.dumps(pytest_benchmark_json(record), indent=2))
    record["files"]["benchmark.json"] = file_entry(folder / "benchmark.json", folder)
    if figures and any(c["runs"] for c in body["configs"]):
        from glmcheck.plots import bench_figure

        bench_figure(summarize_bench(body), folder / "bench.png", title=_title(record))
        record["files"]["bench.png"] = file_entry(folder / "bench.png", folder)
    write_record(folder / "results.json", record)
    return record


def _title(record: dict) -> str:
    from glmcheck.bench import stack_line

    label = (record.get("request") or {}).get("env")
    return (f"{label}: " if label else "") + stack_line(record)


def _show_side(args, record: dict, folder: Path) -> None:
    import sys

    markdown = summary_markdown(record) if args.markdown else None
    _write_markdown(args.markdown, markdown)
    if args.markdown == "-":
        sys.stdout.write(markdown)
        return
    out = _console()
    for item in summary_tables(record):
        out.print(item)
    for f in record["fits"]:
        out.print(f"[bold red]fit failed[/] {f['case']} · {f['frontend']} · {f['sampler']} "
                  f"({f['stage']}): {f['error']}")
    out.print(f"results: {folder / 'results.json'} · pytest-benchmark JSON: "
              f"{folder / 'benchmark.json'}")
    if "bench.png" in record["files"]:
        out.print(f"figure: {folder / 'bench.png'}")


def _interleaved_comparison(args, run_dir: Path, records: list[dict], envs) -> int:
    from glmcheck.bench import compare_bench
    from glmcheck.record import new_record, write_record

    comparison = compare_bench(records[0], records[1], factor=args.factor, alpha=args.alpha,
                               sources=(envs[0].label, envs[1].label))
    comparison.order = records[0]["bench"]["order"]
    record = new_record(
        "compare", {"a": str((run_dir / "A" / "results.json").resolve()),
                    "b": str((run_dir / "B" / "results.json").resolve()),
                    "factor": args.factor, "alpha": args.alpha, "interleaved": True},
        bench_comparison=comparison.to_dict(), exit_code=comparison.exit_code,
    )
    write_record(run_dir / "record.json", record)
    _show_comparison(args, comparison, run_dir, sides=records)
    return comparison.exit_code


# -- glmcheck bench compare -------------------------------------------------------------------
def _compare(args) -> int:
    from glmcheck.bench import compare_bench
    from glmcheck.cli import new_run_dir
    from glmcheck.comparison import find_record
    from glmcheck.record import load_record, new_record, write_record

    _check_rule(args.factor, args.alpha)
    files = [find_record(p) for p in (args.a, args.b)]
    records = [load_record(f) for f in files]
    comparison = compare_bench(*records, factor=args.factor, alpha=args.alpha,
                               sources=tuple(str(f) for f in files),
                               judge_times=True if args.judge_times else None)
    run_dir = new_run_dir(args.out)
    record = new_record(
        "compare", {"a": str(files[0].resolve()), "b": str(files[1].resolve()),
                    "factor": args.factor, "alpha": args.alpha},
        bench_comparison=comparison.to_dict(), exit_code=comparison.exit_code,
    )
    write_record(run_dir / "record.json", record)
    _show_comparison(args, comparison, run_dir)
    return comparison.exit_code


def _write_markdown(target: str | None, text: str | None) -> None:
    if not target or target == "-":
        return
    try:
        Path(target).write_text(text)
    except OSError as exc:
        raise UsageError(f"cannot write Markdown file {target!r}: {exc.strerror or exc}") from None


def _show_comparison(args, comparison, run_dir: Path, sides: list[dict] | None = None) -> None:
    import sys

    markdown = comparison_markdown(comparison) if args.markdown else None
    _write_markdown(args.markdown, markdown)
    if args.markdown == "-":
        sys.stdout.write(markdown)
        print(f"record: {run_dir / 'record.json'}", file=sys.stderr)
        return
    out = _console()
    for record in sides or []:
        for item in summary_tables(record):
            out.print(item)
    for item in comparison_tables(comparison):
        out.print(item)
    if args.markdown:
        out.print(f"markdown: {args.markdown}")
    out.print(f"record: {run_dir / 'record.json'}")


def _console():
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False, width=max(Console().width, 150))


# -- rendering --------------------------------------------------------------------------------
_TIME_COLUMNS = ("compile_s", "warmup_s", "sampling_s", "fit_s", "us_per_grad", "ess_per_s",
                 "ess_per_s_total")
_PORTABLE_COLUMNS = ("ess_bulk", "ess_tail", "ess_per_grad", "grad_per_draw", "divergences")
_KEY_METRICS = ("fit_s", "ess_per_s_total", "ess_per_grad", "grad_per_draw")
PORTABLE_NOTE = ("ESS, ESS per gradient, gradients per draw and divergences do not depend on "
                 "the machine (given the versions and seeds): compare them across machines; "
                 "times compare only within a run or between runs on one machine")


def num(value) -> str:
    if value is None or value != value:
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _cell(summary, key: str) -> str:
    text = num(summary.median.get(key))
    spread = summary.spread(key)
    if spread is not None and summary.repeats > 1 and key != "compile_s" and spread > 0:
        text += f" ±{100 * spread:.0f}%"
    return text


def _best(summary, key: str) -> str:
    value = summary.vs_best.get(key)
    if value is None:
        return "n/a"
    return "best" if value >= 1 else f"×{value:.2f}"


def _summary_rows(body: dict):
    from glmcheck.bench import BY_KEY, summarize_bench

    summaries = summarize_bench(body)
    blocks = [c.get("fits_per_repeat") for c in body["configs"]]
    time_head = ["configuration", "fits/repeat", *(BY_KEY[k].label for k in _TIME_COLUMNS),
                 "vs best ESS/s"]
    time_rows = [[s.label, "n/a" if b is None else str(b), *(_cell(s, k) for k in _TIME_COLUMNS),
                  _best(s, "ess_per_s_total")]
                 for s, b in zip(summaries, blocks) if not s.failure or s.repeats]
    port_head = ["configuration", *(BY_KEY[k].label for k in _PORTABLE_COLUMNS),
                 "vs best ESS/grad"]
    port_rows = [[s.label, *(_cell(s, k) for k in _PORTABLE_COLUMNS), _best(s, "ess_per_grad")]
                 for s in summaries if not s.failure or s.repeats]
    repeats = sorted({s.repeats for s in summaries if s.repeats})
    return time_head, time_rows, port_head, port_rows, repeats


def _caption(record: dict, repeats: list[int]) -> str:
    from glmcheck.bench import stack_line

    req = record["request"]
    s = req["settings"]
    n = "/".join(map(str, repeats)) or "0"
    return (f"medians over {n} repeats of {req.get('min_time', 0):g} s or more (times and ESS "
            f"per fit; ± half the interquartile range over the median) · "
            f"{s['chains']} chains × ({s['tune']} warm-up + {s['draws']} draws) unless a case "
            f"asks for more · seeds {req['seed']}… · {stack_line(record)}")


def summary_tables(record: dict) -> list:
    from rich import box
    from rich.table import Table

    th, tr, ph, pr, repeats = _summary_rows(record["bench"])
    label = record["request"].get("env")
    where = f" · {label}" if label else ""
    tables = []
    for title, head, rows, caption in (
        (f"time on this machine{where}", th, tr, _caption(record, repeats)),
        (f"the same on any machine{where}", ph, pr, PORTABLE_NOTE),
    ):
        table = Table(title=f"[bold]{title}[/]", caption=caption, box=box.SIMPLE_HEAD,
                      title_justify="left")
        for i, col in enumerate(head):
            table.add_column(col, justify="left" if i == 0 else "right", no_wrap=i == 0)
        for row in rows:
            table.add_row(*row)
        tables.append(table)
    return tables


def summary_markdown(record: dict) -> str:
    from glmcheck.comparison import _md_table

    th, tr, ph, pr, repeats = _summary_rows(record["bench"])
    lines = [f"### glmcheck bench{' · ' + record['request']['env'] if record['request'].get('env') else ''}",
             "", _caption(record, repeats), "", "**Time on this machine**", ""]
    lines += _md_table(th, tr)
    lines += ["", "**The same on any machine**", ""]
    lines += _md_table(ph, pr)
    lines += ["", PORTABLE_NOTE + ".", ""]
    return "\n".join(lines)


_SHOWN = ("regressed", "improved", "not significant")


def _ratio_text(change) -> str:
    if change.ratio is None:
        return "n/a"
    text = f"×{change.ratio:.3f}"
    if change.low is not None and change.low == change.low:
        text += f" [{change.low:.3f}, {change.high:.3f}]"
    return text


def _change_row(change) -> list[str]:
    from glmcheck.bench import BY_KEY

    label = BY_KEY[change.metric].label
    p = "n/a" if change.p is None else f"{change.p:.2g}"
    return [change.label, label, num(change.median_a), num(change.median_b), _ratio_text(change),
            p, change.status]


_CHANGE_HEAD = ("configuration", "metric", "A", "B", "B/A [95% interval]", "p", "verdict")


def _key_rows(c) -> tuple[list[str], list[list[str]]]:
    from glmcheck.bench import BY_KEY

    by_config: dict = {}
    for change in c.changes:
        by_config.setdefault(change.label, {})[change.metric] = change
    head = ["configuration", *(BY_KEY[k].label + " B/A" for k in _KEY_METRICS)]
    rows = []
    for label, changes in by_config.items():
        cells = []
        for key in _KEY_METRICS:
            ch = changes.get(key)
            mark = "" if ch is None or ch.status in ("no change", "not judged", "n/a") else \
                f" ({ch.status})"
            cells.append(("n/a" if ch is None or ch.ratio is None else f"×{ch.ratio:.3f}") + mark)
        rows.append([label, *cells])
    return head, rows


def comparison_summary(c) -> str:
    judged = [ch for ch in c.changes if ch.status not in ("not judged", "n/a")]
    counts = {s: sum(ch.status == s for ch in judged) for s in _SHOWN}
    configs = len({ch.label for ch in c.changes})
    verdict = (f"{len(c.regressions)} regressed" if c.regressions else "no regression")
    times = ("times judged (one time window)" if c.times_judged else
             "times not judged (separate runs: interleave them with --env A --env B)")
    return (f"{verdict} · {configs} configurations, {len(judged)} metrics judged: "
            f"{counts['improved']} improved, {counts['not significant']} beyond the factor but "
            f"not significant · {times} · rule: ratio of medians beyond ×{c.factor:g} and "
            f"Mann-Whitney p < {c.alpha:g}")


def _stack_lines(c) -> list[str]:
    out = []
    for side, stack, source in zip("AB", c.stacks, c.sources):
        name = stack.get("label") or source
        out.append(f"{side}: {name} — {stack['stack']}")
    return out


def comparison_tables(c) -> list:
    from rich import box
    from rich.table import Table

    items: list = [f"[bold]bench compare[/]: {comparison_summary(c)}", *_stack_lines(c)]
    shown = [ch for ch in c.changes if ch.status in _SHOWN]
    if shown:
        table = Table(title="[bold]changes beyond the factor[/]", box=box.SIMPLE_HEAD,
                      title_justify="left")
        for i, col in enumerate(_CHANGE_HEAD):
            table.add_column(col, justify="left" if i in (0, 1, 6) else "right")
        for ch in shown:
            row = _change_row(ch)
            if ch.status == "regressed":
                row[-1] = f"[bold red]{row[-1]}[/]"
            table.add_row(*row)
        items.append(table)
    head, rows = _key_rows(c)
    table = Table(title="[bold]key metrics, B over A[/]", box=box.SIMPLE_HEAD,
                  title_justify="left", caption=PORTABLE_NOTE)
    for i, col in enumerate(head):
        table.add_column(col, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*row)
    items.append(table)
    items += _tail_lines(c)
    return items


def _tail_lines(c) -> list[str]:
    out = []
    if c.versions:
        changed = ", ".join(f"{v.name} {v.a} → {v.b}" for v in c.versions[:20])
        more = f" and {len(c.versions) - 20} more" if len(c.versions) > 20 else ""
        out.append(f"what differs: {changed}{more}")
    for name, labels in (("only in A", c.only_a), ("only in B", c.only_b)):
        if labels:
            out.append(f"{name} (not compared): {', '.join(labels)}")
    for line in c.failed_b:
        out.append(f"fit failed in B: {line}")
    if c.order:
        out.append(f"order: {len(c.order)} fits interleaved A B B A … (kept in each record)")
    return out


def comparison_markdown(c) -> str:
    from glmcheck.comparison import _md_table

    icon = "❌" if c.exit_code else "✅"
    lines = [f"### {icon} glmcheck bench compare: {comparison_summary(c)}", ""]
    lines += [f"- {line}" for line in _stack_lines(c)]
    shown = [ch for ch in c.changes if ch.status in _SHOWN]
    if shown:
        lines += ["", "**Changes beyond the factor**", ""]
        lines += _md_table(_CHANGE_HEAD, [_change_row(ch) for ch in shown[:40]])
        if len(shown) > 40:
            lines.append(f"\n… and {len(shown) - 40} more in the record")
    head, rows = _key_rows(c)
    lines += ["", "**Key metrics, B over A**", ""]
    lines += _md_table(head, rows[:40])
    if len(rows) > 40:
        lines.append(f"\n… and {len(rows) - 40} more configurations in the record")
    lines += ["", *(f"- {line}" for line in _tail_lines(c)), "", f"_{PORTABLE_NOTE}._", ""]
    return "\n".join(lines)


# -- progress ---------------------------------------------------------------------------------
class _progress_bar:
    """A progress bar with time left on stderr (plain lines when it is not a terminal)."""

    def __init__(self, total: int):
        self.total = total

    def __enter__(self):
        from rich.progress import (
            BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
            TimeRemainingColumn,
        )

        from glmcheck.report import stderr_console

        console = stderr_console()
        self.progress = Progress(
            TextColumn("bench {task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
            console=console, transient=False, disable=not console.is_terminal,
        )
        self.task = self.progress.add_task("starting", total=self.total)
        self.progress.start()
        self.console = console
        self.last = -1
        return self

    def __call__(self, text: str, done: int, total: int) -> None:
        self.progress.update(self.task, description=text, completed=done)
        if not self.console.is_terminal and (done == 0 or done * 10 // self.total
                                             != self.last * 10 // self.total):
            self.console.print(f"bench: {done}/{self.total} {text}")
        self.last = done

    def __exit__(self, *exc):
        self.progress.stop()
        return False
