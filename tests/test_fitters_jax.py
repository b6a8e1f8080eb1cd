"""The JAX samplers (NumPyro, BlackJAX): compiled once, refit on new responses, never re-jitted.

Correctness is the exact check (glmcheck.checks.check_exact) against the exact posterior of the
linear case's data: means, sds and 5/50/95 % quantiles of every parameter, each as a z-score on
its MCSE, Bonferroni over the 15 statistics at family alpha 1e-4 (|z| < 4.50). Its measured
false-alarm rate is 5e-4 per check (README) at 4 chains × 1000 draws, the settings used here.
"""

from __future__ import annotations

import logging
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import require_modules
from glmcheck.cases import get_case
from glmcheck.cases.base import Case
from glmcheck.checks import ALPHA, check_exact
from glmcheck.fitters import FitSettings, Fitter, get_fitter, make_fitter
from glmcheck.frontends import build
from glmcheck.posterior import STAT_NAMES
from userland.shallow import SHALLOW, depth_convention_holds, saturation_is_caught

SAMPLERS = ["numpyro", "blackjax"]
LINEAR = get_case("linear")
#: the exact check's default settings (4 chains × (1000 + 1000)): its measured false-alarm rate
SETTINGS = FitSettings(chains=4, tune=1000, draws=1000)


def _needs(sampler: str) -> None:
    """Skip without the sampler's packages; fail instead under GLMCHECK_REQUIRE_ALL=1."""
    require_modules(*get_fitter(sampler).requires)


def _exact(y=None):
    data = LINEAR.reference_data()
    if y is not None:
        data = data.assign(y=y)
    return LINEAR.exact_posterior(data)


@pytest.fixture(scope="module")
def fitters():
    """One compiled fitter per (sampler, frontend), shared by the tests of this module."""
    cache: dict[tuple[str, str], Fitter] = {}

    def get(sampler: str, frontend: str) -> Fitter:
        _needs(sampler)
        if (sampler, frontend) not in cache:
            cache[sampler, frontend] = make_fitter(sampler, build("linear", frontend), SETTINGS)
        return cache[sampler, frontend]

    return get




def test_import_is_cheap():
    code = "import sys, glmcheck.fitters.jax; print('jax' in sys.modules, 'pymc' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_registered(sampler):
    cls = get_fitter(sampler)
    assert issubclass(cls, Fitter)
    assert cls.name == sampler
    assert cls.requires == ("jax", sampler)


@pytest.mark.slow
@pytest.mark.parametrize("frontend", ["pymc", "bambi"])
@pytest.mark.parametrize("sampler", SAMPLERS)
def test_posterior_matches_exact(fitters, sampler, frontend):
    post = fitters(sampler, frontend).fit(seed=1)
    assert post.draws.sizes == {"chain": 4, "draw": 1000}
    result = check_exact(post, _exact())
    assert result.passed, str(result)
    assert result.threshold["k"] == 15 and result.threshold["alpha"] == ALPHA
    assert post.divergences == 0
    assert set(post.stats.data_vars) == set(STAT_NAMES)
    assert post.stats["diverging"].dtype == bool
    assert np.issubdtype(post.stats["n_steps"].dtype, np.integer)
    assert (post.stats["n_steps"] >= 1).all()
    assert post.max_tree_depth == 10
    depth_convention_holds(post)
    assert post.settings == SETTINGS.to_dict()
    assert post.gradient_evals > 0
    assert post.timing.warmup > 0 and post.timing.sampling > 0
    assert post.timing.fit >= post.timing.warmup + post.timing.sampling


@pytest.mark.slow
@pytest.mark.parametrize("frontend", ["pymc", "bambi"])
@pytest.mark.parametrize("sampler", SAMPLERS)
def test_refit_shifted_response_without_recompiling(fitters, sampler, frontend, caplog):
    import jax

    fitter = fitters(sampler, frontend)
    y = fitter.spec.data["y"].to_numpy()
    first = fitter.fit(y, seed=3)
    assert fitter.traces == {"warmup": 1, "sample": 1}
    # jax logs every compilation (of anything, not just our programs) when asked to.
    jax.config.update("jax_log_compiles", True)
    try:
        with caplog.at_level(logging.DEBUG, logger="jax"):
            shifted = fitter.fit(y + 1.0, seed=4)
    finally:
        jax.config.update("jax_log_compiles", False)
    compiles = [r.getMessage() for r in caplog.records if "ompil" in r.getMessage()]
    assert compiles == []
    assert fitter.traces == {"warmup": 1, "sample": 1}
    # the refit sampled the shifted data's posterior (Intercept + 1, the rest unchanged)
    result = check_exact(shifted, _exact(y + 1.0))
    assert result.passed, str(result)
    assert not check_exact(first, _exact(y + 1.0)).passed


@pytest.mark.slow
@pytest.mark.parametrize("sampler", SAMPLERS)
def test_tree_depth_is_counted_alike_and_saturation_is_caught(sampler):
    """With the maximum tree depth lowered to 3 (a user's subclass, tests/userland/shallow.py)
    many draws of the linear case reach it, counted as nutpie and PyMC count them: a draw is
    at the maximum exactly when its 3rd doubling was started (n_steps >= 4)."""
    _needs(sampler)
    settings = FitSettings(chains=2, tune=300, draws=300)
    saturation_is_caught(SHALLOW[sampler](build("linear", "pymc"), settings).fit(seed=1))


@pytest.mark.slow
@pytest.mark.parametrize("sampler", SAMPLERS)
def test_same_seed_same_draws(fitters, sampler):
    fitter = fitters(sampler, "pymc")
    a, b, c = fitter.fit(seed=11), fitter.fit(seed=11), fitter.fit(seed=12)
    for name in a.draws.data_vars:
        np.testing.assert_array_equal(a.draws[name].values, b.draws[name].values)
        assert not np.array_equal(a.draws[name].values, c.draws[name].values)
    for name in a.stats.data_vars:
        np.testing.assert_array_equal(a.stats[name].values, b.stats[name].values)
    # chains start from different jittered points and use different keys
    assert not np.array_equal(a.draws["Intercept"][0].values, a.draws["Intercept"][1].values)


class _Groups(Case):
    """Four group means (a named dim with coords) plus a length-2 vector without dims."""

    name = "groups_test"
    title = "group means, for the jax fitter tests"
    formula = "y ~ 0 + g"
    predictors = ("g",)
    params = ("mu", "b", "sigma")
    reference_seed = 5
    true_params = {"mu": np.array([-1.0, 0.0, 1.0, 2.0]), "b": np.array([0.5, -0.5]), "sigma": 0.5}

    def design(self) -> pd.DataFrame:
        return pd.DataFrame({"g": np.repeat(np.arange(4), 25)})

    def simulate(self, params, design, rng):
        g = design["g"].to_numpy()
        mean = params["mu"][g] + params["b"][g % 2]
        return mean + rng.normal(scale=params["sigma"], size=len(g))

    def pymc_model(self, data):
        import pymc as pm

        g = data["g"].to_numpy()
        with pm.Model(coords={"group": ["a", "b", "c", "d"]}) as model:
            mu = pm.Normal("mu", 0, 5, dims="group")
            b = pm.Normal("b", 0, 1, shape=2)
            sigma = pm.HalfNormal("sigma", 1)
            pm.Normal("y", mu[g] + b[g % 2], sigma, observed=data["y"].to_numpy())
        return model


@pytest.mark.slow
@pytest.mark.parametrize("sampler", SAMPLERS)
def test_vector_parameters_keep_dims(sampler):
    _needs(sampler)
    spec = build(_Groups(), "pymc")
    post = make_fitter(sampler, spec, FitSettings(chains=2, tune=300, draws=200)).fit(seed=0)
    mu, b = post.draws["mu"], post.draws["b"]
    assert mu.dims == ("chain", "draw", "group")
    assert list(mu["group"].values) == ["a", "b", "c", "d"]
    assert b.dims == ("chain", "draw", "b_dim_0") and b.shape == (2, 200, 2)
    # b and mu are only identified through the prior on b, but their sums are sharp
    sums = (mu.values + b.values[..., np.arange(4) % 2]).mean(axis=(0, 1))
    truth = _Groups.true_params["mu"] + _Groups.true_params["b"][np.arange(4) % 2]
    np.testing.assert_allclose(sums, truth, atol=0.4)
    assert float(post.draws["sigma"].mean()) == pytest.approx(0.5, abs=0.15)


@pytest.mark.slow
@pytest.mark.parametrize("sampler", SAMPLERS)
def test_target_accept_reaches_the_sampler(sampler):
    # a higher acceptance target adapts a smaller step size: more leapfrog steps per draw
    _needs(sampler)
    spec = build("linear", "pymc")

    def evals(target):
        settings = FitSettings(chains=2, tune=300, draws=300, target_accept=target)
        return make_fitter(sampler, spec, settings).fit(seed=1).gradient_evals

    assert evals(0.99) > 1.5 * evals(0.6)


@pytest.mark.slow
@pytest.mark.parametrize("sampler", SAMPLERS)
def test_no_warmup(sampler):
    _needs(sampler)
    fitter = make_fitter(sampler, build("linear", "pymc"), FitSettings(chains=1, tune=0, draws=20))
    post = fitter.fit(seed=0)
    assert post.draws.sizes == {"chain": 1, "draw": 20}
    assert np.isfinite(post.draws["sigma"].values).all()
