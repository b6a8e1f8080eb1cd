"""The pytest plugin, as a user's own test suite runs it (pytester: a fresh project folder and a
separate pytest process)."""

import subprocess
import sys
from pathlib import Path

import pytest

from glmcheck.options import OPTIONS

pytest_plugins = ["pytester"]

#: a user's own model: a Bambi formula (and no hand-written PyMC model) plus the numpy
#: simulator of what it claims to describe
CASES = '''
import numpy as np
import pandas as pd

from glmcheck.cases import Case


class Rentals(Case):
    name = "rentals"
    title = "daily bike rentals ~ temperature (Poisson, log link)"
    family = "poisson"
    formula = "rentals ~ temp"
    response = "rentals"
    predictors = ("temp",)
    plot_x = "temp"
    params = ("Intercept", "temp")
    reference_seed = 2024
    true_params = {"Intercept": 2.0, "temp": 0.3}

    def design(self):
        return pd.DataFrame({"temp": np.linspace(-2, 2, 120)})

    def draw_params(self, rng):
        return {"Intercept": rng.normal(2, 0.5), "temp": rng.normal(0, 0.5)}

    def expected(self, params, design):
        return np.exp(params["Intercept"] + params["temp"] * design["temp"].to_numpy())

    def simulate(self, params, design, rng):
        return rng.poisson(self.expected(params, design))

    def bambi_priors(self):
        import bambi as bmb

        return {"Intercept": bmb.Prior("Normal", mu=2, sigma=0.5),
                "temp": bmb.Prior("Normal", mu=0, sigma=0.5)}


class Shrunk(Rentals):
    """The bug: a prior on temp far narrower than the process it claims to model."""

    name = "rentals_shrunk"

    def bambi_priors(self):
        import bambi as bmb

        return {**super().bambi_priors(), "temp": bmb.Prior("Normal", mu=0, sigma=0.02)}


CASE = Rentals()
SHRUNK = Shrunk()
'''

TESTS = '''
import pytest

from glm_cases import CASE, SHRUNK

pytestmark = pytest.mark.glmcheck(case=CASE, frontends=["bambi"])


def test_posterior(glmcheck):
    verdict = glmcheck.check(checks=["convergence", "recovery"])
    assert {c["check"] for c in verdict.checks} == {"convergence", "recovery"}


def test_shrunk_model(glmcheck):
    glmcheck.check(SHRUNK, checks=["recovery"])


def test_calibration(glmcheck):
    glmcheck.sbc(simulations=12)


def test_baseline(glmcheck):
    glmcheck.baseline()
'''


def test_help_lists_every_shared_option_and_the_marker(pytester):
    result = pytester.runpytest_subprocess("--help")
    assert result.ret == 0
    text = result.stdout.str()
    assert "glmcheck: validate Bayesian GLMs" in text
    for option in OPTIONS.values():
        assert f"--glmcheck-{option.name}" in text
    result = pytester.runpytest_subprocess("--markers")
    assert "@pytest.mark.glmcheck(case=None, frontends=None, samplers=None)" in result.stdout.str()


def test_the_plugin_imports_nothing_heavy():
    code = ("import sys, glmcheck.pytest_plugin, glmcheck.options, glmcheck.profiles; "
            "heavy = {'numpy', 'pymc', 'bambi', 'arviz', 'pandas', 'jax'} & set(sys.modules); "
            "print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("args, says", [
    (["--glmcheck-simulations", "0"],
     "argument --glmcheck-simulations: expected a whole number >= 1 but got '0'"),
    (["--glmcheck-profile", "fast"],
     "argument --glmcheck-profile: unknown profile 'fast'; choose from quick, ci, thorough"),
    (["--glmcheck-sampler", "nutpie,hmc"], "argument --glmcheck-sampler: unknown sampler 'hmc'"),
])
def test_a_bad_option_value_is_a_usage_error_naming_option_and_value(pytester, args, says):
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest_subprocess(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert says in result.stderr.str()


def test_the_command_line_has_the_same_options():
    """`glmcheck validate` and the plugin read one definition: same spelling, same help."""
    from glmcheck.cli import build_parser
    from glmcheck.errors import UsageError

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    validate = sub.choices["validate"]
    helps = {a.option_strings[0]: a.help for a in validate._actions if a.option_strings}
    for option in OPTIONS.values():
        if option.cli:
            assert helps[f"--{option.name}"] == option.help
    with pytest.raises(UsageError, match="argument --profile: unknown profile 'fast'"):
        parser.parse_args(["validate", "--profile", "fast"])


@pytest.mark.slow
def test_a_user_bambi_model_from_the_users_own_test_suite(pytester):
    pytester.makepyfile(glm_cases=CASES, test_rentals=TESTS)
    pytester.makeini("[pytest]\npythonpath = .\n")
    out = pytester.path / "glmcheck-out"
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--glmcheck-out", str(out))
    result.assert_outcomes(passed=2, failed=2)
    text = result.stdout.str()
    # the wrong model fails with glmcheck's one-line reason, not a traceback
    assert "FAILED test_rentals.py::test_shrunk_model" in text
    assert "\nglmcheck check: FAIL (exit 1)\n" in text
    assert "  recovery: rentals_shrunk · bambi · nutpie: 1 of 2 true values outside the " \
           "posterior; worst temp: truth 0.3" in text
    # a missing baseline is never a pass: it fails and says how to make it
    assert "no baseline of case 'rentals' in glmcheck-baselines" in text
    assert "pytest --glmcheck-update-baselines" in text
    assert (out / "report.html").is_file() and (out / "junit.xml").is_file()
    assert "glmcheck: FAIL over the 3 record(s) written" in text  # check ×2, SBC
    assert "glmcheck: baseline missing: glmcheck-baselines/rentals" in text

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-k", "baseline",
                                           "--glmcheck-update-baselines")
    result.assert_outcomes(passed=1, deselected=3)
    reference = Path(pytester.path / "glmcheck-baselines" / "rentals" / "reference.json")
    assert reference.is_file()
    assert "glmcheck: baseline written: glmcheck-baselines/rentals" in result.stdout.str()

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-k", "baseline")
    result.assert_outcomes(passed=1, deselected=3)
