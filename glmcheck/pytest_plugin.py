"""glmcheck's pytest plugin: validate your own PyMC and Bambi models from your own test suite.

Installed with glmcheck (entry point ``pytest11``), it adds

- the ``glmcheck`` fixture, whose methods run glmcheck's verdicts on your own case (a
  :class:`glmcheck.cases.Case`) and fail the test with glmcheck's one-line reasons:
  ``glmcheck.check()`` (convergence, recovery, coverage, agreement), ``glmcheck.sbc()``
  (simulation-based calibration) and ``glmcheck.baseline()`` (comparison with your stored
  reference posterior);
- the marker ``@pytest.mark.glmcheck(case=..., frontends=..., samplers=...)``, which gives the
  fixture its defaults and lets ``-m glmcheck`` / ``-m "not glmcheck"`` select these tests;
- the options of :mod:`glmcheck.options` as ``--glmcheck-<name>`` (profile, sampler,
  simulations, baselines, out, update-baselines), the same options the command line has.

A baseline is a reference record of your model made by your own run and kept in your
repository (``--glmcheck-baselines``, default ``glmcheck-baselines/`` in pytest's rootdir). A
missing one fails the test with the command that makes it: ``pytest --glmcheck-update-baselines``
(as with pytest-regressions' ``--force-regen`` or syrupy's ``--snapshot-update``).

Every verdict runs the command-line code (``glmcheck check``, ``sbc``, ``baseline``) and writes
its run record; at the end of the session the plugin renders them all with ``glmcheck report``
into ``--glmcheck-out`` (by default a folder of pytest's temporary directory). Heavy libraries
are imported only when a verdict runs, so ``pytest --help`` stays fast.
"""

from __future__ import annotations

import io
import re
import sys
from contextlib import redirect_stderr
from dataclasses import dataclass, field
from pathlib import Path

import pytest

__all__ = ["Verdict", "Glmcheck", "case_reference"]

MARKER = ("glmcheck(case=None, frontends=None, samplers=None): a test that validates a GLM "
          "with glmcheck; the glmcheck fixture uses this case, frontends and samplers unless "
          "a call names others")


def pytest_addoption(parser) -> None:
    from glmcheck.options import add_pytest

    add_pytest(parser)


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", MARKER)
    config.stash[_RECORDS] = []
    config.stash[_WRITTEN] = []
    config.stash[_MISSING] = []


#: the records the session's verdicts wrote, the baselines it wrote, and those it missed
_RECORDS = pytest.StashKey[list]()
_WRITTEN = pytest.StashKey[list]()
_MISSING = pytest.StashKey[list]()


@dataclass
class Verdict:
    """What one glmcheck command found: its exit code, its record and the one-line reasons."""

    command: str
    exit_code: int
    record_path: Path | None
    record: dict | None
    reasons: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.exit_code == 0

    @property
    def checks(self) -> list[dict]:
        return self.record["checks"] if self.record else []


def case_reference(case) -> str:
    """How the command line names ``case``: a string as given, or the ``module:attribute``
    where the case object (or its class, when a fresh instance equals it) lives — the name
    SBC's worker processes load it by."""
    from glmcheck.cases import Case
    from glmcheck.errors import UsageError

    if isinstance(case, str):
        return case
    if not isinstance(case, Case):
        raise UsageError(f"expected a glmcheck.cases.Case or a 'module:attribute' name, "
                         f"got {type(case).__name__}")
    cls = type(case)
    module = sys.modules.get(cls.__module__)
    for name, value in vars(module or object).items():
        if value is case:
            return f"{cls.__module__}:{name}"
    if module is not None and getattr(module, cls.__qualname__, None) is cls:
        try:
            if vars(cls()) == vars(case):
                return f"{cls.__module__}:{cls.__qualname__}"
        except TypeError:
            pass
    raise UsageError(
        f"case {case.name!r} cannot be found by name: define it at module level of an "
        f"importable module (e.g. CASE = {cls.__name__}(...)) or pass 'module:attribute'")


class Glmcheck:
    """The ``glmcheck`` fixture: glmcheck's verdicts on your case, failing the test with the
    reasons. Each method returns the :class:`Verdict` when it passes (``fail=False``: always)."""

    def __init__(self, config, node, folder: Path):
        from glmcheck.profiles import get_profile

        def option(name):
            return config.getoption(f"glmcheck_{name}")

        self.profile = get_profile(option("profile") or "quick")
        self.samplers = option("sampler")
        self.simulations = option("simulations")
        self.update = option("update_baselines")
        self.baselines = option("baselines") or Path(config.rootpath) / "glmcheck-baselines"
        self.folder = folder
        self._records = config.stash[_RECORDS]
        self._written = config.stash[_WRITTEN]
        self._missing = config.stash[_MISSING]
        self._root = Path(config.rootpath)
        marker = node.get_closest_marker("glmcheck")
        self.defaults = dict(marker.kwargs) if marker else {}
        unknown = set(self.defaults) - {"case", "frontends", "samplers"}
        if unknown:
            raise pytest.UsageError(f"@pytest.mark.glmcheck takes case, frontends and samplers, "
                                    f"not {', '.join(sorted(unknown))}")

    # -- the verdicts ----------------------------------------------------------------------
    def check(self, case=None, *, frontends=None, samplers=None, checks=None,
              fail: bool = True, args: tuple[str, ...] = ()) -> Verdict:
        """``glmcheck check`` of the case (convergence, recovery, coverage, agreement) with the
        profile's samplers; ``args`` are further command-line options."""
        argv = ["check", "--case", self._case(case), *self._frontends(frontends),
                "--sampler", ",".join(self._samplers(
                    samplers, self.profile.check_samplers or self.profile.samplers)),
                *(["--check", ",".join(checks)] if checks else []), "--figures", *args]
        return self._run("check", argv, fail)

    def sbc(self, case=None, *, frontend: str | None = None, sampler: str | None = None,
            simulations: int | None = None, fail: bool = True,
            args: tuple[str, ...] = ()) -> Verdict:
        """``glmcheck sbc`` of the case: the profile's size unless ``--glmcheck-simulations``
        or ``simulations`` says otherwise; the first of the frontends and samplers."""
        frontend = frontend or (self.defaults.get("frontends") or ("pymc",))[0]
        plan = self.profile.sbc[0]
        sampler = sampler or self._samplers(None, plan.samplers)[0]
        n = simulations or self.simulations or plan.simulations
        argv = ["sbc", "--case", self._case(case), "--frontend", frontend, "--sampler", sampler,
                "--simulations", str(n), "--stores", str(self.folder.parent / "sbc-stores"),
                *args]
        return self._run("sbc", argv, fail)

    def baseline(self, case=None, *, frontends=None, samplers=None, routes=None,
                 fail: bool = True) -> Verdict:
        """Compare the case with its stored reference (``baseline check``); with
        ``--glmcheck-update-baselines``, make the reference instead (``baseline update``)."""
        from glmcheck.cases import get_case

        ref = self._case(case)
        name = get_case(ref).name
        routes = routes or self.profile.routes
        selection = [*self._frontends(frontends),
                     "--sampler", ",".join(self._samplers(samplers, self.profile.samplers)),
                     "--route", ",".join(routes), "--baselines", str(self.baselines)]
        where = self._shown(self.baselines)
        if self.update:
            verdict = self._run("baseline-update",
                                ["baseline", "update", "--case", ref, *selection], fail)
            if verdict.passed:
                self._written.append(f"{where}/{name}")
            return verdict
        if not (self.baselines / name / "reference.json").is_file():
            message = (f"no baseline of case {name!r} in {where}: make it with "
                       f"pytest --glmcheck-update-baselines (and commit {where}/{name})")
            self._missing.append(f"{where}/{name}")
            if fail:
                pytest.fail(message, pytrace=False)
            return Verdict("baseline", 2, None, None, [message])
        return self._run("baseline", ["baseline", "check", "--case", ref, *selection], fail)

    # -- helpers ---------------------------------------------------------------------------
    def _shown(self, path: Path) -> str:
        """``path`` as the user's repository names it (relative to pytest's rootdir)."""
        try:
            return Path(path).resolve().relative_to(self._root.resolve()).as_posix()
        except ValueError:
            return str(path)

    def _case(self, case) -> str:
        case = case if case is not None else self.defaults.get("case")
        if case is None:
            raise pytest.UsageError("no case: pass one to the glmcheck fixture's method or "
                                    "mark the test @pytest.mark.glmcheck(case=...)")
        return case_reference(case)

    def _frontends(self, frontends) -> list[str]:
        frontends = frontends or self.defaults.get("frontends")
        return ["--frontend", ",".join(frontends)] if frontends else []

    def _samplers(self, samplers, profile_default) -> tuple[str, ...]:
        return tuple(samplers or self.defaults.get("samplers") or self.samplers
                     or profile_default)

    def _run(self, name: str, argv: list[str], fail: bool) -> Verdict:
        from glmcheck import reporting
        from glmcheck.cli import main

        out = self.folder / name
        argv = [*argv, "--out", str(out)] if name != "baseline-update" else argv
        captured = io.StringIO()
        with redirect_stderr(captured):
            code = main(argv)
        sys.stderr.write(captured.getvalue())  # pytest shows it beside a failure
        found = sorted(out.glob("run-*/results.json")) if name != "baseline-update" else []
        record = None
        if found:
            from glmcheck.record import load_record

            record = load_record(found[-1])
            self._records.append(found[-1])
        # the record's own lines (whole, as the report shows them); without a record, the
        # command's one-line error
        lines = reporting.reasons(reporting.Run(found[-1], record)) if record else []
        lines = lines or [line for line in captured.getvalue().splitlines()
                          if line.startswith("glmcheck:")]
        verdict = Verdict(name, code, found[-1] if found else None, record,
                          lines or [f"glmcheck {argv[0]} exited {code}"])
        if fail and code != 0:
            command = " ".join(argv[:2] if argv[0] == "baseline" else argv[:1])
            pytest.fail(f"glmcheck {command}: {reporting.VERDICTS.get(code, code)} "
                        f"(exit {code})\n  " + "\n  ".join(verdict.reasons), pytrace=False)
        return verdict


@pytest.fixture
def glmcheck(request, tmp_path_factory) -> Glmcheck:
    """glmcheck's verdicts on your own case: ``glmcheck.check()``, ``glmcheck.sbc()``,
    ``glmcheck.baseline()``; see :class:`glmcheck.pytest_plugin.Glmcheck`."""
    base = request.config.getoption("glmcheck_out") or tmp_path_factory.getbasetemp() / "glmcheck"
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)[-120:]
    return Glmcheck(request.config, request.node, Path(base) / safe)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    written = config.stash.get(_WRITTEN, [])
    missing = config.stash.get(_MISSING, [])
    records = config.stash.get(_RECORDS, [])
    if written or missing or records:
        terminalreporter.write_sep("-", "glmcheck")
    for folder in written:
        terminalreporter.write_line(f"glmcheck: baseline written: {folder} (commit it)")
    for folder in dict.fromkeys(missing):
        terminalreporter.write_line(f"glmcheck: baseline missing: {folder} "
                                    "(pytest --glmcheck-update-baselines makes it)")
    if not records:
        return
    from glmcheck import reporting

    base = Path(config.getoption("glmcheck_out") or records[0].parents[3])
    runs, warnings = reporting.load_runs(records)
    targets = {"html_path": base / "report.html", "markdown_path": base / "report.md",
               "junit_path": base / "junit.xml"}
    reporting.write_reports(runs, warnings, **targets)
    word = reporting.VERDICTS.get(reporting.verdict(runs), "INCOMPLETE")
    terminalreporter.write_line(f"glmcheck: {word} over the {len(runs)} record(s) written; "
                                f"report: {targets['html_path']} (Markdown: report.md, "
                                "JUnit: junit.xml)")
