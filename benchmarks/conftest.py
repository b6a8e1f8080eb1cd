"""Benchmarks time the same Fitter the checks use. Run: ``pytest benchmarks``.

Compiled fitters are cached per (case, frontend, sampler) for the session, so each benchmark
times refits only; compile time is recorded in ``extra_info``.
"""

import numpy as np
import pytest

from glmcheck.fitters import FitSettings, make_fitter
from glmcheck.frontends import build

#: The settings of every timed fit: 2 chains × (1000 warm-up + 1000 draws).
SETTINGS = FitSettings(chains=2, tune=1000, draws=1000)

_FITTERS = {}


@pytest.fixture(scope="session")
def fitter_for():
    def get(case: str, frontend: str, sampler: str):
        key = (case, frontend, sampler)
        if key not in _FITTERS:
            _FITTERS[key] = make_fitter(sampler, build(case, frontend), SETTINGS)
        return _FITTERS[key]

    return get


def simulated_responses(case, n: int, seed: int = 0):
    """n response vectors simulated by the case's own simulator at its true parameters."""
    rng = np.random.default_rng(seed)
    design = case.design()
    return [case.simulate(dict(case.true_params), design, rng) for _ in range(n)]
