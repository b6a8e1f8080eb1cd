"""The case registry and the protocol's shared behaviour (numpy only, fast)."""

import numpy as np
import pandas as pd
import pytest

from glmcheck.cases import BUILTIN, Case, get_case
from glmcheck.errors import UsageError


def test_builtin_registry_finds_the_seed_cases():
    assert {"linear", "polynomial"} <= set(BUILTIN)
    for name in BUILTIN:
        case = get_case(name)
        assert isinstance(case, Case) and case.name == name


def test_linear_reference_data_is_the_seed():
    """Exactly the tutorial's data: default_rng(8927), x = linspace(0, 1, 200), 1 + 2x + N(0, .5)."""
    rng = np.random.default_rng(8927)
    x = np.linspace(0, 1, 200)
    y = 1 + 2 * x + rng.normal(scale=0.5, size=200)
    data = get_case("linear").reference_data()
    np.testing.assert_array_equal(data["x"].to_numpy(), x)
    np.testing.assert_array_equal(data["y"].to_numpy(), y)


@pytest.mark.parametrize("name", BUILTIN)
def test_simulator_is_seeded_and_shaped(name):
    case = get_case(name)
    a = case.simulate_data(case.draw_params(np.random.default_rng(1)), np.random.default_rng(2))
    b = case.simulate_data(case.draw_params(np.random.default_rng(1)), np.random.default_rng(2))
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == [*case.predictors, case.response]
    assert set(case.true_params) == set(case.params)
    case.validate_data(case.reference_data())


def test_unknown_case_names_the_choices():
    with pytest.raises(UsageError, match="unknown case 'lineer'.*linear"):
        get_case("lineer")


def test_user_case_by_reference(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(__import__("pathlib").Path(__file__).parent / "userland"))
    assert get_case("through_origin:CASE").name == "through_origin"
    with pytest.raises(UsageError, match="cannot import module 'no_such_module'"):
        get_case("no_such_module:CASE")
    with pytest.raises(UsageError, match="has no attribute 'MISSING'"):
        get_case("through_origin:MISSING")
    with pytest.raises(UsageError, match="must be a glmcheck.cases.Case"):
        get_case("through_origin:NOT_A_CASE")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.drop(columns="x"), r"missing \['x'\]"),
        (lambda d: d.assign(y=np.where(np.arange(len(d)) == 3, np.nan, d["y"])), r"NaN.*rows \[3\]"),
        (lambda d: d.assign(x=np.where(np.arange(len(d)) == 5, np.inf, d["x"])), r"infinite.*rows \[5\]"),
        (lambda d: d.assign(x="a"), "must be numeric"),
        (lambda d: d.iloc[:0], "no rows"),
    ],
)
def test_bad_data_is_a_usage_error(mutate, message):
    case = get_case("linear")
    with pytest.raises(UsageError, match=message):
        case.validate_data(mutate(case.reference_data()))


@pytest.mark.parametrize("name", BUILTIN)
def test_loglik_matches_scipy(name):
    """The numpy log-likelihood (an SBC test quantity) equals scipy's densities."""
    from scipy import stats

    case = get_case(name)
    rng = np.random.default_rng(3)
    params = case.draw_params(rng)
    data = case.simulate_data(params, rng)
    y, mu = data[case.response].to_numpy(), case.expected(params, data)
    expected = {
        "gaussian": lambda: stats.norm.logpdf(y, mu, params.get("sigma")).sum(),
        "bernoulli": lambda: stats.bernoulli.logpmf(y, mu).sum(),
        "poisson": lambda: stats.poisson.logpmf(y, mu).sum(),
        "negativebinomial": lambda: stats.nbinom.logpmf(
            y, params.get("alpha"), params.get("alpha") / (params.get("alpha") + mu)
        ).sum(),
    }[case.family]()
    assert case.loglik(params, data) == pytest.approx(expected, rel=1e-10)
