"""The catalogue of planted errors (``benchmarks/planted_errors.py``) plants what it says it plants.

The power benchmark's numbers mean something only if every plant is the error it is named
after, at its size, and the correct model is untouched: checked here on log densities, simulated
data and draws, without sampling.
"""

import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import planted_errors as P  # noqa: E402

from glmcheck.cases import get_case  # noqa: E402
from glmcheck.posterior import Posterior, Timing  # noqa: E402


def test_the_catalogue_covers_every_kind_at_three_sizes_on_four_cases():
    plants = P.catalogue()
    assert {p.case for p in plants} == {"linear", "logistic", "poisson", "varying_intercept"}
    kinds = {(p.case, p.kind) for p in plants}
    for case in P.CASES:
        for kind in ("likelihood", "prior", "simulator", "shrunk", "inflated", "shifted", "stale"):
            assert (case, kind) in kinds
    assert {c for c, k in kinds if k == "link"} == {"logistic", "poisson"}
    assert {c for c, k in kinds if k == "dispersion"} == {"linear", "varying_intercept"}
    for kind, sizes in P.SIZES.items():
        # gross to subtle: each size closer to "no error" than the one before
        neutral = {"likelihood": 1, "prior": 1, "dispersion": 1, "shrunk": 1, "inflated": 1}.get(
            kind, 0)
        distance = [abs(np.log(s)) if neutral else abs(s) for s in sizes]
        assert distance == sorted(distance, reverse=True) and distance[-1] > 0, kind
    assert len({p.name for p in plants}) == len(plants)


def _logp(case, data):
    from glmcheck.frontends import build

    model = build(case, "pymc", data).model
    point = model.initial_point(0)
    point = {k: v + 0.3 for k, v in point.items()}  # away from the symmetric start
    return float(model.compile_logp()(point))


@pytest.mark.slow
@pytest.mark.parametrize("case", P.CASES)
def test_model_errors_change_the_log_density_and_nothing_else_does(case):
    base = get_case(case)
    data = base.reference_data()
    right = _logp(base, data)
    assert _logp(P.Plant(case).planted_case(), data) == right
    assert _logp(P.Plant(case, "simulator", 0.25).planted_case(), data) == right
    for kind in P.MODEL_KINDS:
        if case in P.APPLIES.get(kind, (case,)):
            wrong = _logp(P.Plant(case, kind, P.SIZES[kind][0]).planted_case(), data)
            assert np.isfinite(wrong) and abs(wrong - right) > 1e-6, kind


@pytest.mark.parametrize("case", P.CASES)
def test_the_simulator_error_moves_the_slope_and_only_in_the_simulator(case):
    base = get_case(case)
    plant = P.Plant(case, "simulator", 0.25).planted_case()
    theta = dict(base.true_params)
    design = base.design()
    same = base.simulate(theta, design, np.random.default_rng(1))
    assert np.array_equal(P.Plant(case).planted_case().simulate(theta, design,
                                                                np.random.default_rng(1)), same)
    moved = plant.simulate(theta, design, np.random.default_rng(1))
    slope = P.SLOPE[case]
    wanted = base.simulate({**theta, slope: theta[slope] * 1.25}, design, np.random.default_rng(1))
    assert np.array_equal(moved, wanted) and not np.array_equal(moved, same)
    assert plant.name == case and plant.draw_params(np.random.default_rng(2)).keys() == \
        base.draw_params(np.random.default_rng(2)).keys()


def _posterior(rng):
    draws = xr.Dataset({
        "slope": (("chain", "draw"), rng.normal(2.0, 0.1, size=(4, 500))),
        "sigma": (("chain", "draw"), np.exp(rng.normal(np.log(0.5), 0.05, size=(4, 500)))),
    })
    stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros((4, 500), dtype=bool))})
    return Posterior(case="linear", frontend="pymc", sampler="nutpie", seed=0, draws=draws,
                     stats=stats, timing=Timing(compile=0, fit=0, warmup=0, sampling=0))


@pytest.mark.parametrize("kind, size", [("shrunk", 0.5), ("inflated", 2.0), ("shifted", 1.0)])
def test_errors_of_the_draws_are_their_size(kind, size):
    post = _posterior(np.random.default_rng(0))
    planted = P.plant_draws(post, kind, size)
    for name in ("slope", "sigma"):
        before = np.asarray(post.draws[name]).ravel()
        after = np.asarray(planted.draws[name]).ravel()
        if name == "sigma":  # a positive parameter is planted on the log scale
            before, after = np.log(before), np.log(after)
        if kind == "shifted":
            assert np.isclose(after.mean() - before.mean(), size * before.std(ddof=1))
            assert np.isclose(after.std(), before.std())
        else:
            assert np.isclose(after.std() / before.std(), size)
            assert np.isclose(after.mean(), before.mean())
    assert (planted.draws["sigma"] > 0).all()


def test_stale_refits_keep_the_previous_responses():
    class Recorder:
        def fit(self, y=None, *, seed, settings=None):
            return None if y is None else np.array(y)

    class Stale(P.StaleError, Recorder):
        size = 0.5

    fitter = Stale()
    first, second = np.arange(10.0), np.arange(10.0) + 100
    assert np.array_equal(fitter.fit(first, seed=0), first)  # nothing stale yet
    used = fitter.fit(second, seed=1)
    assert np.array_equal(used[:5], first[:5]) and np.array_equal(used[5:], second[5:])
    assert fitter.fit(seed=2) is None  # the compiled data set is not a refit


def test_plants_load_by_reference_as_users_name_their_own():
    from glmcheck._loader import load_reference
    from glmcheck.fitters.nutpie import NutpieFitter

    case = load_reference("planted_errors:linear__likelihood__1_3", "case")
    assert case.name == "linear" and case.plant_kind == "likelihood" and case.plant_size == 1.3
    cls = load_reference("planted_errors:Nutpie__shrunk__0_8", "sampler")
    assert issubclass(cls, NutpieFitter) and (cls.kind, cls.size) == ("shrunk", 0.8)
