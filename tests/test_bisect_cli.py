"""``glmcheck bisect`` end to end without building environments (the candidates' verdicts are
stood in for), the classification of what a candidate's run gave, the dependency groups of two
stacks and the search for the package; and one slow test that builds real environments."""

import json
import os
import re
from pathlib import Path

import pytest

from glmcheck import bisect_cli, bisection
from glmcheck.bisection import Outcome, classify, dependency_groups, narrow
from glmcheck.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main

RELEASES = ["1.4", "1.5", "1.6", "1.6.1", "1.6.2", "1.7.0", "1.7.1"]
RUN = "baseline check --case linear --frontend pymc --sampler blackjax --route public"
TYPE_ERROR = ("fit failed: linear · pymc · blackjax · public (sample): pm.sample raised "
              "TypeError: kernel() got an unexpected keyword argument 'progress_bar'")


def _version(spec: str) -> str:
    """The blackjax version a candidate's spec asks for (an override, or a stack file's pin)."""
    found = re.search(r"blackjax==([0-9.]+)", spec)
    if found:
        return found.group(1)
    return re.search(r"^blackjax==(\S+)$", Path(spec).read_text(), re.M).group(1)


@pytest.fixture
def world(monkeypatch, tmp_path):
    """The index, this interpreter's packages and each candidate's verdict, stood in for:
    blackjax >= ``first_bad`` fails its fit; ``skips`` do not install; ``crashes`` crash."""
    state = {"first_bad": "1.6", "skips": set(), "crashes": set(), "judged": []}

    def fake_judge(self, label, spec):
        v = _version(spec)
        state["judged"].append(v)
        if v in state["skips"]:
            return Outcome("skip", "does not install with the rest of the stack: Because "
                           "blackjax==1.6.1 depends on jax>=0.13", kind="does not install"), None
        if v in state["crashes"]:
            return Outcome("crash", "glmcheck: internal error: KeyError: 'x'", kind="crashed",
                           exit_code=4), None
        from packaging.version import Version

        if Version(v) >= Version(state["first_bad"]):
            return Outcome("bad", TYPE_ERROR, kind="fit failed", exit_code=3), None
        return Outcome("good", kind="passed", exit_code=0), None

    monkeypatch.setattr(bisection, "published_releases", lambda package, pre=False: RELEASES)
    monkeypatch.setattr(bisect_cli._Judge, "_judge", fake_judge)
    monkeypatch.setattr(bisect_cli, "_installed", lambda python: {
        "blackjax": {"version": "1.5", "requires": []},
        "numpy": {"version": "2.5.5", "requires": []},
        "glmcheck": {"version": "0.1.0", "requires": [], "local": True},
    })
    monkeypatch.setenv("GLMCHECK_ENVS", str(tmp_path / "envs"))
    monkeypatch.chdir(tmp_path)
    return state


def _bisect(capsys, *args):
    code = main(["bisect", *args, "--run", RUN])
    out, err = capsys.readouterr()
    return code, out, err


def _record(tmp_path, n=1):
    return json.loads((tmp_path / "glmcheck-out" / f"run-{n:03d}" / "results.json").read_text())


def test_the_first_bad_release_is_named_with_a_table_and_a_record(world, capsys, tmp_path):
    code, out, err = _bisect(capsys, "blackjax", "--good", "1.5", "--bad", "1.7")
    assert code == EXIT_OK, err
    assert out.splitlines()[-2] == "blackjax 1.6 is the first bad release after 1.5 (good)"
    assert re.search(r"^1\.6\s+bad \(fit failed\)\s+\S+ s\s+\[1\]$", out, re.M)
    assert re.search(r"^1\.6\.2\s+not tried$", out, re.M)
    assert f"[1] {TYPE_ERROR}" in out
    # one progress line per candidate judged, the ends first
    progress = [line for line in err.splitlines()
                if re.match(r"glmcheck bisect: blackjax \d", line)]
    assert [line.split(":")[1].strip() for line in progress] == [
        "blackjax 1.5", "blackjax 1.7.0", "blackjax 1.6.1", "blackjax 1.6"]
    assert world["judged"] == ["1.5", "1.7.0", "1.6.1", "1.6"]
    record = _record(tmp_path)
    assert record["kind"] == "bisect" and record["exit_code"] == EXIT_OK
    assert record["bisect"]["first"] == "1.6" and record["bisect"]["found"]
    assert record["bisect"]["tried"]["1.6"]["kind"] == "fit failed"
    assert [s["name"] for s in record["steps"]] == [f"blackjax {v}" for v in world["judged"]]
    assert record["request"]["run"] == RUN.split()
    # the others are held where this interpreter has them, the candidate overriding blackjax
    held = Path(record["bisect"]["held"])
    assert held.read_text().splitlines() == ["# pinned by glmcheck bisect", "blackjax==1.5",
                                             "numpy==2.5.5"]
    assert record["steps"][0]["spec"] == f"{held}+blackjax==1.5"
    md = (tmp_path / "glmcheck-out" / "run-001" / "bisect.md").read_text()
    assert "| 1.6 | bad (fit failed) |" in md


def test_a_rerun_reuses_every_verdict(world, capsys, tmp_path):
    _bisect(capsys, "blackjax", "--good", "1.5", "--bad", "1.7")
    world["judged"].clear()
    code, out, err = _bisect(capsys, "blackjax", "--good", "1.5", "--bad", "1.7")
    assert code == EXIT_OK and world["judged"] == []
    assert out.count("(stored)") == 4
    assert _record(tmp_path, 2)["steps"][0]["reused"] is True
    # --fresh judges again
    code, *_ = _bisect(capsys, "blackjax", "--good", "1.5", "--bad", "1.7", "--fresh")
    assert code == EXIT_OK and world["judged"] == ["1.5", "1.7.0", "1.6.1", "1.6"]


def test_skips_and_crashes_are_stepped_around_and_reported_as_such(world, capsys, tmp_path):
    world.update(first_bad="1.7.0", skips={"1.6.1"})
    code, out, _ = _bisect(capsys, "blackjax", "--good", "1.5", "--bad", "1.7.1")
    assert code == EXIT_OK, out
    assert "blackjax 1.7.0 is the first bad release after 1.6.2 (good)" in out
    assert re.search(r"^1\.6\.1\s+skip \(does not install\)", out, re.M)
    assert "depends on jax>=0.13" in out


def test_only_unjudged_releases_left_is_a_range_and_exit_1(world, capsys, tmp_path):
    world.update(first_bad="1.6.2", skips={"1.6.1"}, crashes={"1.6.2"})
    code, out, _ = _bisect(capsys, "blackjax", "--good", "1.5", "--bad", "1.7.0")
    assert code == EXIT_FAILED
    assert ("cannot name one release of blackjax: the first bad is one of 1.6.1, 1.6.2, 1.7.0 "
            "(1.6.1, 1.6.2 could not be judged)") in out
    assert re.search(r"^1\.6\.2\s+crash \(crashed\)", out, re.M)
    assert _record(tmp_path)["exit_code"] == EXIT_FAILED
    # a rerun keeps the verdicts and the skip, and tries the crash again
    world["judged"].clear()
    _bisect(capsys, "blackjax", "--good", "1.5", "--bad", "1.7.0")
    assert world["judged"] == ["1.6.2"]


def test_the_lowest_version_to_require(world, capsys, monkeypatch):
    """--good newer than --bad: the first good release after the bad one."""
    world.update(first_bad="0")  # every version >= 0 is bad ...
    code, out, _ = _bisect(capsys, "blackjax", "--good", "1.7.1", "--bad", "1.5")
    assert code == EXIT_USAGE  # ... so the good end is not good: nothing to bisect

    def judge(self, label, spec):
        good = _version(spec) not in ("1.4", "1.5", "1.6")  # fixed in 1.6.1
        return (Outcome("good", kind="passed", exit_code=0) if good else
                Outcome("bad", TYPE_ERROR, kind="fit failed", exit_code=3)), None

    monkeypatch.setattr(bisect_cli._Judge, "_judge", judge)
    code, out, _ = _bisect(capsys, "blackjax", "--good", "1.7.1", "--bad", "1.4", "--fresh")
    assert code == EXIT_OK
    assert ("blackjax 1.6.1 is the first good release after 1.6 (bad): the lowest version to "
            "require is 1.6.1") in out


@pytest.mark.parametrize("good, bad, needle", [
    ("1.6", "1.7.0", "--good 1.6 is not good with this command: bad (fit failed)"),
    ("1.4", "1.5", "--bad 1.5 is not bad with this command: good (passed); nothing to bisect"),
])
def test_an_end_without_its_verdict_is_bad_input(world, capsys, tmp_path, good, bad, needle):
    code, out, err = _bisect(capsys, "blackjax", "--good", good, "--bad", bad)
    assert code == EXIT_USAGE
    assert needle in err and len(err.strip().splitlines()[-1:]) == 1
    assert _record(tmp_path)["exit_code"] == EXIT_USAGE


def test_an_end_that_cannot_be_judged_is_bad_input_and_a_crash_is_internal(world, capsys):
    world["skips"] = {"1.5"}
    code, _, err = _bisect(capsys, "blackjax", "--good", "1.5", "--bad", "1.7.0")
    assert code == EXIT_USAGE and "--good 1.5 cannot be judged: skip (does not install)" in err
    world.update(skips=set(), crashes={"1.7.0"})
    code, _, err = _bisect(capsys, "blackjax", "--good", "1.5", "--bad", "1.7.0", "--fresh")
    assert code == 4 and "--bad 1.7.0 cannot be judged: crash (crashed)" in err


@pytest.mark.parametrize("args, needle", [
    (["--run", "compare a b"], "is not a glmcheck command with a verdict"),
    (["--run", "baseline update"], "is not a glmcheck command with a verdict"),
    (["--run", "check --out x"], "--run must not set --out"),
    (["--run", "check --sampler"], "argument --sampler/-s: expected one argument"),
    (["--run", "check 'unclosed"], "cannot be split into arguments"),
    (["--run", "bench --case linear --repeats 3"], "use --repeats 7 or more"),
    (["--run", "bench --env self"], "must not set --env"),
    (["--bad-exit", "2"], "--bad-exit '2': expected 1, 3 or 1,3"),
    (["--timeout", "0"], "expected --timeout > 0"),
    (["--requirements", "nothing.txt"], "requirements file"),
    (["--markdown", "no/such/folder/bisect.md"], "the folder 'no/such/folder' does not exist"),
])
def test_bad_requests_are_one_line_before_any_work(world, capsys, tmp_path, args, needle):
    code = main(["bisect", "blackjax", "--good", "1.5", "--bad", "1.7", *args])
    err = capsys.readouterr().err.strip()
    assert code == EXIT_USAGE and err.startswith("glmcheck: error: ") and needle in err
    assert len(err.splitlines()) == 1
    assert world["judged"] == [] and not (tmp_path / "glmcheck-out").exists()


def test_an_unpublished_version_names_the_published_ones(world, capsys):
    code = main(["bisect", "blackjax", "--good", "1.5", "--bad", "1.6.3"])
    err = capsys.readouterr().err
    assert code == EXIT_USAGE and "1.6.3 is not a published release" in err


def test_the_default_command_names_the_sampler():
    assert bisect_cli._verdict_argv(None, "blackjax") == [
        "baseline", "check", "--case", "linear", "--sampler", "blackjax"]
    assert bisect_cli._verdict_argv(None, "pymc") == [
        "baseline", "check", "--case", "linear", "--sampler", "pymc"]
    assert bisect_cli._verdict_argv(None, "scipy") == ["baseline", "check", "--case", "linear"]


# -- two stacks ----------------------------------------------------------------------------------
def test_two_stacks_name_the_package_then_the_release(world, capsys, tmp_path, monkeypatch):
    """The planted bad stack: blackjax 1.7.1 and newer releases of two packages that do not
    matter. The package is found first, then its release."""
    from glmcheck import environments

    good = tmp_path / "good.txt"
    good.write_text("blackjax==1.5\nfilelock==4.2.12\nplatformdirs==4.14.8\n")
    bad = "good.txt+blackjax==1.7.1+filelock==4.3.1+platformdirs==4.14.9"
    installed = {
        str(good): {"blackjax": "1.5", "filelock": "4.2.12", "platformdirs": "4.14.8"},
        bad: {"blackjax": "1.7.1", "filelock": "4.3.1", "platformdirs": "4.14.9"},
    }
    real = environments.resolve_environment

    def resolve(spec, **kwargs):
        env = real(spec, build=False)
        return environments.Environment(spec, env.python)

    def found(python):
        for spec, pins in installed.items():
            if resolve(spec).python == python:
                return {n: {"version": v, "requires": []} for n, v in pins.items()}
        raise AssertionError(python)

    monkeypatch.setattr(environments, "resolve_environment", resolve)
    monkeypatch.setattr(bisect_cli, "_installed", found)
    code, out, err = _bisect(capsys, "--good", str(good), "--bad", bad)
    assert code == EXIT_OK, err
    assert ("the verdict follows blackjax (of 3 changed packages); blackjax 1.6 is the first "
            "bad release after 1.5 (good)") in out
    assert re.search(r"^blackjax 1\.5 → 1\.7\.1\s+bad \(fit failed\)", out, re.M)
    record = _record(tmp_path)
    assert record["stack"]["groups"] == [["blackjax"], ["filelock"], ["platformdirs"]]
    assert record["stack"]["responsible"] == [["blackjax"]]
    assert record["bisect"]["first"] == "1.6"
    names = [s["name"] for s in record["steps"]]
    assert names[:3] == ["--good stack", "--bad stack", "swap blackjax"]
    assert "blackjax 1.7.1" not in names, "the swap already judged blackjax 1.7.1 alone"


def test_a_stack_needs_requirements_files(world, capsys):
    code = main(["bisect", "--good", "1.5", "--bad", "1.7"])
    err = capsys.readouterr().err
    assert code == EXIT_USAGE and "--good '1.5' is not a requirements file" in err


# -- pieces ------------------------------------------------------------------------------------
@pytest.mark.parametrize("exit_code, record_exit, last_error, bad_exit, want", [
    (0, 0, None, (1, 3), ("good", "passed")),
    (1, 1, "1 check failed", (1, 3), ("bad", "check failed")),
    (3, 3, "fit failed", (1, 3), ("bad", "fit failed")),
    (1, 1, "1 check failed", (3,), ("good", "check failed")),
    (2, None, "glmcheck: error: sampler 'blackjax' is not installed", (1, 3),
     ("skip", "cannot run")),
    # Python's own exit 1 of an import error: no record, so no verdict
    (1, None, "ModuleNotFoundError: No module named 'jax.experimental'", (1, 3),
     ("skip", "cannot run")),
    (4, 4, "glmcheck: internal error: KeyError", (1, 3), ("crash", "crashed")),
    (124, None, "timed out after 60 s", (1, 3), ("crash", "timed out")),
    (-11, None, "killed by SIGSEGV", (1, 3), ("crash", "crashed")),
])
def test_classify(exit_code, record_exit, last_error, bad_exit, want):
    got = classify(exit_code, record_exit, [], last_error, bad_exit=bad_exit)
    assert (got.verdict, got.kind) == want and got.exit_code == exit_code
    if got.verdict != "good":
        assert got.reason


def test_findings_are_the_reason_of_a_judged_run():
    got = classify(1, 1, ["baseline: linear: 2 of 21 differ", "convergence: R-hat"], "x")
    assert got.reason == "baseline: linear: 2 of 21 differ (+1 more)"


def _dist(version, *requires):
    return {"version": version, "requires": list(requires)}


def test_dependency_groups_move_what_must_move_together():
    good = {"blackjax": _dist("1.5", "jax>=0.4"), "jax": _dist("0.12", "numpy>=2"),
            "jaxlib": _dist("0.12"), "numpy": _dist("2.5", ), "numba": _dist("0.68", "numpy<2.6"),
            "tzdata": _dist("2026.5"), "six": _dist("1.16")}
    bad = {"blackjax": _dist("1.7.1", "jax>=0.13", "fastprogress; extra == 'docs'"),
           "jax": _dist("0.13", "jaxlib==0.13"), "jaxlib": _dist("0.13"),
           "numpy": _dist("2.6"), "numba": _dist("0.69", "numpy<2.7"),
           "tzdata": _dist("2026.6"), "fastprogress": _dist("1.0")}
    assert dependency_groups(good, bad) == [
        ["blackjax", "jax", "jaxlib"],   # blackjax 1.7.1 needs jax 0.13, which needs jaxlib 0.13
        ["fastprogress"],                # only an extra needs it: on its own
        ["numba", "numpy"],              # numba 0.68 (good) refuses numpy 2.6 (bad)
        ["six"], ["tzdata"],
    ]


def test_narrow_finds_the_group_or_says_why_not():
    groups = [["a"], ["b"], ["c"], ["d"]]

    def probe_for(bad_when):
        calls = []

        def probe(parts):
            calls.append(parts)
            names = {n for g in parts for n in g}
            return bad_when(names)
        return probe, calls

    probe, calls = probe_for(lambda n: Outcome("bad" if "c" in n else "good"))
    got = narrow(groups, probe)
    assert got.found and got.groups == [["c"]] and len(calls) <= 4
    probe, _ = probe_for(lambda n: Outcome("bad" if {"a", "d"} <= n else "good"))
    got = narrow(groups, probe)
    assert not got.found and "needs packages from both" in got.note
    probe, _ = probe_for(lambda n: Outcome("skip", "conflict") if "a" in n
                         else Outcome("good"))
    got = narrow(groups, probe)
    assert not got.found and "could not be judged on its own" in got.note


# -- real environments ---------------------------------------------------------------------------
@pytest.mark.slow
def test_real_environments_for_two_releases_of_a_small_package(tmp_path, monkeypatch, capsys):
    """Two real environments built with uv from this interpreter's packages, one with six
    1.16.0 and one with 1.17.0, and a user case that a six release 'breaks' (its likelihood
    doubles in width from six 1.17 on): the check fails there and bisect names 1.17.0; a
    rerun reuses both environments and verdicts."""
    userland = Path(__file__).parent / "userland"
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(userland), *filter(None, [os.environ.get("PYTHONPATH")])]))
    monkeypatch.setenv("GLMCHECK_ENVS", str(tmp_path / "envs"))
    monkeypatch.chdir(tmp_path)
    args = ["bisect", "six", "--good", "1.16.0", "--bad", "1.17.0", "--run",
            "check --case release_planted:CASE --frontend pymc --check recovery "
            "--coverage-sets 0 --draws 500"]
    code = main(args)
    out, err = capsys.readouterr()
    assert code == EXIT_OK, err[-3000:]
    assert "six 1.17.0 is the first bad release after 1.16.0 (good)" in out
    assert re.search(r"^1\.17\.0\s+bad \(check failed\)\s+\S+ s\s+\[1\]$", out, re.M)
    assert "recovery: release_planted" in out
    built = sorted(p.name for p in (tmp_path / "envs").iterdir() if not p.name.startswith("."))
    assert len(built) == 2
    sites = {(tmp_path / "envs" / b / "glmcheck-env.json").is_file() for b in built}
    assert sites == {True}
    six = sorted(d.name for b in built
                 for d in (tmp_path / "envs" / b).glob("lib/python*/site-packages/six-*"))
    assert six == ["six-1.16.0.dist-info", "six-1.17.0.dist-info"]
    record = _record(tmp_path)
    versions = [json.loads((tmp_path / "glmcheck-out" / "run-001" / s["record"]).read_text())
                ["environment"]["versions"] for s in record["steps"]]
    assert len(versions) == 2 and versions[0] == versions[1], "everything else held"
    code = main(args)
    out, err = capsys.readouterr()
    assert code == EXIT_OK and out.count("(stored)") == 2 and "building" not in err


def test_an_override_of_the_package_in_requirements_gives_way(world, capsys, tmp_path):
    (tmp_path / "reqs.txt").write_text("blackjax==1.5\nnumpy==2.5.5\n")
    code, _, err = _bisect(capsys, "blackjax", "--good", "1.5", "--bad", "1.7",
                           "--requirements", "reqs.txt+blackjax==1.5+numpy==2.5.5")
    assert code == EXIT_OK, err
    specs = [s["spec"] for s in _record(tmp_path)["steps"]]
    assert specs[0] == "reqs.txt+numpy==2.5.5+blackjax==1.5"
    assert all(s.count("blackjax") == 1 for s in specs)


def test_compare_refuses_a_bisection_and_report_reads_its_candidates(world, capsys, tmp_path):
    _bisect(capsys, "blackjax", "--good", "1.5", "--bad", "1.7")
    record = tmp_path / "glmcheck-out" / "run-001" / "results.json"
    assert main(["compare", str(record), str(record)]) == EXIT_USAGE
    assert "is a bisection, which holds no fits itself" in capsys.readouterr().err
    from glmcheck.reporting import load_runs

    runs, warnings = load_runs([record])
    assert runs == [] and len(warnings) == 4  # the stand-in candidates wrote no records


def test_a_module_that_does_not_import_there_is_named(tmp_path, monkeypatch):
    import sys

    (tmp_path / "brokenmod.py").write_text("raise ImportError('cannot import name x from jax')")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.setattr(bisect_cli, "_CORE_MODULES", ("json", "brokenmod"))
    assert bisect_cli._cannot_run(Path(sys.executable), None) == (
        "import brokenmod fails there: ImportError: cannot import name x from jax")
    monkeypatch.setattr(bisect_cli, "_CORE_MODULES", ("json",))
    assert bisect_cli._cannot_run(Path(sys.executable), "packaging") is None


def test_a_failed_fit_that_is_an_import_error_is_a_skip(tmp_path, monkeypatch):
    """A release that installs but does not import against the held packages fails its fits
    with an ImportError: that is 'cannot run' (skip), not the verdict, unless --import-error
    bad; a crash is probed for an import that fails there."""
    from types import SimpleNamespace

    from glmcheck import environments
    from glmcheck.environments import RunOutcome

    def fit(error):
        return {"status": "failed", "case": "linear", "frontend": "pymc", "sampler": "blackjax",
                "stage": "compile", "error": error}

    imports = ("blackjax could not compile the pymc model of case 'linear': ImportError: "
               "cannot import name 'get_filter_adapt_info_fn' from 'blackjax.adaptation.base'")
    runs = {"import": (3, [fit(imports)], []),
            "type": (3, [fit(imports), fit("pm.sample raised TypeError: progress_bar")], []),
            "check": (3, [fit(imports)], [{"check": "baseline", "case": "linear",
                                           "passed": False, "message": "2 of 21 differ"}]),
            "crash": (4, [], [])}

    class Env:
        python = Path("python")

        def __init__(self, spec):
            self.spec = spec

        def describe(self):
            return {}

        def run(self, *args, out, timeout, log):
            code, fits, checks = runs[self.spec]
            record = {"exit_code": code, "fits": fits, "checks": checks, "skipped": []}
            return RunOutcome(code, record, None, "glmcheck: internal error: KeyError")

    monkeypatch.setattr(environments, "resolve_environment", lambda spec, **k: Env(spec))
    monkeypatch.setattr(bisect_cli, "_cannot_run",
                        lambda python, package: "import blackjax fails there: ImportError: x")

    def judged(spec, import_error="skip"):
        args = SimpleNamespace(timeout=60, import_error=import_error,
                               store=tmp_path / "store", fresh=False)
        return bisect_cli._Judge(args, ["check"], (1, 3), tmp_path)._judge(spec, spec)[0]

    got = judged("import")
    assert got.label == "skip (cannot run)"
    assert got.reason == ("an import fails against the held packages: ImportError: cannot "
                          "import name 'get_filter_adapt_info_fn' from 'blackjax.adaptation.base'")
    assert judged("import", "bad").label == "bad (cannot import)"
    assert judged("type").label == "bad (fit failed)", "another failure is the verdict"
    assert judged("check").label == "bad (fit failed)", "so is a failed check"
    got = judged("crash")
    assert got.label == "skip (cannot run)" and got.reason.startswith("import blackjax fails")
