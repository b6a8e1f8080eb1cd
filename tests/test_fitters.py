"""Compile-once fitters: a refit swaps the response and compiles nothing; every fitter records
what it ran with (settings, maximum tree depth) and is held to the plugin contract.

Tests that sample with nutpie or PyMC are marked ``slow``; the contract tests use numpy-only
user samplers (``tests/userland/contract.py``) and run in a second.
"""

import numpy as np
import pytest

from glmcheck import compat
from glmcheck.checks import check_convergence
from glmcheck.errors import EXIT_FIT, EXIT_INTERNAL, FitError, PluginError, UsageError
from glmcheck.fitters import FitSettings, make_fitter
from glmcheck.frontends import build
from glmcheck.results import summarize
from glmcheck.stats.multiplicity import bonferroni_z

from userland import contract
from userland.shallow import SHALLOW, depth_convention_holds, saturation_is_caught

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


@pytest.mark.slow
@pytest.mark.parametrize("sampler", ["nutpie", "pymc"])
def test_refit_swaps_data_without_compiling(spec, sampler, count_compiles):
    fitter = make_fitter(sampler, spec, SETTINGS)
    compiled = dict(count_compiles)
    first = fitter.fit(seed=1)
    shifted = fitter.fit(spec.data["y"].to_numpy() + 1.0, seed=2)
    assert count_compiles == compiled, "a refit must not compile anything"
    # The shift moves the posterior mean of the intercept by 1 (the prior's pull is ~1e-5):
    # z on the two fits' MCSEs, two-sided at false-alarm rate 1e-4 (|z| < 3.89).
    delta = float(shifted.draws["Intercept"].mean() - first.draws["Intercept"].mean())
    mcse = [float(compat.mcse(p.draws[["Intercept"]], method="mean")["Intercept"])
            for p in (first, shifted)]
    z = (delta - 1.0) / np.hypot(*mcse)
    assert abs(z) < bonferroni_z(1e-4, 1), f"z = {z:.2f}"
    assert first.sampler == sampler and first.frontend == spec.frontend
    assert first.settings == {"chains": 2, "tune": 500, "draws": 500, "target_accept": 0.8}
    assert first.divergences == 0
    assert first.gradient_evals and first.gradient_evals > 0
    assert set(first.draws.data_vars) == {"Intercept", "slope", "sigma"}


@pytest.mark.slow
@pytest.mark.parametrize("sampler", ["nutpie", "pymc"])
def test_same_seed_same_draws(spec, sampler):
    fitter = make_fitter(sampler, spec, FitSettings(chains=2, tune=200, draws=200))
    a, b = fitter.fit(seed=5), fitter.fit(seed=5)
    for name in a.draws.data_vars:
        np.testing.assert_array_equal(a.draws[name].values, b.draws[name].values)


@pytest.mark.slow
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


@pytest.mark.slow
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


# -- what ran: settings and tree depth --------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("sampler", ["nutpie", "pymc"])
def test_tree_depth_is_counted_alike_and_saturation_is_caught(sampler):
    """At the default maximum (10) the linear case never comes near it; with the maximum
    lowered to 3 (a user's subclass) many draws reach it, the same way for every sampler: a
    draw is at the maximum exactly when its 3rd doubling was started (n_steps >= 4)."""
    spec = build("linear", "pymc")
    settings = FitSettings(chains=2, tune=300, draws=300)
    post = make_fitter(sampler, spec, settings).fit(seed=1)
    assert post.max_tree_depth == 10
    depth_convention_holds(post)
    assert post.saturated_draws == 0
    assert check_convergence(post).details["gates"]["tree depth"] == "passed"

    shallow = SHALLOW[sampler](spec, settings).fit(seed=1)
    result = saturation_is_caught(shallow)
    assert "maximum tree depth 3" in result.message
    assert summarize(shallow).max_tree_depth == 3


@pytest.mark.slow
def test_a_user_sampler_is_recorded_with_the_settings_it_ran():
    """careful_sampler.py hard-codes target_accept 0.95 and says so: the result records 0.95,
    and the 0.8 that was asked under ``requested``."""
    from userland.careful_sampler import CarefulNutpie

    settings = FitSettings(chains=2, tune=200, draws=200)
    post = CarefulNutpie(build("linear", "pymc"), settings).fit(seed=1)
    result = summarize(post, settings.to_dict())
    assert result.settings == {"chains": 2, "tune": 200, "draws": 200, "target_accept": 0.95}
    assert result.requested == settings.to_dict()
    assert result.to_dict()["settings"]["target_accept"] == 0.95
    # it reports no energy and no tree depth: those gates are not available, never passed
    assert check_convergence(post).details["not_available"] == ["E-BFMI", "tree depth"]


def test_reported_settings_and_the_draws_shape_are_what_is_recorded():
    spec = build("linear", "pymc")
    settings = FitSettings(chains=2, tune=100, draws=200)
    post = contract.ReportingSampler(spec, settings).fit(seed=0)
    # chains and draws from the draws (thinned by 2), the rest from what the sampler said
    assert post.settings == {"chains": 2, "tune": 100, "draws": 100, "target_accept": 0.95,
                             "adaptation": "diag"}
    assert post.max_tree_depth == 6 and post.saturated_draws == 3
    result = summarize(post, settings.to_dict())
    assert result.settings["target_accept"] == 0.95 and result.settings["draws"] == 100
    assert result.requested == settings.to_dict()
    assert result.max_tree_depth == 6 and result.saturated_draws == 3
    check = check_convergence(post)
    assert check.details["gates"]["tree depth"] == "failed"
    assert "3 of 200 draws reached the maximum tree depth 6" in check.message
    # a sampler that says nothing runs with what it was asked: nothing under ``requested``
    quiet = contract.NumpySampler(spec, settings).fit(seed=0)
    assert quiet.settings == settings.to_dict() and quiet.max_tree_depth is None
    assert summarize(quiet, settings.to_dict()).requested is None


def test_a_samplers_own_record_of_its_settings_wins():
    settings = FitSettings(chains=2, tune=100, draws=200)
    post = contract.SelfRecordingSampler(build("linear", "pymc"), settings).fit(seed=0)
    assert post.settings == {"chains": 2, "tune": 100, "draws": 200, "target_accept": 0.9}
    assert post.max_tree_depth == 8


BROKEN = [
    (contract.NoChainDim, r"draws of 'Intercept' have no 'chain' dimension"),
    (contract.MissingParameter, r"the draws have no parameter 'sigma'"),
    (contract.StatsOffGrid, r"statistic 'diverging' has dims .* not the draws' chain × draw grid"),
    (contract.NotARawSample, r"_sample returned dict, not a RawSample"),
    (contract.BadSettings, r"target_accept must be in \(0, 1\), not 95"),
]


def _as_builtin(cls):
    """The same class as if it were defined inside glmcheck (a built-in fitter)."""
    return type(cls.__name__, (cls,), {"__module__": "glmcheck.fitters._test_double"})


@pytest.mark.parametrize(("cls", "match"), BROKEN, ids=[c.__name__ for c, _ in BROKEN])
def test_a_user_sampler_that_breaks_the_contract_is_a_plugin_error(cls, match):
    spec = build("linear", "pymc")
    with pytest.raises(PluginError, match=match) as info:
        cls(spec, FitSettings(chains=2, tune=10, draws=50)).fit(seed=0)
    message = str(info.value)
    assert info.value.exit_code == EXIT_INTERNAL
    assert "\n" not in message
    assert f"sampler {cls.name!r}" in message and f"contract:{cls.__name__}" in message
    assert "case 'linear'" in message
    # the same output from a built-in sampler is a library regression: a failed fit
    with pytest.raises(FitError, match=match) as info:
        _as_builtin(cls)(spec, FitSettings(chains=2, tune=10, draws=50)).fit(seed=0)
    assert not isinstance(info.value, PluginError) and info.value.exit_code == EXIT_FIT


def test_a_case_whose_bambi_posterior_lacks_a_parameter(monkeypatch):
    settings = FitSettings(chains=2, tune=10, draws=50)
    user = build(contract.MisnamedBambi(), "bambi")
    with pytest.raises(PluginError, match=r"case 'misnamed_bambi' \(userland.contract:Misnamed"
                                          r"Bambi\) could not map the bambi posterior.*KeyError"):
        contract.NumpySampler(user, settings).fit(seed=0)

    builtin = build("linear", "bambi")
    monkeypatch.setattr(builtin.case, "from_bambi", contract.MisnamedBambi.from_bambi.__get__(
        builtin.case))
    with pytest.raises(FitError, match=r"case 'linear' could not map the bambi posterior") as info:
        contract.NumpySampler(builtin, settings).fit(seed=0)
    assert not isinstance(info.value, PluginError)


def test_nutpie_depth_counts_the_doubling_cut_short():
    """nutpie's depth counts completed doublings; a draw with more than 2**depth - 1 steps
    started one more (glmcheck's convention), and the result keeps nutpie's dims and coords."""
    import xarray as xr

    from glmcheck.fitters.nutpie import started_doublings

    coords = {"chain": [0], "draw": [0, 1, 2, 3]}
    depth = xr.DataArray(np.array([[0, 2, 2, 3]], dtype="uint64"), dims=("chain", "draw"),
                         coords=coords)
    steps = xr.DataArray(np.array([[1, 3, 5, 8]]), dims=("chain", "draw"), coords=coords)
    out = started_doublings(depth, steps)
    assert out.values.tolist() == [[1, 2, 3, 4]]
    assert out.dtype == np.int64 and out.dims == ("chain", "draw")
    assert out["draw"].values.tolist() == [0, 1, 2, 3]
