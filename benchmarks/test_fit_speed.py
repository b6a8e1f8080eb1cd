"""Per-fit wall time of the compile-once fitters, and of ``pm.sample`` recompiling each time.

Goals, 2 chains × (1000 warm-up + 1000 draws):
* a refit of ``linear`` with nutpie takes at most 0.15 s, for the hand-written PyMC model and
  for the Bambi model;
* glmcheck's fitter adds at most 5 % to a bare ``nutpie.sample`` of the same compiled model.

The metrics of ``glmcheck bench`` (ESS/s, ESS per gradient, …) are in each benchmark's
``extra_info``; ``test_refit`` has the names ``glmcheck bench`` writes in its
``benchmark.json``, so ``pytest-benchmark compare`` lines the two up.
"""

import itertools
import os
import time

import numpy as np
import pytest

from glmcheck.bench import fit_metrics
from glmcheck.cases import BUILTIN
from glmcheck.fitters import installed

from conftest import SETTINGS, simulated_responses

REFIT_GOAL_S = 0.15
ROUNDS = 7
SAMPLERS = [name for name, ok in installed().items() if ok]


def _record(benchmark, fitter, posteriors):
    """The metrics of ``glmcheck bench`` (medians over the rounds) in ``extra_info``."""
    rows = [fit_metrics(post) for post in posteriors]
    benchmark.extra_info.update(
        sampler=fitter.name,
        frontend=fitter.spec.frontend,
        case=fitter.spec.case.name,
        compile_s=round(fitter.compile_seconds, 3),
        **{key: float(np.median([r[key] for r in rows])) for key in rows[0]
           if key != "compile_s" and all(r[key] is not None for r in rows)},
    )


def _time_refits(benchmark, fitter, rounds=ROUNDS):
    ys = iter(simulated_responses(fitter.spec.case, rounds + 1))
    seeds = itertools.count()
    posteriors = []

    def setup():
        return (), {"y": next(ys), "seed": next(seeds)}

    def fit(**kwargs):
        posteriors.append(fitter.fit(**kwargs))

    benchmark.pedantic(fit, setup=setup, rounds=rounds, iterations=1, warmup_rounds=1)
    _record(benchmark, fitter, posteriors)
    return benchmark.stats.stats.median


@pytest.mark.parametrize("frontend", ["pymc", "bambi"])
def test_linear_nutpie_refit_goal(benchmark, fitter_for, frontend):
    benchmark.group = "linear refit goal"
    median = _time_refits(benchmark, fitter_for("linear", frontend, "nutpie"))
    assert median <= REFIT_GOAL_S, f"median refit {median:.3f} s > goal {REFIT_GOAL_S} s"


@pytest.mark.parametrize("frontend", ["pymc", "bambi"])
def test_linear_pm_sample_recompiling(benchmark, frontend):
    """The baseline: ``pm.sample`` after ``pm.set_data``-style swaps recompiles every call."""
    import pymc as pm

    from glmcheck.frontends import build

    benchmark.group = "linear refit goal"
    spec = build("linear", frontend)
    ys = iter(simulated_responses(spec.case, 4))

    def setup():
        spec.response_data.set_value(next(ys))
        return (), {}

    def fit():
        pm.sample(
            draws=SETTINGS.draws, tune=SETTINGS.tune, chains=SETTINGS.chains,
            model=spec.model, nuts_sampler="nutpie", progressbar=False,
            compute_convergence_checks=False, random_seed=1,
        )

    benchmark.pedantic(fit, setup=setup, rounds=3, iterations=1)
    benchmark.extra_info.update(sampler="nutpie via pm.sample", frontend=frontend, case="linear")


@pytest.mark.parametrize(
    ("case", "frontend", "sampler"),
    list(itertools.product(BUILTIN, ["pymc", "bambi"], SAMPLERS)),
)
def test_refit(benchmark, fitter_for, case, frontend, sampler):
    """Per-fit time of every case × frontend × installed sampler."""
    benchmark.group = f"refit {case}"
    rounds = 3 if sampler == "pymc" else 5
    _time_refits(benchmark, fitter_for(case, frontend, sampler), rounds=rounds)
    assert np.isfinite(benchmark.stats.stats.median)


OVERHEAD_GOAL = 1.05
PAIRS = 41


@pytest.mark.parametrize("frontend", ["pymc", "bambi"])
def test_fitter_overhead_over_bare_nutpie(benchmark, fitter_for, frontend):
    """The fitter's own cost: ``fitter.fit`` against a bare ``nutpie.sample`` of the same
    compiled model with the same arguments, data and seed, timed in alternating pairs (so the
    machine's drift falls on both); the median of the paired ratios is the overhead."""
    import nutpie

    from glmcheck.fitters.nutpie import MAX_TREE_DEPTH
    from glmcheck.frontends import RESPONSE_DATA

    benchmark.group = "fitter overhead"
    fitter = fitter_for("linear", frontend, "nutpie")
    y = fitter.spec.response_values(None)
    s = fitter.settings

    def bare(seed):
        nutpie.sample(fitter._compiled.with_data(**{RESPONSE_DATA: y}), chains=s.chains,
                      tune=s.tune, draws=s.draws, target_accept=s.target_accept,
                      maxdepth=MAX_TREE_DEPTH, seed=seed, cores=min(s.chains, os.cpu_count() or 1),
                      progress_bar=False, save_warmup=False)

    ratios, times = [], {"bare": [], "fitter": []}
    for k in range(PAIRS):
        pair = {}
        for name in (("bare", "fitter") if k % 2 == 0 else ("fitter", "bare")):
            start = time.perf_counter()
            bare(k) if name == "bare" else fitter.fit(y, seed=k)
            pair[name] = time.perf_counter() - start
            times[name].append(pair[name])
        ratios.append(pair["fitter"] / pair["bare"])
    overhead = float(np.median(ratios))
    benchmark.extra_info.update(
        overhead=overhead, bare_median_s=float(np.median(times["bare"])),
        fitter_median_s=float(np.median(times["fitter"])), pairs=PAIRS,
    )
    benchmark.pedantic(lambda: fitter.fit(y, seed=0), rounds=3, iterations=1)
    assert overhead <= OVERHEAD_GOAL, (
        f"the fitter takes ×{overhead:.3f} a bare nutpie.sample (goal ×{OVERHEAD_GOAL})"
    )
