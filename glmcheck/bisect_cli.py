"""``glmcheck bisect``: the release that changed a verdict, and between two stacks the package.

``glmcheck bisect PACKAGE --good V --bad V [--run 'COMMAND']`` lists PACKAGE's published final
releases between the two versions (from the package index this machine installs from), builds
an environment per candidate with every other package held where ``--requirements`` (default:
this interpreter's packages) has it, runs the glmcheck command ``--run`` there and
binary-searches the release where its verdict changed (:func:`glmcheck.bisection.search`).
``--good`` older than ``--bad`` finds the first bad release ("what broke us?"); newer finds the
first good one ("what is the lowest version we can require?"). Both ends are judged first: an
end without the verdict it is given for is bad input.

``glmcheck bisect --good STACK --bad STACK`` (two requirements files on this Python) first finds
which package's change the verdict follows: the packages whose versions differ are grouped
where one's version needs the other's (:func:`~glmcheck.bisection.dependency_groups`), and
groups from the bad stack are swapped into the good one, halving the suspects
(:func:`~glmcheck.bisection.narrow`); then it bisects that package's releases as above.

A candidate is ``good`` or ``bad`` (the verdict's exit code: 0 good, ``--bad-exit`` codes bad,
1 and 3 by default), ``skip`` (it does not install with the rest of the stack, or glmcheck
cannot run there: stepped around, as ``git bisect skip`` does) or ``crash`` (glmcheck's internal
error, a signal, a timeout: reported as such, never judged). Each candidate's environment is
built once with uv (:mod:`glmcheck.environments`) and each verdict is kept in ``--store``, so a
rerun reuses both. One progress line per candidate goes to stderr; the table of what was tried
and the answer go to stdout, the same into the run record (kind ``bisect``) and a Markdown
table beside it.

Exit code: 0 when one release (and package) is named; 1 when only a range of releases, or a
group of packages, can be named; 2 for bad input, including an end that does not have its
verdict or cannot be judged; 4 for an internal error, also one at an end.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

__all__ = ["add_parser", "command", "DEFAULT_RUN"]

#: the verdict when --run is not given (a sampler package adds --sampler PACKAGE)
DEFAULT_RUN = "baseline check --case linear"
#: commands whose exit code and record are a verdict
_VERDICTS = ("run", "check", "sbc", "baseline check", "bench", "validate")
#: the layout of a store file; bumped when it changes
_STORE_VERSION = 1
_FREEZE = r"""
import importlib.metadata as md, json, re
found = {}
for dist in md.distributions():
    name = dist.metadata["Name"]
    if not name:
        continue
    key = re.sub(r"[-_.]+", "-", name).lower()
    direct = dist.read_text("direct_url.json")
    local = False
    if direct:
        try:
            url = json.loads(direct)
            local = bool(url.get("dir_info")) or str(url.get("url", "")).startswith("file:")
        except ValueError:
            local = True
    found[key] = {"version": dist.version, "requires": dist.requires or [], "local": local}
print(json.dumps(found))
"""


#: what must import for glmcheck to judge anything; the bisected package's modules are added
_CORE_MODULES = ("numpy", "scipy", "pandas", "xarray", "pymc", "bambi", "arviz")
_CAN_RUN = r"""
import importlib, importlib.metadata as md, re, sys
modules, package = sys.argv[2:], sys.argv[1]
key = lambda name: re.sub(r"[-_.]+", "-", name).lower()
if package:
    modules += sorted(m for m, dists in md.packages_distributions().items()
                      if any(key(d) == key(package) for d in dists)
                      and m.isidentifier() and not m.startswith("_") and m != "tests")
for name in modules:
    try:
        importlib.import_module(name)
    except BaseException as exc:
        text = " ".join(str(exc).split())[:300]
        print(f"import {name} fails there: {type(exc).__name__}: {text}")
        sys.exit(1)
"""


def add_parser(sub, parser_class) -> None:
    p = sub.add_parser(
        "bisect",
        help="find the release of a package (between two stacks: the package, then the "
             "release) where a verdict changed",
        description="Binary-search the published releases of PACKAGE between --good and --bad "
        "for the one where the verdict of a glmcheck command changed, in one environment per "
        "candidate built with uv (every other package held where --requirements has it). "
        "Without PACKAGE, --good and --bad are two requirements files: first the package "
        "whose change the verdict follows is found, then its release. Exit 0 when one release "
        "is named, 1 when only a range (or a group of packages) can be, 2 for bad input "
        "(an end without its verdict included).",
    )
    p.add_argument("package", nargs="?", metavar="PACKAGE",
                   help="the package whose releases are searched (leave out to bisect two "
                        "stacks)")
    p.add_argument("--good", required=True, metavar="VERSION|STACK",
                   help="a release with the good verdict (older: find the first bad release; "
                        "newer: the first good one after --bad), or without PACKAGE the good "
                        "stack's requirements file")
    p.add_argument("--bad", required=True, metavar="VERSION|STACK",
                   help="a release with the bad verdict, or the bad stack's requirements file "
                        "(overrides with +name==version are allowed, as in --requirements)")
    p.add_argument("--run", metavar="'COMMAND'",
                   help=f"the glmcheck command whose verdict is bisected, quoted: one of "
                        f"{', '.join(_VERDICTS)} with its options but not --out (default: "
                        f"'{DEFAULT_RUN}', plus --sampler PACKAGE when PACKAGE is a sampler). "
                        f"A bench is judged by bench compare against the good end's")
    p.add_argument("--requirements", "-r", metavar="SPEC",
                   help="the stack every other package is held at: a requirements file, "
                        "optionally with +name==version overrides (default: the packages of "
                        "the interpreter running glmcheck)")
    p.add_argument("--bad-exit", default="1,3", metavar="CODES",
                   help="exit codes of the command that make a candidate bad: 1 (a check "
                        "failed), 3 (a fit failed) or both (default 1,3); the other is good")
    p.add_argument("--import-error", choices=("skip", "bad"), default="skip",
                   help="a candidate whose only failures are imports that fail against the "
                        "held packages: skip (default: it cannot be judged) or bad (e.g. "
                        "looking for the lowest version to require)")
    p.add_argument("--pre", action="store_true", help="include pre-releases")
    p.add_argument("--timeout", type=float, default=3600, metavar="S",
                   help="longest run of the command per candidate, in seconds (3600); past "
                        "it the candidate is a crash (timed out)")
    p.add_argument("--store", type=Path, default=Path("glmcheck-bisect"), metavar="DIR",
                   help="where verdicts are kept for a rerun to reuse (default glmcheck-bisect)")
    p.add_argument("--fresh", action="store_true",
                   help="judge every candidate again instead of reusing stored verdicts")
    p.add_argument("--markdown", metavar="FILE",
                   help="also write the table as GitHub Markdown to FILE ('-': stdout)")
    p.add_argument("--out", "-o", type=Path, default=Path("glmcheck-out"),
                   help="output folder; each bisection writes a new run-NNN inside, with a "
                        "folder per candidate judged (default glmcheck-out)")
    p.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)


# -- what to run, checked before any work ------------------------------------------------------
def _verdict_argv(run: str | None, package: str | None) -> list[str]:
    from glmcheck.cli import build_parser
    from glmcheck.errors import UsageError
    from glmcheck.fitters import SAMPLERS

    if run is None:
        argv = shlex.split(DEFAULT_RUN)
        if package in SAMPLERS:
            argv += ["--sampler", package]
        return argv
    try:
        argv = shlex.split(run)
    except ValueError as exc:
        raise UsageError(f"--run {run!r} cannot be split into arguments: {exc}") from None
    if argv[:1] == ["glmcheck"]:
        argv = argv[1:]
    words = " ".join(argv[:2]) if argv[:1] == ["baseline"] else (argv[0] if argv else "")
    if words not in _VERDICTS or argv[:2] == ["bench", "compare"]:
        raise UsageError(f"--run {run!r} is not a glmcheck command with a verdict: give one of "
                         f"{', '.join(_VERDICTS)} with its options, quoted")
    if any(a in ("--out", "-o") or a.startswith("--out=") for a in argv):
        raise UsageError("--run must not set --out: each candidate's output goes into its "
                         "folder of the bisection's run (set the bisection's --out)")
    parsed = build_parser().parse_args(argv)  # bad input now, not in every candidate
    if argv[0] == "bench":
        from glmcheck.bench import ALPHA, min_p

        if parsed.env:
            raise UsageError("--run 'bench …' must not set --env: each candidate's environment "
                             "is the bisection's")
        repeats = parsed.repeats
        if min_p(repeats, repeats) >= ALPHA:
            raise UsageError(
                f"--run {run!r}: bench compare judges each candidate against the good end, and "
                f"with {repeats} repeats per side its Mann-Whitney test cannot go below p = "
                f"{min_p(repeats, repeats):.2g}, so no change could reach alpha {ALPHA:g}: "
                f"use --repeats 7 or more")
    return argv


def _bad_exit(text: str) -> tuple[int, ...]:
    from glmcheck.errors import UsageError

    codes = set()
    for part in text.split(","):
        if part.strip() not in ("1", "3"):
            raise UsageError(f"--bad-exit {text!r}: expected 1, 3 or 1,3 (a failed check, a "
                             f"failed fit)")
        codes.add(int(part))
    return tuple(sorted(codes))


# -- the store of verdicts ----------------------------------------------------------------------
class _Store:
    """Outcomes already computed, per environment (the hash of what it is built from), for one
    command, --bad-exit and --import-error: a rerun, or another bisection over the same
    stacks, reuses them (crashes excepted)."""

    def __init__(self, folder: Path, argv: list[str], bad_exit: tuple[int, ...],
                 import_bad: bool = False):
        from glmcheck import __version__
        from glmcheck.errors import UsageError

        key = hashlib.sha256(json.dumps([argv, bad_exit, import_bad, __version__]).encode())
        key = key.hexdigest()
        self.path = folder / f"verdicts-{key[:12]}.json"
        self.body = {"version": _STORE_VERSION, "run": argv, "bad_exit": list(bad_exit),
                     "candidates": {}}
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if self.path.is_file():
                body = json.loads(self.path.read_text())
                if body.get("version") == _STORE_VERSION and isinstance(
                        body.get("candidates"), dict):
                    self.body = body
        except OSError as exc:
            raise UsageError(f"cannot use the store {str(folder)!r}: "
                             f"{exc.strerror or exc}") from None
        except ValueError:
            pass  # a damaged store is judged again, never trusted

    def get(self, key: str) -> dict | None:
        return self.body["candidates"].get(key)

    def put(self, key: str, entry: dict) -> None:
        self.body["candidates"][key] = entry
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        temporary.write_text(json.dumps(self.body, indent=1) + "\n")
        os.replace(temporary, self.path)


# -- judging one candidate ----------------------------------------------------------------------
@dataclass
class _Judged:
    label: str
    spec: str
    outcome: object  # bisection.Outcome
    record: str | None
    reused: bool


class _Judge:
    """Builds a candidate's environment, runs the command there and classifies what came back;
    reuses what the store holds."""

    def __init__(self, args, argv: list[str], bad_exit: tuple[int, ...], run_dir: Path):
        self.argv, self.bad_exit, self.timeout = argv, bad_exit, args.timeout
        self.import_bad = args.import_error == "bad"  # a failing import is bad, not a skip
        self.store = _Store(Path(args.store), argv, bad_exit, self.import_bad)
        self.run_dir, self.fresh = run_dir, args.fresh
        self.bench_reference: str | None = None  # the good end's bench record
        self.package: str | None = None  # the package bisected (its modules must import)
        self.judged: list[_Judged] = []

    def __call__(self, label: str, spec: str) -> _Judged:
        from glmcheck.bisection import Outcome
        from glmcheck.environments import resolve_environment

        key = resolve_environment(spec, build=False).python.parent.parent.name
        stored = None if self.fresh else self.store.get(key)
        if stored is not None and stored["outcome"].get("verdict") != "crash" and (
                stored.get("record") is None or Path(stored["record"]).is_file()):
            # a verdict, or a release that cannot be judged here, is kept; a crash or a
            # timeout may not repeat, so a rerun tries it again
            done = _Judged(label, spec, Outcome.from_dict(stored["outcome"]),
                           stored.get("record"), True)
            if self.argv[0] == "bench" and self.bench_reference is None:
                self.bench_reference = done.record  # the good end, judged first
        else:
            started = time.monotonic()
            outcome, record = self._judge(label, spec)
            outcome = replace(outcome, seconds=round(time.monotonic() - started, 1))
            done = _Judged(label, spec, outcome, record, False)
            self.store.put(key, {"spec": spec, "outcome": outcome.to_dict(), "record": record})
        self.judged.append(done)
        return done

    def _judge(self, label: str, spec: str):
        from glmcheck.bisection import Outcome
        from glmcheck.environments import BuildError, resolve_environment
        from glmcheck.errors import UsageError

        try:
            env = resolve_environment(spec)
        except BuildError as exc:
            return Outcome("skip", f"does not install with the rest of the stack: {exc.reason}",
                           kind="does not install"), None
        try:
            env.describe()
        except UsageError as exc:
            return Outcome("skip", _one_line(exc), kind="cannot run"), None
        folder = self.run_dir / "candidates" / _slug(label)
        folder.mkdir(parents=True, exist_ok=True)
        try:
            ran = env.run(*self.argv, out=folder, timeout=self.timeout,
                          log=folder / "output.log")
        except UsageError as exc:  # a record the reader refuses
            return Outcome("skip", _one_line(exc), kind="cannot run"), None
        record = str(ran.record_path.resolve()) if ran.record_path else None
        if ran.exit_code == 0 and self.argv[0] == "bench" and record is not None:
            if self.bench_reference is None:
                self.bench_reference = record  # the good end: the reference of the others
            else:
                return self._bench_compare(folder, record)
        outcome = _classify(ran.exit_code, ran.record, ran.record_path, ran.last_error,
                            self.bad_exit)
        why = None
        if outcome.verdict == "bad":
            why = _import_failure(ran.record)
        elif outcome.verdict == "crash" and outcome.kind == "crashed":
            why = _cannot_run(env.python, self.package)
        if why is None:
            return outcome, record
        if self.import_bad:
            return Outcome("bad", why, kind="cannot import", exit_code=ran.exit_code), record
        return Outcome("skip", why, kind="cannot run", exit_code=ran.exit_code), record

    def _bench_compare(self, folder: Path, record: str):
        from glmcheck.cli import main
        from glmcheck.comparison import find_record
        from glmcheck.record import load_record

        out = folder / "bench-compare"
        said, shown = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(said), contextlib.redirect_stdout(shown):
            code = main(["bench", "compare", self.bench_reference, record, "--out", str(out)])
        (folder / "bench-compare.log").write_text(shown.getvalue() + said.getvalue())
        lines = said.getvalue().strip().splitlines()
        try:
            path = find_record(sorted(out.glob("run-*"))[-1])
            body = load_record(path)
        except (IndexError, OSError, ValueError):
            path, body = None, None
        return _classify(code, body, path, lines[-1] if lines else f"bench compare exited "
                         f"with {code}", self.bad_exit), str(path.resolve()) if path else record


_IMPORT_ERROR = re.compile(r"\b(ImportError|ModuleNotFoundError)\b")


def _import_failure(record: dict | None) -> str | None:
    """The import error that alone failed a run: no check failed, and every fit that failed
    failed on an ImportError (a held package importing a name the candidate lacks, or the
    other way round). None otherwise."""
    if record is None or any(not c.get("passed") for c in record.get("checks", [])):
        return None
    errors = [str(f.get("error", "")) for f in record.get("fits", [])
              if f.get("status") == "failed"]
    found = [_IMPORT_ERROR.search(e) for e in errors]
    if not errors or not all(found):
        return None
    return f"an import fails against the held packages: {errors[0][found[0].start():]}"


def _cannot_run(python: Path, package: str | None) -> str | None:
    """Why glmcheck cannot run in an environment: the first of its libraries, or of the
    bisected package's modules, that does not import there (None: all import)."""
    try:
        done = subprocess.run([str(python), "-c", _CAN_RUN, package or "", *_CORE_MODULES],
                              capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        return "importing glmcheck's libraries took longer than 600 s"
    if done.returncode == 0:
        return None
    lines = (done.stdout + done.stderr).strip().splitlines()
    return lines[-1] if lines else f"importing glmcheck's libraries exited {done.returncode}"


def _classify(exit_code, record, path, last_error, bad_exit):
    from glmcheck.bisection import classify
    from glmcheck.reporting import Run, reasons

    findings = reasons(Run(path, record)) if record is not None else []
    return classify(exit_code, record.get("exit_code") if record else None, findings,
                    last_error, bad_exit=bad_exit)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]+", "-", label).strip("-") or "candidate"


# -- stacks ---------------------------------------------------------------------------------------
def _installed(python: Path) -> dict[str, dict]:
    """Every distribution installed for ``python``: version, requirements, and whether it was
    installed from a local folder or file (which no index can give back)."""
    from glmcheck.errors import UsageError

    try:
        done = subprocess.run([str(python), "-c", _FREEZE], capture_output=True, text=True,
                              timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UsageError(f"cannot list the packages of {python}: {exc}") from None
    if done.returncode != 0:
        raise UsageError(f"cannot list the packages of {python}: "
                         f"{(done.stderr.strip().splitlines() or ['no output'])[-1]}")
    return json.loads(done.stdout)


def _pinned(found: dict[str, dict]) -> dict[str, str]:
    """name -> version of what an index can install again (not glmcheck, nothing local)."""
    return {n: d["version"] for n, d in sorted(found.items())
            if n != "glmcheck" and not d.get("local")}


def _stack_file(store: Path, pins: dict[str, str]) -> str:
    """A requirements file pinning exactly ``pins`` (in the store; named by its content, and
    holding nothing else: the same packages from anywhere give the same environment)."""
    text = "# pinned by glmcheck bisect\n" + "".join(f"{n}=={v}\n"
                                                    for n, v in sorted(pins.items()))
    path = store / "stacks" / f"{hashlib.sha256(text.encode()).hexdigest()[:12]}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.is_file():
        path.write_text(text)
    return str(path.resolve())


# -- the command ----------------------------------------------------------------------------------
class _Run:
    """The bisection's run folder, record and terminal output."""

    def __init__(self, args, argv, bad_exit, mode: str):
        from glmcheck.cli import new_run_dir
        from glmcheck.record import new_record

        self.run_dir = new_run_dir(args.out)
        self.path = self.run_dir / "results.json"
        self.record = new_record("bisect", {
            "mode": mode, "package": args.package, "good": args.good, "bad": args.bad,
            "requirements": args.requirements, "run": argv, "bad_exit": list(bad_exit),
            "pre": args.pre, "timeout": args.timeout,
        }, steps=[], bisect={})
        self.started = time.monotonic()
        self.save()

    def save(self) -> None:
        from glmcheck.record import write_record

        write_record(self.path, self.record)

    def step(self, judged: _Judged) -> None:
        """A candidate judged: a progress line, and a step of the record (which ``glmcheck
        report`` expands into the candidate's own record)."""
        o = judged.outcome
        took = f"{o.seconds:.1f} s" if o.seconds is not None else "?"
        print(f"glmcheck bisect: {judged.label}: {o.label}"
              f"{' (stored)' if judged.reused else ''} in {took}"
              f"{': ' + o.reason if o.reason and o.verdict != 'good' else ''}",
              file=sys.stderr, flush=True)
        record = (os.path.relpath(judged.record, self.run_dir)
                  if judged.record else None)
        self.record["steps"].append({
            "name": judged.label, "spec": judged.spec, "argv": self.record["request"]["run"],
            "exit_code": o.exit_code, "seconds": o.seconds, "record": record,
            "reused": judged.reused, **{k: v for k, v in o.to_dict().items()
                                        if k not in ("exit_code", "seconds")},
        })
        self.save()

    def finish(self, code: int, line: str) -> int:
        self.record["line"] = line
        self.record["seconds"] = round(time.monotonic() - self.started, 1)
        self.record["exit_code"] = code
        self.save()
        return code


def command(args) -> int:
    from glmcheck.errors import UsageError

    bad_exit = _bad_exit(args.bad_exit)
    if not args.timeout > 0:
        raise UsageError(f"expected --timeout > 0 but got {args.timeout:g}")
    argv = _verdict_argv(args.run, args.package)
    if args.markdown and args.markdown != "-" and not Path(args.markdown).parent.is_dir():
        raise UsageError(f"--markdown {args.markdown!r}: the folder "
                         f"{str(Path(args.markdown).parent)!r} does not exist")
    if args.package is None:
        if args.requirements:
            raise UsageError("--requirements holds the other packages of a package bisection; "
                             "between two stacks, --good and --bad are the stacks")
        return _stacks(args, argv, bad_exit)
    return _package(args, argv, bad_exit)


def _ends_error(run: _Run, which: str, given: str, judged: _Judged, want: str) -> int:
    from glmcheck.errors import EXIT_INTERNAL, EXIT_USAGE

    o = judged.outcome
    if o.verdict == "crash":
        line = (f"--{which} {given} cannot be judged: {o.label}: {o.reason}; see "
                f"{run.run_dir / 'candidates'}")
        code = EXIT_INTERNAL if o.kind == "crashed" else EXIT_USAGE
    elif o.verdict == "skip":
        line = f"--{which} {given} cannot be judged: {o.label}: {o.reason}"
        if o.reason.startswith("an import fails"):
            line += " (--import-error bad counts that as bad)"
        code = EXIT_USAGE
    else:
        line = (f"--{which} {given} is not {want} with this command: {o.label}"
                f"{': ' + o.reason if o.reason else ''}; nothing to bisect")
        code = EXIT_USAGE
    run.finish(code, line)
    print(f"glmcheck: error: {line}", file=sys.stderr)
    print(f"results: {run.path}")
    return code


def _package(args, argv, bad_exit, *, run: _Run | None = None, base: str | None = None,
             known: dict | None = None, judge: _Judge | None = None,
             stack_rows: list | None = None, held: str | None = None) -> int:
    """Bisect one package's releases; in a stack bisection, ``base``, ``known`` (the outcomes of
    the two ends) and ``judge`` come from its first part."""
    from packaging.version import Version

    from glmcheck.bisection import between, published_releases, search
    from glmcheck.cli import _record_crash
    from glmcheck.errors import EXIT_FAILED, EXIT_OK
    from glmcheck.environments import resolve_environment

    package = args.package
    releases = published_releases(package, pre=args.pre)
    walk = between(releases, args.good, args.bad)
    good, bad = walk[0], walk[-1]
    forward = Version(good) < Version(bad)
    store = Path(args.store)
    held = held or args.requirements
    if base is None and args.requirements:
        resolve_environment(args.requirements, build=False)  # the file exists and parses
        base = args.requirements
    elif base is None:
        held = f"this interpreter, {sys.executable}"
        base = _stack_file(store, _pinned(_installed(Path(sys.executable))))
    if run is None:
        run = _Run(args, argv, bad_exit, "package")
    with _record_crash(run.path, run.record):
        if judge is None:
            judge = _Judge(args, argv, bad_exit, run.run_dir)
        judge.package = package

        # an override of the package itself in --requirements gives way to the candidate's
        head, *overrides = base.split("+")
        base = "+".join([head, *(o for o in overrides if _name(o) != _name(package))])

        def spec(version: str) -> str:
            return f"{base}+{package}=={version}"

        body = run.record["bisect"] = {
            "package": package, "held": base, "held_label": held,
            "versions": sorted(walk, key=Version),
            "good": good, "bad": bad, "direction": "first bad" if forward else "first good",
        }
        print(f"glmcheck bisect: {package}: {len(walk) - 2} release(s) between {good} (good) and "
              f"{bad} (bad); command: glmcheck {shlex.join(argv)}", file=sys.stderr, flush=True)
        outcomes = {v: o for v in walk for k, o in (known or {}).items()
                    if Version(k) == Version(v)}
        for which, version, want in (("good", good, "good"), ("bad", bad, "bad")):
            if version not in outcomes:
                judged = judge(f"{package} {version}", spec(version))
                run.step(judged)
                outcomes[version] = judged.outcome
                if judged.outcome.verdict != want:
                    return _ends_error(run, which, version, judged, want)

        def probe(version: str):
            judged = judge(f"{package} {version}", spec(version))
            run.step(judged)
            return judged.outcome

        ascending = body["versions"]
        result = search(ascending, probe, known=outcomes)
        tried = {**outcomes, **{p.version: p.outcome for p in result.probes}}
        body.update(first=result.first, last_same=result.last_same, candidates=result.candidates,
                    found=result.found,
                    tried={v: o.to_dict() for v, o in tried.items()})
        other = "bad" if forward else "good"
        if result.found:
            line = (f"{package} {result.first} is the first {other} release after "
                    f"{result.last_same} ({'good' if forward else 'bad'})")
            if not forward:
                line += f": the lowest version to require is {result.first}"
            code = EXIT_OK
        else:
            unjudged = [v for v in result.candidates[:-1]]
            line = (f"cannot name one release of {package}: the first {other} is one of "
                    f"{', '.join(result.candidates)} ({', '.join(unjudged)} could not be judged)")
            code = EXIT_FAILED
        if stack_rows:
            changed = len(run.record.get("stack", {}).get("changed", []))
            line = f"the verdict follows {package} (of {changed} changed packages); {line}"
        body["line"] = line
        _print_table(package, ascending, tried, judge, line, args.markdown, run, stack_rows)
        return run.finish(code, line)


def _print_table(package, versions, tried, judge: _Judge, line, markdown, run: _Run,
                 stack_rows: list | None = None) -> None:
    """The table of what was tried (each distinct reason once, below it) on stdout, and as
    Markdown in the run folder (and ``--markdown``)."""
    from glmcheck.comparison import _md, _md_table

    reused = {j.label for j in judge.judged if j.reused}
    notes: list[str] = []

    def note(outcome) -> str:
        if outcome.verdict == "good" or not outcome.reason:
            return ""
        if outcome.reason not in notes:
            notes.append(outcome.reason)
        return f"[{notes.index(outcome.reason) + 1}]"

    def took(outcome, label: str) -> str:
        text = f"{outcome.seconds:.1f} s" if outcome.seconds is not None else ""
        return text + (" (stored)" if label in reused else "")

    head = ["version", "verdict", "time", "why"]
    rows = []
    for v in versions:
        o = tried.get(v)
        rows.append([v, "not tried", "", ""] if o is None
                    else [v, o.label, took(o, f"{package} {v}"), note(o)])
    stack_head = ["swapped into --good from --bad", "verdict", "time", "why"]
    stack = [[what, o.label, took(o, label), note(o)] for what, label, o in stack_rows or []]
    held = run.record["bisect"].get("held_label") or run.record["bisect"].get("held", "")
    out = []
    if stack:
        out += _text_table(stack_head, stack) + [""]
    out.append(f"{package}, every other package as in {held}:")
    out += _text_table(head, rows)
    out += [f"[{i}] {text}" for i, text in enumerate(notes, 1)]
    out.append(line)
    print("\n".join(out))
    print(f"results: {run.path}")
    md = [f"### glmcheck bisect: {line}", "",
          f"command: `glmcheck {shlex.join(run.record['request']['run'])}`", ""]
    if stack:
        md += _md_table(stack_head, stack) + [""]
    md += _md_table(head, rows) + [""]
    md += [f"{i}. {_md(text)}" for i, text in enumerate(notes, 1)]
    text = "\n".join(md) + "\n"
    (run.run_dir / "bisect.md").write_text(text)
    if markdown == "-":
        print(text, end="")
    elif markdown:
        Path(markdown).write_text(text)


def _text_table(head: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths[:-1]) + "  {}"
    return [fmt.format(*head).rstrip()] + [fmt.format(*r).rstrip() for r in rows]


def _stacks(args, argv, bad_exit) -> int:
    from glmcheck.bisection import dependency_groups, narrow
    from glmcheck.cli import _record_crash
    from glmcheck.environments import BuildError, resolve_environment
    from glmcheck.errors import EXIT_FAILED, UsageError

    for which, spec in (("good", args.good), ("bad", args.bad)):
        if not spec.split("+")[0].endswith((".txt", ".in")):
            raise UsageError(f"--{which} {spec!r} is not a requirements file: give PACKAGE to "
                             f"bisect its releases, or two requirements files (.txt, .in)")
        resolve_environment(spec, build=False)  # exists and parses
    run = _Run(args, argv, bad_exit, "stack")
    store = Path(args.store)
    with _record_crash(run.path, run.record):
        judge = _Judge(args, argv, bad_exit, run.run_dir)
        ends, found = {}, {}
        for which, spec in (("good", args.good), ("bad", args.bad)):
            try:
                env = resolve_environment(spec)
            except BuildError as exc:
                raise UsageError(f"the --{which} stack does not build: {exc.reason}") from None
            found[which] = _installed(env.python)
            judged = judge(f"--{which} stack", spec)
            run.step(judged)
            ends[which] = judged
            if judged.outcome.verdict != which:
                return _ends_error(run, which, spec, judged, which)
        good, bad = found["good"], found["bad"]
        for side in (good, bad):
            side.pop("glmcheck", None)
        groups = dependency_groups(good, bad)
        pins_good = _pinned(good)
        body = run.record["stack"] = {
            "good": args.good, "bad": args.bad,
            "changed": [{"package": n, "good": (good.get(n) or {}).get("version"),
                         "bad": (bad.get(n) or {}).get("version")} for g in groups for n in g],
            "groups": groups, "probes": [],
        }
        if not groups:
            line = ("the two stacks install the same versions, yet their verdicts differ: the "
                    "command's verdict does not repeat")
            print(f"glmcheck bisect: {line}", file=sys.stderr)
            return run.finish(EXIT_FAILED, line)
        print(f"glmcheck bisect: {len(body['changed'])} package(s) differ, in {len(groups)} "
              f"group(s): {_groups_text(groups, good, bad)}",
              file=sys.stderr, flush=True)

        def swapped_pins(parts: list[list[str]]) -> dict[str, str]:
            pins = dict(pins_good)
            for n in (n for g in parts for n in g):
                version = (bad.get(n) or {}).get("version")
                if version is None:
                    pins.pop(n, None)
                else:
                    pins[n] = version
            return pins

        def probe(parts: list[list[str]]):
            spec = _stack_file(store, swapped_pins(parts))
            judged = judge(_swap_label(parts), spec)
            run.step(judged)
            return judged.outcome

        def on_probe(parts, outcome):
            body["probes"].append({"swapped": [n for g in parts for n in g],
                                   "outcome": outcome.to_dict()})
            run.save()

        narrowed = narrow(groups, probe, on_probe=on_probe)
        body["responsible"] = narrowed.groups
        body["note"] = narrowed.note
        stack_rows = [(_groups_text(parts, good, bad), label, o)
                      for parts, label, o in [(groups, "--bad stack", ends["bad"].outcome),
                                              *[(parts, _swap_label(parts), o)
                                                for parts, o in narrowed.probes]]]
        if not narrowed.found or len(narrowed.groups[0]) > 1:
            names = _groups_text(narrowed.groups, good, bad)
            line = (f"the verdict follows the change of {names}"
                    + (", which move together" if narrowed.found else f": {narrowed.note}"))
            print("\n".join(_text_table(["swapped into --good from --bad", "verdict", "time"],
                                        [[w, o.label, f"{o.seconds or 0:.1f} s"]
                                         for w, _, o in stack_rows])))
            print(line)
            print(f"results: {run.path}")
            return run.finish(EXIT_FAILED, line)
        (package,) = narrowed.groups[0]
        old, new = (good.get(package) or {}).get("version"), (bad.get(package) or {}).get("version")
        if old is None or new is None:
            line = (f"the verdict follows {'adding' if old is None else 'removing'} {package} "
                    f"({_versions(package, good, bad)})")
            print(line)
            print(f"results: {run.path}")
            return run.finish(EXIT_FAILED, line)
        print(f"glmcheck bisect: the verdict follows {package} ({old} → {new}); now its releases",
              file=sys.stderr, flush=True)
        base = _stack_file(store, pins_good)
        alone = [o for parts, o in narrowed.probes if parts == [[package]]]
        known = {old: ends["good"].outcome, new: alone[-1] if alone else ends["bad"].outcome}
        held = f"--good {args.good}"
        args.package, args.good, args.bad = package, old, new
        run.record["request"]["package"] = package
        return _package(args, argv, bad_exit, run=run, base=base, known=known, judge=judge,
                        stack_rows=stack_rows, held=held)


def _versions(name: str, good: dict, bad: dict) -> str:
    g, b = (good.get(name) or {}).get("version"), (bad.get(name) or {}).get("version")
    return f"{name} {g or '(none)'} → {b or '(none)'}"


def _groups_text(groups: list[list[str]], good: dict, bad: dict) -> str:
    return "; ".join(", ".join(_versions(n, good, bad) for n in g) for g in groups)


def _swap_label(parts: list[list[str]]) -> str:
    return "swap " + ", ".join(n for g in parts for n in g)


def _name(requirement: str) -> str:
    """The normalized name a requirement (or an override) starts with."""
    from packaging.utils import canonicalize_name

    found = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    return canonicalize_name(found.group(1)) if found else requirement
