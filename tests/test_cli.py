"""The command line: bad input gets one line and exit 2; runs write JSON and figures."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from glmcheck.cli import EXIT_OK, EXIT_USAGE, main
from glmcheck.cases import get_case
from glmcheck.errors import MissingDependency
from glmcheck.fitters import require

USERLAND = Path(__file__).parent / "userland"
# 4 chains × (1000 + 1000): the settings whose false-alarm rates the README states (a test
# that asserts every check passes must not rely on one machine's draws at riskier settings)
QUICK = ["--chains", "4", "--draws", "1000", "--tune", "1000", "--coverage-sets", "0"]


@pytest.fixture
def userland(monkeypatch):
    monkeypatch.syspath_prepend(str(USERLAND))


@pytest.fixture
def bad_csv(tmp_path):
    def write(mutate):
        data = mutate(get_case("linear").reference_data())
        path = tmp_path / "data.csv"
        data.to_csv(path, index=False)
        return str(path)

    return write


def _run_bad(capsys, args):
    code = main(args)
    err = capsys.readouterr().err.strip()
    assert code == EXIT_USAGE, err
    assert len(err.splitlines()) == 1, f"expected one line, got:\n{err}"
    assert err.startswith("glmcheck: error: ")
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--case", "lineer"], "unknown case 'lineer'"),
        (["run", "--sampler", "emcee"], "unknown sampler 'emcee'"),
        (["run", "--frontend", "stan"], "unknown frontend 'stan'"),
        (["run", "--case", "no_such_pkg.mod:CASE"], "cannot import module 'no_such_pkg.mod'"),
        (["run", "--sampler", "no_such_pkg:Fitter"], "cannot import module 'no_such_pkg'"),
        (["run", "--sampler", "glmcheck.cases:get_case"], "must be a subclass of glmcheck.fitters.Fitter"),
        (["run", "--draws", "0"], "expected draws >= 1"),
        (["check", "--target-accept", "1.5"], "expected 0 < target_accept < 1"),
        (["run", "--chains", "two"], "invalid int value"),
        (["run", "--data", "/no/such/file.csv"], "does not exist"),
        (["frobnicate"], "invalid choice"),
        (["check", "--check", "vibes"], "unknown check 'vibes'"),
        (["check", "--alpha", "2"], "expected 0 < alpha < 1"),
    ],
)
def test_bad_names_and_options(capsys, tmp_path, args, message):
    err = _run_bad(capsys, [*args, *(["--out", str(tmp_path / "out")] if args[0] == "run" else [])])
    assert message in err
    assert not (tmp_path / "out").exists(), "bad input must fail before anything is written"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.assign(y=np.where(np.arange(len(d)) == 2, np.nan, d["y"])), "NaN"),
        (lambda d: d.assign(x=np.where(np.arange(len(d)) == 2, np.inf, d["x"])), "infinite"),
        (lambda d: d.drop(columns="y"), "missing ['y']"),
    ],
)
def test_bad_data_sets(capsys, tmp_path, bad_csv, mutate, message):
    err = _run_bad(capsys, ["run", "--data", bad_csv(mutate), "--out", str(tmp_path / "out")])
    assert message in err


def test_bambi_formula_that_does_not_parse(capsys, tmp_path, userland):
    err = _run_bad(
        capsys,
        ["run", "--case", "through_origin:BAD_FORMULA", "--frontend", "bambi",
         "--out", str(tmp_path / "out"), *QUICK],
    )
    assert "formula 'y ~ x +'" in err


def test_unwritable_output_folder_and_nothing_destroyed(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("precious")
    err = _run_bad(capsys, ["run", "--out", str(blocker / "sub"), *QUICK])
    assert "cannot write output folder" in err
    assert blocker.read_text() == "precious"


def test_missing_sampler_package_names_what_to_install():
    with pytest.raises(MissingDependency, match="pip install no_such_sampler_pkg"):
        require(("no_such_sampler_pkg",), "mysampler")


def test_no_traceback_unless_debug():
    env = {**os.environ, "PYTHONPATH": str(USERLAND)}
    plain = subprocess.run(
        [sys.executable, "-m", "glmcheck", "run", "--case", "nope"],
        capture_output=True, text=True, env=env,
    )
    assert plain.returncode == EXIT_USAGE
    assert plain.stderr.strip() == (
        "glmcheck: error: unknown case 'nope'; built-in cases are "
        + ", ".join(__import__("glmcheck.cases", fromlist=["BUILTIN"]).BUILTIN)
        + " (or give your own as package.module:attribute)"
    )
    debug = subprocess.run(
        [sys.executable, "-m", "glmcheck", "--debug", "run", "--case", "nope"],
        capture_output=True, text=True, env=env,
    )
    assert debug.returncode != 0 and "Traceback" in debug.stderr


def test_listings(capsys):
    assert main(["cases"]) == EXIT_OK
    assert "linear" in capsys.readouterr().out
    assert main(["samplers"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "nutpie" in out and "pymc" in out


@pytest.mark.slow
def test_run_writes_results_and_figures_and_keeps_old_runs(capsys, tmp_path):
    out = tmp_path / "out"
    assert main(["run", "--out", str(out), *QUICK]) == EXIT_OK
    assert main(["run", "--out", str(out), "--frontend", "pymc", "--no-figures", *QUICK]) == EXIT_OK
    stdout = capsys.readouterr().out
    assert "sampler nutpie" in stdout
    first = json.loads((out / "run-001" / "results.json").read_text())
    second = json.loads((out / "run-002" / "results.json").read_text())
    assert [(f["frontend"], f["sampler"]) for f in first["fits"]] == [("pymc", "nutpie"), ("bambi", "nutpie")]
    assert len(second["fits"]) == 1
    fit = first["fits"][1]
    assert {k: fit["settings"][k] for k in ("chains", "tune", "draws", "target_accept")} == {
        "chains": 4, "tune": 1000, "draws": 1000, "target_accept": 0.8}
    asked = first["request"]["settings_by_case"]["linear"]
    assert {k: fit["settings"][k] for k in asked} == asked
    assert fit["versions"]["pymc"] and fit["versions"]["nutpie"]
    names = {p["name"]: p for p in fit["params"]}
    assert names["slope"]["native"] == "x"
    assert abs(names["slope"]["mean"] - 2.06) < 0.1
    figures = sorted(p.name for p in (out / "run-001" / "linear").iterdir())
    assert figures == [
        "data.png", "lines-bambi-nutpie.png", "lines-pymc-nutpie.png",
        "trace-bambi-nutpie.png", "trace-pymc-nutpie.png",
    ]
    assert not (out / "run-002" / "linear").exists()
    assert {c["check"] for c in first["checks"]} == {"convergence", "exact", "recovery", "agreement"}
    assert all(c["passed"] for c in first["checks"])


@pytest.mark.slow
def test_check_exits_1_when_a_check_fails(capsys, tmp_path):
    """Too few draws for the ESS gate: the check fails, the exit code says so, JSON has it."""
    code = main(["check", "--case", "linear", "--frontend", "pymc", "--check", "convergence",
                 "--chains", "1", "--draws", "100", "--tune", "200", "--out", str(tmp_path)])
    assert code == 1
    result = json.loads((tmp_path / "run-001" / "results.json").read_text())
    assert [c["passed"] for c in result["checks"]] == [False]
    assert "FAIL" in capsys.readouterr().out


@pytest.mark.slow
def test_user_case_and_user_sampler_from_the_command_line(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(USERLAND)}
    done = subprocess.run(
        [sys.executable, "-m", "glmcheck", "run", "--case", "through_origin:CASE",
         "--sampler", "careful_sampler:CarefulNutpie", "--out", str(tmp_path), *QUICK],
        capture_output=True, text=True, env=env,
    )
    assert done.returncode == EXIT_OK, done.stderr
    result = json.loads((tmp_path / "run-001" / "results.json").read_text())
    assert {(f["case"], f["sampler"]) for f in result["fits"]} == {
        ("through_origin", "nutpie-careful")
    }
    for fit in result["fits"]:
        slope = next(p for p in fit["params"] if p["name"] == "slope")
        assert abs(slope["mean"] - 1.5) < 0.3


# -- the exit-code table: 2 bad input, 3 failed fit, 4 internal error; a crash is never 0/1 ----
def _one_line(capsys, code, expected):
    err = capsys.readouterr().err.strip()
    assert code == expected, err
    last = err.splitlines()[-1]
    assert "Traceback" not in err
    return last


def test_seed_out_of_range_is_bad_input_before_any_work(capsys, tmp_path):
    err = _run_bad(capsys, ["run", "--seed", "-1", "--out", str(tmp_path / "out")])
    assert "expected 0 <= seed" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("k", ["-1", "2"])
def test_too_few_coverage_simulations_are_bad_input(capsys, tmp_path, k):
    err = _run_bad(capsys, ["check", "--coverage-sets", k, "--out", str(tmp_path / "out")])
    assert "expected --coverage-sets 0 (off) or at least 3" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--case", "logistic", "--check", "exact"], "no exact reference posterior"),
        (["--case", "linear", "--frontend", "pymc", "--check", "agreement"], "agreement compares two"),
        (["--case", "linear", "--check", "coverage", "--coverage-sets", "0"], "--coverage-sets is 0"),
    ],
)
def test_a_named_check_that_applies_to_nothing_is_bad_input(capsys, tmp_path, args, message):
    err = _run_bad(capsys, ["check", *args, "--out", str(tmp_path / "out")])
    assert "applies to nothing in this request" in err and message in err
    assert not (tmp_path / "out").exists()


def test_recovery_on_a_user_data_set_applies_to_nothing(capsys, tmp_path, bad_csv):
    path = bad_csv(lambda d: d)
    err = _run_bad(capsys, ["check", "--case", "linear", "--data", path, "--check", "recovery",
                            "--out", str(tmp_path / "out")])
    assert "true parameters of a user's data set are unknown" in err


def test_a_named_check_that_applies_to_some_subjects_lists_the_others():
    from glmcheck.runner import CheckRequest

    request = CheckRequest(cases=("linear", "logistic", "poisson"), frontends=("pymc",),
                           checks=("exact", "convergence"), explicit_checks=True)
    exact, skipped = request.plan()
    assert exact["linear"] is not None and exact["logistic"] is None
    assert [(s.check, s.subject) for s in skipped] == [("exact", "logistic"), ("exact", "poisson")]


def test_user_case_whose_model_raises_is_a_plugin_error(capsys, tmp_path, userland):
    code = main(["run", "--case", "broken:RAISES_IN_MODEL", "--frontend", "pymc",
                 "--out", str(tmp_path), *QUICK])
    line = _one_line(capsys, code, 4)
    assert line.startswith("glmcheck: plugin error:")
    assert "raises_in_model" in line and "forgot a prior" in line and "broken" in line
    record = json.loads((tmp_path / "run-001" / "results.json").read_text())
    assert record["exit_code"] == 4 and "plugin error" in record["error"]


def test_unexpected_exception_is_an_internal_error_not_a_failed_check(capsys, monkeypatch):
    from glmcheck import cli

    def boom(args):
        return {}["missing"]

    monkeypatch.setitem(cli._COMMANDS, "cases", boom)
    line = _one_line(capsys, main(["cases"]), 4)
    assert line.startswith("glmcheck: internal error: KeyError")
    assert "bug in glmcheck" in line and "--debug" in line
    with pytest.raises(KeyError):
        main(["--debug", "cases"])


def test_unexpected_exception_in_plugin_code_blames_the_plugin(capsys, monkeypatch, userland):
    from glmcheck import cli
    from glmcheck.cases import get_case

    case = get_case("broken:RAISES_IN_MODEL")

    def crash(args):
        case.pymc_model(None)

    monkeypatch.setitem(cli._COMMANDS, "cases", crash)
    line = _one_line(capsys, main(["cases"]), 4)
    assert "plugin error" in line and "'broken'" in line


def test_builtin_case_that_bambi_cannot_build_is_a_failed_fit(monkeypatch):
    """A built-in formula is known good: Bambi failing on it is a library regression (a failed
    fit, 3), not bad input (2)."""
    from glmcheck.cases import get_case
    from glmcheck.errors import FitError
    from glmcheck.frontends import build

    def broken(data):
        raise AttributeError("module 'bambi' has no attribute 'Model'")

    monkeypatch.setattr(get_case("linear"), "bambi_model", broken)
    with pytest.raises(FitError, match="Bambi could not build case 'linear'"):
        build("linear", "bambi")


@pytest.mark.slow
def test_builtin_bambi_failure_exits_3_and_the_pymc_fit_goes_on(capsys, tmp_path, monkeypatch):
    from glmcheck.cases import get_case

    def broken(data):
        raise AttributeError("module 'bambi' has no attribute 'Model'")

    monkeypatch.setattr(get_case("linear"), "bambi_model", broken)
    code = main(["check", "--case", "linear", "--check", "convergence", "--out", str(tmp_path),
                 *QUICK])
    assert code == 3, capsys.readouterr().err
    record = json.loads((tmp_path / "run-001" / "results.json").read_text())
    assert [(f["frontend"], f.get("status", "ok"), f.get("stage")) for f in record["fits"]] == [
        ("pymc", "ok", None), ("bambi", "failed", "build")
    ]
    assert [c["frontends"] for c in record["checks"]] == [["pymc"]]


@pytest.mark.slow
def test_a_failed_fit_is_reported_and_the_matrix_goes_on(capsys, tmp_path, userland):
    code = main(["check", "--case", "through_origin:CASE", "--sampler",
                 "broken:FailingOnBambi", "--out", str(tmp_path), *QUICK])
    captured = capsys.readouterr()
    assert code == 3, captured.err
    assert "fit failed: through_origin · bambi · nutpie-fails-on-bambi (sample)" in captured.err
    record = json.loads((tmp_path / "run-001" / "results.json").read_text())
    assert record["exit_code"] == 3
    status = {f["frontend"]: f.get("status", "ok") for f in record["fits"]}
    assert status == {"pymc": "ok", "bambi": "failed"}
    assert {(c["check"], tuple(c["frontends"])) for c in record["checks"]} >= {
        ("convergence", ("pymc",)), ("recovery", ("pymc",))
    }
    assert any(s["check"] == "agreement" and "failed" in s["reason"] for s in record["skipped"])


@pytest.mark.slow
def test_a_failed_check_and_a_failed_fit_exit_with_the_fit_code(capsys, tmp_path, userland):
    """4 > 3 > 1 > 0: a run with a failed check and a failed fit exits 3."""
    code = main(["check", "--case", "through_origin:CASE", "--sampler", "broken:FailingOnBambi",
                 "--check", "convergence", "--chains", "1", "--draws", "100", "--tune", "100",
                 "--out", str(tmp_path)])
    assert code == 3, capsys.readouterr().err
    record = json.loads((tmp_path / "run-001" / "results.json").read_text())
    assert [c["passed"] for c in record["checks"]] == [False]  # ESS < 400 from 100 draws


@pytest.mark.slow
def test_run_writes_a_versioned_record_naming_its_figures(capsys, tmp_path):
    import hashlib

    from glmcheck.record import load_record

    assert main(["run", "--frontend", "pymc", "--out", str(tmp_path), *QUICK]) == EXIT_OK
    record = load_record(tmp_path / "run-001" / "results.json")
    assert record["kind"] == "run" and record["exit_code"] == EXIT_OK
    assert record["environment"]["cpu_count"] >= 1
    assert sorted(record["files"]) == ["linear/data.png", "linear/lines-pymc-nutpie.png",
                                       "linear/trace-pymc-nutpie.png"]
    for rel, entry in record["files"].items():
        data = (tmp_path / "run-001" / rel).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
