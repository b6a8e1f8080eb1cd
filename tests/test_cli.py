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
QUICK = ["--chains", "4", "--draws", "500", "--tune", "500", "--coverage-sets", "0"]


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
    assert fit["settings"] == {"chains": 4, "tune": 500, "draws": 500, "target_accept": 0.8}
    assert first["request"]["settings_by_case"] == {"linear": fit["settings"]}
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
