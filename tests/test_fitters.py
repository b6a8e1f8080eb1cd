"""Compile-once fitters: a refit swaps the response and compiles nothing."""

import numpy as np
import pytest

from glmcheck.errors import UsageError
from glmcheck.fitters import FitSettings, make_fitter
from glmcheck.frontends import build

pytestmark = pytest.mark.slow

SETTINGS = FitSettings(chains=2, tune=500, draws=500)


@pytest.fixture(scope="module", params=["pymc", "bambi"])
def spec(request):
    return build("linear", request.param)


@pytest.fixture
def count_compiles(monkeypatch):
    """Count PyTensor function compilations and nutpie model compilations."""
    import nutpie
    import pytensor

    counts = {"pytensor": 0, "nutpie": 0}
    original_function = pytensor.function
    original_nutpie = nutpie.compile_pymc_model

    def counting_function(*args, **kwargs):
        counts["pytensor"] += 1
        return original_function(*args, **kwargs)

    def counting_nutpie(*args, **kwargs):
        counts["nutpie"] += 1
        return original_nutpie(*args, **kwargs)

    monkeypatch.setattr(pytensor, "function", counting_function)
    monkeypatch.setattr(nutpie, "compile_pymc_model", counting_nutpie)
    return counts


@pytest.mark.parametrize("sampler", ["nutpie", "pymc"])
def test_refit_swaps_data_without_compiling(spec, sampler, count_compiles):
    fitter = make_fitter(sampler, spec, SETTINGS)
    compiled = dict(count_compiles)
    first = fitter.fit(seed=1)
    shifted = fitter.fit(spec.data["y"].to_numpy() + 1.0, seed=2)
    assert count_compiles == compiled, "a refit must not compile anything"
    # The shift moves the intercept by exactly 1 in every posterior draw's expectation.
    delta = float(shifted.draws["Intercept"].mean() - first.draws["Intercept"].mean())
    mcse = 0.074 * np.sqrt(2 / 500)  # sd / sqrt(ESS), ESS >= 500 per fit for this model
    assert abs(delta - 1.0) < 5 * mcse
    assert first.sampler == sampler and first.frontend == spec.frontend
    assert first.divergences == 0
    assert first.gradient_evals and first.gradient_evals > 0
    assert set(first.draws.data_vars) == {"Intercept", "slope", "sigma"}


@pytest.mark.parametrize("sampler", ["nutpie", "pymc"])
def test_same_seed_same_draws(spec, sampler):
    fitter = make_fitter(sampler, spec, FitSettings(chains=2, tune=200, draws=200))
    a, b = fitter.fit(seed=5), fitter.fit(seed=5)
    for name in a.draws.data_vars:
        np.testing.assert_array_equal(a.draws[name].values, b.draws[name].values)


def test_response_must_fit_the_design(spec):
    fitter = make_fitter("nutpie", spec, FitSettings(chains=1, tune=50, draws=50))
    with pytest.raises(UsageError, match=r"shape \(200,\)"):
        fitter.fit(np.ones(10), seed=0)
    with pytest.raises(UsageError, match="NaN"):
        fitter.fit(np.full(200, np.nan), seed=0)


def test_settings_are_validated():
    with pytest.raises(UsageError, match="chains >= 1"):
        FitSettings(chains=0)
    with pytest.raises(UsageError, match="integer"):
        FitSettings(draws=1.5)
    for bad in (0, 1, 1.2, "high", True):
        with pytest.raises(UsageError, match="0 < target_accept < 1"):
            FitSettings(target_accept=bad)


def _gradient_evals(sampler, spec, target_accept):
    settings = FitSettings(chains=2, tune=300, draws=300, target_accept=target_accept)
    return make_fitter(sampler, spec, settings).fit(seed=1).gradient_evals


@pytest.mark.parametrize("sampler", ["nutpie", "pymc"])
def test_target_accept_reaches_the_sampler(spec, sampler):
    # a higher acceptance target adapts a smaller step size: more leapfrog steps per draw
    assert _gradient_evals(sampler, spec, 0.99) > 1.5 * _gradient_evals(sampler, spec, 0.6)


def test_a_case_gets_its_own_fit_settings_unless_the_user_chose():
    from glmcheck.cases import get_case
    from glmcheck.runner import CheckRequest

    vi, linear = get_case("varying_intercept"), get_case("linear")
    assert vi.fit_settings  # the test means something only while the case asks for settings
    request = CheckRequest(settings=FitSettings(chains=4, draws=1000))
    assert request.settings_for(linear) == FitSettings(chains=4, draws=1000)
    own = request.settings_for(vi)
    assert own == FitSettings(chains=4, **vi.fit_settings)
    chosen = CheckRequest(settings=FitSettings(chains=4, draws=500), explicit=frozenset({"draws"}))
    assert chosen.settings_for(vi).draws == 500
    assert chosen.settings_for(vi).target_accept == vi.fit_settings["target_accept"]
