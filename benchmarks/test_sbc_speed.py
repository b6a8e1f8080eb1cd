"""SBC throughput: 1000 simulations of ``linear`` and glmcheck against simuk.

Goals (SBC issue), 2 chains × (1000 warm-up + 1000 draws) per fit, on a 2-core machine:
- 1000 simulations in at most 120 s wall time including compilation, for the PyMC frontend
  and for the Bambi frontend, with nutpie;
- at least 40 times the throughput of simuk 0.3 (``simuk.SBC``, which recompiles every fit),
  both measured in the same run.
"""

import os
import time

import pytest

from glmcheck.sbc import SBCConfig, analyse, run_sbc

SIMULATIONS = 1000
WALL_GOAL_S = 120.0
SPEEDUP_GOAL = 40.0
SIMUK_SIMULATIONS = 3
_THROUGHPUT = {}


def _config(frontend):
    return SBCConfig(case="linear", frontend=frontend, sampler="nutpie", chains=2, tune=1000,
                     draws=1000, thin=10, seed=2026)


@pytest.mark.parametrize("frontend", ["pymc", "bambi"])
def test_sbc_1000_simulations(benchmark, tmp_path, frontend):
    benchmark.group = "sbc linear"
    workers = os.cpu_count() or 1

    def run():
        return run_sbc(_config(frontend), SIMULATIONS, tmp_path / "store", workers=workers)

    start = time.perf_counter()
    result = benchmark.pedantic(run, rounds=1, iterations=1)
    wall = time.perf_counter() - start
    check, _ = analyse(result)
    _THROUGHPUT[frontend] = SIMULATIONS / wall
    benchmark.extra_info.update(
        simulations=SIMULATIONS, workers=workers, wall_s=round(wall, 1),
        simulations_per_s=round(SIMULATIONS / wall, 2), sbc_passed=check.passed,
        failed=check.details["failed"], unconverged=check.details["unconverged"],
    )
    assert result.computed == SIMULATIONS
    assert wall <= WALL_GOAL_S, f"{SIMULATIONS} simulations took {wall:.0f} s > {WALL_GOAL_S:.0f} s"


def test_simuk_throughput_ratio(benchmark):
    """simuk on a few simulations, same model and settings; compare simulations per second."""
    simuk = pytest.importorskip("simuk")
    from glmcheck.cases import get_case

    benchmark.group = "sbc linear"
    case = get_case("linear")
    model = case.pymc_model(case.reference_data())
    sbc = simuk.SBC(
        model,
        num_simulations=SIMUK_SIMULATIONS,
        sample_kwargs={"draws": 1000, "tune": 1000, "chains": 2, "nuts_sampler": "nutpie",
                       "progressbar": False, "compute_convergence_checks": False},
        seed=2026,
    )
    start = time.perf_counter()
    benchmark.pedantic(sbc.run_simulations, rounds=1, iterations=1)
    simuk_rate = SIMUK_SIMULATIONS / (time.perf_counter() - start)
    ours = _THROUGHPUT.get("pymc")
    if ours is None:  # run alone: measure glmcheck on 100 simulations in this run
        start = time.perf_counter()
        run_sbc(_config("pymc"), 100, _tmp_store(), workers=os.cpu_count() or 1)
        ours = 100 / (time.perf_counter() - start)
    ratio = ours / simuk_rate
    benchmark.extra_info.update(simuk_simulations_per_s=round(simuk_rate, 3),
                                glmcheck_simulations_per_s=round(ours, 2), ratio=round(ratio, 1))
    print(f"\nsimuk {simuk_rate:.3f} sims/s, glmcheck {ours:.2f} sims/s: {ratio:.0f}x")
    assert ratio >= SPEEDUP_GOAL, f"glmcheck is only {ratio:.0f}x simuk (goal {SPEEDUP_GOAL:.0f}x)"


def _tmp_store():
    import tempfile
    from pathlib import Path

    return Path(tempfile.mkdtemp()) / "store"
