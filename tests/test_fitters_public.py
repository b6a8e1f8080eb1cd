"""The public routes: ``pm.sample(nuts_sampler=...)`` and Bambi's ``fit(inference_method=...)``
for every sampler, as users call them.

Each (sampler, frontend) pair fits the linear case once (2 chains × (300 + 300), shared by the
tests of this module) and is checked for: canonical parameters, the exact set of statistics the
route provides (a change in a library fails here), the tree-depth convention of STAT_NAMES,
``lp`` being the model's log density, what the fit says it ran with, and posterior means within
6 MCSE of the exact posterior's. A route that raises becomes a one-line FitError naming the
route and the versions involved.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import warnings

import numpy as np
import pytest

from conftest import require_modules
from glmcheck import compat
from glmcheck.errors import EXIT_FIT, FitError
from glmcheck.fitters import PUBLIC_SAMPLERS, FitSettings, Fitter, get_fitter
from glmcheck.frontends import build
from glmcheck.posterior import STAT_NAMES

SAMPLERS = ("pymc", "nutpie", "numpyro", "blackjax")
FRONTENDS = ("pymc", "bambi")
SETTINGS = FitSettings(chains=2, tune=300, draws=300)
#: what each route provides, on both stacks (pymc 6.4/bambi 0.21 and pymc 5.28/bambi 0.17):
#: PyMC keeps no step size from BlackJAX
STATS = {
    "pymc": set(STAT_NAMES),
    "nutpie": set(STAT_NAMES),
    "numpyro": set(STAT_NAMES),
    "blackjax": set(STAT_NAMES) - {"step_size"},
}
#: a posterior mean may be this many MCSEs from the exact one (two-sided p ~ 2e-9 each)
TOLERANCE_MCSE = 6.0


def _needs(sampler: str) -> None:
    require_modules(*get_fitter(sampler, "public").requires)


@pytest.fixture(scope="module")
def specs():
    cache = {}

    def get(frontend):
        if frontend not in cache:
            cache[frontend] = build("linear", frontend)
        return cache[frontend]

    return get


@pytest.fixture(scope="module")
def fits(specs):
    """One public-route fit per (sampler, frontend): (fitter, posterior), made on first use."""
    cache: dict[tuple[str, str], tuple[Fitter, object]] = {}

    def get(sampler: str, frontend: str):
        _needs(sampler)
        if (sampler, frontend) not in cache:
            fitter = get_fitter(sampler, "public")(specs(frontend), SETTINGS)
            cache[sampler, frontend] = fitter, fitter.fit(seed=1)
        return cache[sampler, frontend]

    return get


def test_import_is_cheap():
    code = ("import sys, glmcheck.fitters.public; "
            "print('jax' in sys.modules, 'pymc' in sys.modules, 'bambi' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "False"]


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_registered(sampler):
    cls = get_fitter(sampler, "public")
    assert issubclass(cls, Fitter) and cls is not get_fitter(sampler)
    assert PUBLIC_SAMPLERS[sampler].endswith(f":{cls.__name__}")
    assert (cls.name, cls.route, cls.max_tree_depth) == (sampler, "public", 10)
    assert cls.requires == {"pymc": ("pymc",), "nutpie": ("nutpie",)}.get(sampler, (sampler, "jax"))


@pytest.mark.slow
@pytest.mark.parametrize("frontend", FRONTENDS)
@pytest.mark.parametrize("sampler", SAMPLERS)
def test_public_fit(fits, specs, sampler, frontend):
    fitter, post = fits(sampler, frontend)
    assert (post.route, post.sampler, post.frontend) == ("public", sampler, frontend)
    assert "public" in post.label()
    # nothing is compiled ahead: the whole call, compile included, is the fit
    assert fitter.compile_seconds < 1.0 < post.timing.fit
    assert set(post.draws.data_vars) == {"Intercept", "slope", "sigma"}
    assert dict(post.draws.sizes) == {"chain": 2, "draw": 300}
    assert set(post.stats.data_vars) == STATS[sampler]
    assert post.settings == {"chains": 2, "tune": 300, "draws": 300, "target_accept": 0.8}
    assert post.max_tree_depth == 10

    depth = post.stats["tree_depth"].values
    steps = post.stats["n_steps"].values
    assert depth.dtype == steps.dtype == np.int64
    assert post.stats["diverging"].dtype == bool
    assert 1 <= depth.min() and depth.max() <= post.max_tree_depth
    # STAT_NAMES: a draw of depth d (doublings started) took 2**(d-1) <= n_steps <= 2**d - 1
    assert ((2 ** (depth - 1) <= steps) & (steps <= 2**depth - 1)).all()
    assert post.saturated_draws == 0 and post.gradient_evals > 0

    exact = specs(frontend).case.exact_posterior(specs(frontend).data)
    mcse = compat.mcse(post.draws, method="mean")
    for name in ("slope", "Intercept", "sigma"):
        z = (float(post.draws[name].mean()) - exact.mean[name]) / float(mcse[name])
        assert abs(z) < TOLERANCE_MCSE, f"{name}: z = {z:.2f}"


@pytest.mark.slow
@pytest.mark.parametrize("frontend", FRONTENDS)
@pytest.mark.parametrize("sampler", SAMPLERS)
def test_lp_is_the_log_density(fits, specs, sampler, frontend):
    """``lp`` is the model's log density (unconstrained, Jacobian included) at the draw; the
    NumPyro route's comes from PyMC as the potential energy and is flipped by the fitter."""
    _, post = fits(sampler, frontend)
    spec = specs(frontend)
    logp = spec.model.compile_logp()
    native = spec.native_names
    for chain, draw in [(0, 0), (0, 150), (1, 299)]:
        d = post.draws.isel(chain=chain, draw=draw)
        point = {
            native.get("Intercept", "Intercept"): float(d["Intercept"]),
            native.get("slope", "slope"): float(d["slope"]),
            "sigma_log__": np.log(float(d["sigma"])),
        }
        lp = float(post.stats["lp"].isel(chain=chain, draw=draw))
        assert lp == pytest.approx(float(logp(point)), rel=1e-6)


@pytest.mark.parametrize("frontend", FRONTENDS)
def test_route_that_raises_is_a_fit_error(specs, frontend, monkeypatch):
    _needs("blackjax")
    import pymc as pm

    def broken(*args, **kwargs):
        raise TypeError(
            "_blackjax_inference_loop() got an unexpected keyword argument 'progress_bar'\n"
            "(second line)"
        )

    monkeypatch.setattr(pm, "sample", broken)
    fitter = get_fitter("blackjax", "public")(specs(frontend), SETTINGS)
    names = ("pymc", "bambi", "jax")
    levels = {n: logging.getLogger(n).level for n in names}
    filters = list(warnings.filters)
    with pytest.raises(FitError) as caught:
        fitter.fit(seed=1)
    message = str(caught.value)
    route = ("bambi.Model.fit(inference_method='blackjax')" if frontend == "bambi"
             else "pm.sample(nuts_sampler='blackjax')")
    assert f"{route} raised TypeError: _blackjax_inference_loop() got an unexpected" in message
    versions = compat.versions()
    wanted = ["pymc", "blackjax", "jax"] + (["bambi"] if frontend == "bambi" else [])
    for name in wanted:
        assert f"{name} {versions[name]}" in message
    assert "\n" not in message and "case 'linear'" in message
    assert caught.value.exit_code == EXIT_FIT
    # the quieting is undone
    assert {n: logging.getLogger(n).level for n in names} == levels
    assert warnings.filters == filters
