"""``glmcheck baseline update|check``: build the stored references, and compare against them.

``update`` makes each case's reference posterior from long runs of two independent samplers
(:data:`~glmcheck.baseline.REFERENCE_SAMPLERS`) on the hand-written model (on the formula when
only ``--frontend bambi`` is asked for), refuses to write one that fails its strict
gates (the old one stays), then records this stack's sampler behaviour for every frontend ×
sampler × route. ``check`` fits every requested case × frontend × sampler × route on the
stored reference data set at the check settings and compares each posterior with the
reference (exit 1 on a regression), each sampler's behaviour with this stack's stored
behaviour, and each fit against the convergence gates. The run record (kind ``baseline``)
is written after every fit.
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_parser", "command"]


def add_parser(sub, parser_class) -> None:
    p = sub.add_parser(
        "baseline", help="build stored reference posteriors, or check against them",
        description="Stored reference posteriors in baselines/ and regression checks "
                    "against them.",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", parser_class=parser_class,
                               required=True)
    for name, text in (
        ("update", "build references (long nutpie and PyMC runs, strict gates) and record "
                   "this stack's sampler behaviour"),
        ("check", "compare every case × frontend × sampler × route with its reference "
                  "(exit 1 on a regression)"),
    ):
        a = actions.add_parser(name, help=text, description=text)
        a.add_argument("--case", "-c", action="append", metavar="NAME",
                       help="cases (repeat or comma-separate; default: every built-in case)")
        a.add_argument("--frontend", "-f", action="append", metavar="NAME",
                       help="pymc and/or bambi (default: both)")
        a.add_argument("--sampler", "-s", action="append", metavar="NAME",
                       help="nutpie, pymc, numpyro, blackjax (default: all four)")
        a.add_argument("--route", "-r", action="append", metavar="NAME",
                       help="compiled (glmcheck's compile-once adapters) and/or public "
                            "(pm.sample / Bambi's fit, as users call them) (default: both)")
        a.add_argument("--baselines", type=Path, metavar="DIR",
                       help="the references' folder (default: the checkout's baselines/, or "
                            "$GLMCHECK_BASELINES)")
        a.add_argument("--seed", type=int, default=8927, help="random seed (default 8927)")
        a.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
        if name == "update":
            a.add_argument("--behaviour-only", action="store_true",
                           help="keep the reference posterior; record only this stack's "
                                "sampler behaviour")
            a.add_argument("--behaviour-seeds", type=int, default=1, metavar="K",
                           help="fits per frontend × sampler × route for the behaviour "
                                "record (default 1: 4 chains)")
        else:
            a.add_argument("--alpha", type=float, default=None,
                           help="family false-alarm rate of the whole posterior comparison "
                                "(default 0.01)")
            a.add_argument("--behaviour-alpha", type=float, default=None,
                           help="family false-alarm rate of the behaviour comparison "
                                "(default 0.01)")
            a.add_argument("--out", "-o", type=Path, default=Path("glmcheck-out"),
                           help="output folder for the run record (a new run-NNN inside)")


def command(args) -> int:
    return (_update if args.action == "update" else _check)(args)


def _selection(args):
    """The request's cases, frontends, samplers and routes, validated before any work (by the
    runner's own :meth:`~glmcheck.runner.FitRequest.resolve`); baselines cover the built-in
    samplers only."""
    from glmcheck.cases import BUILTIN
    from glmcheck.cli import _names
    from glmcheck.errors import UsageError
    from glmcheck.fitters import SAMPLERS
    from glmcheck.frontends import FRONTENDS
    from glmcheck.posterior import ROUTES
    from glmcheck.runner import FitRequest

    samplers = _names(args.sampler, tuple(SAMPLERS))
    unknown = [s for s in samplers if s not in SAMPLERS]
    if unknown:
        raise UsageError(f"unknown sampler {unknown[0]!r}: baselines cover the built-in "
                         f"samplers {', '.join(SAMPLERS)}")
    request = FitRequest(cases=_names(args.case, BUILTIN), frontends=_names(args.frontend, FRONTENDS),
                         samplers=samplers, routes=_names(args.route, ROUTES), seed=args.seed)
    cases, _ = request.resolve()
    return cases, request.frontends, request.samplers, request.routes


# -- update --------------------------------------------------------------------------------
def _update(args) -> int:
    from dataclasses import replace

    from glmcheck import baseline as bl
    from glmcheck.cli import _progress
    from glmcheck.errors import EXIT_FAILED, EXIT_FIT, EXIT_OK, UsageError, worst_exit
    from glmcheck.fitters import get_fitter
    from glmcheck.frontends import build
    from glmcheck.report import stdout_console
    from glmcheck.results import summarize

    cases, frontends, samplers, routes = _selection(args)
    if args.behaviour_seeds < 1:
        raise UsageError(f"expected --behaviour-seeds >= 1 but got {args.behaviour_seeds}")
    if args.behaviour_only:
        for case in cases:  # the reference must exist and be sound first
            bl.load_reference(case, args.baselines)
    out = stdout_console()
    code = EXIT_OK
    with _progress() as (err, say):
        for case in cases:
            if not args.behaviour_only:
                data = case.reference_data()
                settings = bl.REFERENCE_SETTINGS
                accept = max(settings.target_accept, case.fit_settings.get("target_accept", 0))
                settings = replace(settings, target_accept=accept)
                # the hand-written model where asked for; a Bambi-only case's own formula
                made_with = "pymc" if "pymc" in frontends else frontends[0]
                spec = build(case, made_with, data)
                posteriors = []
                for i, name in enumerate(bl.REFERENCE_SAMPLERS):
                    say(f"{case.name} reference · {name}", "sample")
                    fitter = get_fitter(name)(spec, settings)
                    posteriors.append(fitter.fit(seed=args.seed + i))
                gates = bl.reference_gates(posteriors, case.exact_posterior(data))
                failed = [g for g in gates if not g.passed]
                for g in gates:
                    (err if not g.passed else out).print(
                        f"{'✓' if g.passed else '✗'} {g.check}: {g.subject}: {g.message}")
                if failed:
                    err.print(f"✗ reference of {case.name!r} not written: {len(failed)} gate(s) "
                              "failed; the stored reference is unchanged")
                    code = worst_exit(code, EXIT_FAILED)
                    continue
                request = {"case": case.name, "frontend": made_with,
                           "samplers": list(bl.REFERENCE_SAMPLERS),
                           "settings": settings.to_dict(), "seed": args.seed}
                path = bl.write_reference(
                    case, data, posteriors, gates, request,
                    [summarize(p, settings.to_dict()).to_dict() for p in posteriors],
                    args.baselines)
                out.print(f"reference written: {path}")
            reference = bl.load_reference(case, args.baselines)
            entries: dict[str, list[dict]] = {}
            failures = []
            for outcome in _fits(case, reference, frontends, samplers, routes,
                                 args.seed, args.behaviour_seeds, say):
                if hasattr(outcome, "stage"):
                    failures.append(outcome)
                    err.print(f"✗ fit failed: {outcome.label} ({outcome.stage}): {outcome.error}")
                    continue
                key = bl.behaviour_key(outcome.posterior.frontend, outcome.posterior.sampler,
                                       outcome.posterior.route)
                entry = dict(outcome.result.behaviour)
                entry["seed"] = outcome.posterior.seed
                entries.setdefault(key, []).append(entry)
            request = {"case": case.name, "frontends": list(frontends),
                       "samplers": list(samplers), "routes": list(routes),
                       "seeds": args.behaviour_seeds, "seed": args.seed}
            path = bl.write_behaviour(case, entries, request, args.baselines)
            out.print(f"behaviour written: {path} ({len(entries)} frontend × sampler × route)")
            if failures:
                code = worst_exit(code, EXIT_FIT)
    return code


def _fits(case, reference, frontends, samplers, routes, seed, seeds, say):
    """Fits of ``case`` on the stored reference data at the check settings, ``seeds`` seeds
    each; the compile-once route compiles once for all seeds."""
    from glmcheck import baseline as bl
    from glmcheck.errors import FitError
    from glmcheck.results import summarize
    from glmcheck.runner import FitFailure, FitOutcome, FitRequest, run_fits

    settings = bl.check_settings(case)
    request = FitRequest(cases=[case], frontends=frontends, samplers=samplers, routes=routes,
                         settings=settings, explicit=frozenset(settings.to_dict()),
                         seed=seed, data=reference.data)
    for outcome in run_fits(request, say):
        yield outcome
        if not isinstance(outcome, FitOutcome):
            continue
        for k in range(1, seeds):
            try:
                post = outcome.fitter.fit(seed=seed + k)
            except FitError as exc:
                yield FitFailure(case=case.name, frontend=outcome.posterior.frontend,
                                 sampler=outcome.posterior.sampler, route=outcome.posterior.route,
                                 stage=f"seed {seed + k}", error=str(exc))
                continue
            yield FitOutcome(case=case, data=outcome.data, truth=None, spec=outcome.spec,
                             fitter=outcome.fitter, posterior=post,
                             result=summarize(post, settings.to_dict()))


# -- check -----------------------------------------------------------------------------------
def _check(args) -> int:
    from glmcheck import baseline as bl
    from glmcheck.checks import check_convergence
    from glmcheck.cli import _progress, _record_crash, new_run_dir
    from glmcheck.errors import EXIT_FAILED, EXIT_FIT, EXIT_OK, UsageError, worst_exit
    from glmcheck.record import new_record, write_record
    from glmcheck.report import check_table, stdout_console
    from glmcheck.runner import FitFailure, Skipped
    from glmcheck.stats.multiplicity import bonferroni_z

    cases, frontends, samplers, routes = _selection(args)
    args.alpha = bl.ALPHA if args.alpha is None else args.alpha
    args.behaviour_alpha = (bl.BEHAVIOUR_ALPHA if args.behaviour_alpha is None
                            else args.behaviour_alpha)
    for name, value in (("alpha", args.alpha), ("behaviour-alpha", args.behaviour_alpha)):
        if not 0 < value < 1:
            raise UsageError(f"expected 0 < --{name} < 1 but got {value}")
    references = {case.name: bl.load_reference(case, args.baselines) for case in cases}
    behaviours = {case.name: bl.load_behaviour(case, args.baselines) for case in cases}
    per_case = len(frontends) * len(samplers) * len(routes)
    k_total = sum(ref.comparisons for ref in references.values()) * per_case
    crit = bonferroni_z(args.alpha, k_total)
    judged = 3  # ESS per gradient, gradient evaluations per draw, divergences
    k_behaviour = judged * per_case * sum(1 for b, _ in behaviours.values() if b is not None)
    run_dir = new_run_dir(args.out)
    json_path = run_dir / "results.json"
    record = new_record("baseline", {
        "cases": [c.name for c in cases], "frontends": list(frontends),
        "samplers": list(samplers), "routes": list(routes), "seed": args.seed,
        "alpha": args.alpha, "behaviour_alpha": args.behaviour_alpha,
        "settings_by_case": {c.name: bl.check_settings(c).to_dict() for c in cases},
    })
    record["baseline"] = {"crit": crit, "comparisons": k_total, "cases": {}}
    out = stdout_console()
    checks, failures = [], []
    with _progress() as (err, say), _record_crash(json_path, record):
        for case in cases:
            reference = references[case.name]
            stored, behaviour_path = behaviours[case.name]
            changed = bl.data_changed(case, reference.data)
            record["baseline"]["cases"][case.name] = {
                "reference": str(reference.path), "reference_created": reference.record["created"],
                "reference_versions": reference.versions,
                "data_changed": changed,
                "behaviour": str(behaviour_path) if stored is not None else None,
            }
            if changed:
                err.print(f"! {case.name}: the regenerated reference data set differs from the "
                          f"stored one ({changed}); fits use the stored data set")
            if stored is None:
                reason = (f"no behaviour stored for this stack ({behaviour_path.name}); "
                          f"record it with glmcheck baseline update --behaviour-only "
                          f"--case {case.name}")
                record["skipped"].append(Skipped(check="behaviour", subject=case.name,
                                                 reason=reason).to_dict())
                err.print(f"- behaviour not judged for {case.name}: {reason}")
            for outcome in _fits(case, reference, frontends, samplers, routes, args.seed, 1, say):
                if isinstance(outcome, FitFailure):
                    failures.append(outcome)
                    record["fits"].append(outcome.to_dict())
                    err.print(f"✗ fit failed: {outcome.label} ({outcome.stage}): {outcome.error}")
                    write_record(json_path, record)
                    continue
                post, result = outcome.posterior, outcome.result
                record["fits"].append(result.to_dict())
                found = [check_convergence(post, summary=result),
                         bl.compare_posterior(post, reference, crit=crit, alpha=args.alpha,
                                              k_total=k_total)]
                key = bl.behaviour_key(post.frontend, post.sampler, post.route)
                if stored is not None and stored["entries"].get(key):
                    found.append(bl.compare_behaviour(
                        result.behaviour, stored["entries"][key],
                        subject=(case.name, post.frontend, post.sampler, post.route),
                        alpha=args.behaviour_alpha, k_total=max(k_behaviour, 1),
                        seed=post.seed))
                elif stored is not None:
                    record["skipped"].append(Skipped(
                        check="behaviour", subject=result.label,
                        reason="this stack's behaviour record has no entry for it").to_dict())
                for result_ in found:
                    checks.append(result_)
                    record["checks"].append(result_.to_dict())
                    if not result_.passed:
                        err.print(f"✗ {result_.check}: {result_.subject}: {result_.message}")
                write_record(json_path, record)
        code = worst_exit(EXIT_FAILED if any(not c.passed for c in checks) else EXIT_OK,
                          EXIT_FIT if failures else EXIT_OK)
        record["exit_code"] = code
        write_record(json_path, record)
    if checks:
        out.print(check_table(checks))
    passed = sum(c.passed for c in checks)
    out.print(f"{passed} of {len(checks)} checks passed; {len(failures)} fit(s) failed; "
              f"posterior threshold |z| < {crit:.2f} over {k_total} comparisons "
              f"(family alpha {args.alpha:g})")
    out.print(f"results: {json_path}")
    return code
