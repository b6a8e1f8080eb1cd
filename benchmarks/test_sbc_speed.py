"""SBC speed: 1000 simulations of ``linear`` against the bare-refit floor and against simuk.

Every figure is measured in the same run, 2 chains × (1000 warm-up + 1000 draws) per fit:

- ``glmcheck sbc`` in a fresh process, as a user runs it: its start-up (imports, one compile
  per model, starting the workers: the process's wall time less its simulation loop) and its
  simulation loop;
- the *floor*: bare ``nutpie.sample`` refits of the same compiled model on the same data sets
  with the same seeds, nothing else, in every thread layout this machine allows (one process
  running the chains on its threads; one process per core, each running its chains in turn;
  one process per core with threads), the fastest layout counted. Also reported, the *raw*
  floor: the same refits returning nutpie's trace as it comes (``return_raw_trace=True``), no
  conversion to ArviZ: the sampler alone.
- simuk 0.3 (``simuk.SBC``, which recompiles every fit) on a few simulations.

Goals (SBC issue, 2-core machine): the loop within 15 % of the floor; start-up at most 10 s
with warm compile caches; at least 40 times simuk's throughput.
"""

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from glmcheck.sbc import SBCConfig, SBCWorker

SIMULATIONS = 1000
LOOP_GOAL = 1.15
STARTUP_GOAL_S = 10.0
SIMUK_SIMULATIONS = 3
#: glmcheck's throughput (wall, start-up included) over simuk's, at least
SPEEDUP_GOAL = 40.0
SEED = 2026
_MEASURED: dict = {}


def _config(frontend: str) -> SBCConfig:
    return SBCConfig(case="linear", frontend=frontend, sampler="nutpie", chains=2, tune=1000,
                     draws=1000, thin=10, seed=SEED)


def _glmcheck(tmp_path, frontend: str, n: int) -> dict:
    """``glmcheck sbc`` in a fresh process: wall, start-up and loop seconds."""
    out = tmp_path / f"out-{frontend}-{n}"
    command = [sys.executable, "-m", "glmcheck", "sbc", "-c", "linear", "-f", frontend,
               "-s", "nutpie", "-n", str(n), "--seed", str(SEED), "--stores",
               str(tmp_path / f"stores-{frontend}-{n}"), "--out", str(out), "--no-figures"]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - start
    assert done.returncode in (0, 1), done.stderr
    record = json.loads(next(out.glob("run-*/results.json")).read_text())
    loop = record["timings"]["loop_s"]
    return {"wall_s": wall, "loop_s": loop, "startup_s": wall - loop,
            "passed": record["checks"][0]["passed"]}


def _floor(config: SBCConfig, n: int, raw: bool) -> dict:
    """Seconds of bare nutpie refits of simulations 0..n-1 in each thread layout."""
    import multiprocessing

    import nutpie

    from glmcheck.frontends import RESPONSE_DATA

    worker = SBCWorker(config)  # the compiled model and the data sets of glmcheck's run
    fitter = worker.fitter
    tasks = []
    for index in range(n):
        sim_ss, fit_ss, _ = np.random.SeedSequence([config.seed, index]).spawn(3)
        _, y = worker._draw_truth(np.random.default_rng(sim_ss))
        tasks.append((fitter.spec.response_values(y), int(fit_ss.generate_state(1)[0] % 2**31)))

    def refits(share, cores):
        for y, seed in share:
            nutpie.sample(fitter._compiled.with_data(**{RESPONSE_DATA: y}), chains=config.chains,
                          tune=config.tune, draws=config.draws, target_accept=0.8, maxdepth=10,
                          seed=seed, cores=cores, progress_bar=False, save_warmup=False,
                          return_raw_trace=raw)

    cpus = os.cpu_count() or 1
    layouts = {f"1 process × {min(config.chains, cpus)} threads": (1, min(config.chains, cpus))}
    if cpus > 1:
        layouts[f"{cpus} processes × 1 thread"] = (cpus, 1)
        layouts[f"{cpus} processes × {config.chains} threads"] = (cpus, config.chains)
    context = multiprocessing.get_context("fork")  # after the compile, as glmcheck's workers
    seconds = {}
    for name, (processes, cores) in layouts.items():
        start = time.perf_counter()
        if processes == 1:
            refits(tasks, cores)
        else:
            workers = [context.Process(target=refits, args=(tasks[p::processes], cores))
                       for p in range(processes)]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
                assert w.exitcode == 0
        seconds[name] = time.perf_counter() - start
    return seconds


@pytest.mark.parametrize("frontend", ["pymc", "bambi"])
def test_sbc_loop_at_the_floor(benchmark, tmp_path, frontend):
    benchmark.group = "sbc linear"
    ours = benchmark.pedantic(_glmcheck, args=(tmp_path, frontend, SIMULATIONS), rounds=1,
                              iterations=1)
    floor = _floor(_config(frontend), SIMULATIONS, raw=False)
    raw = _floor(_config(frontend), SIMULATIONS, raw=True)
    best, best_raw = min(floor.values()), min(raw.values())
    ratio = ours["loop_s"] / best
    _MEASURED[frontend] = ours
    benchmark.extra_info.update(
        simulations=SIMULATIONS, **{k: round(v, 2) for k, v in ours.items() if k != "passed"},
        floor_s={k: round(v, 2) for k, v in floor.items()},
        raw_floor_s={k: round(v, 2) for k, v in raw.items()},
        loop_over_floor=round(ratio, 3), loop_over_raw_floor=round(ours["loop_s"] / best_raw, 3),
        sbc_passed=ours["passed"],
    )
    print(f"\n{frontend}: {SIMULATIONS} simulations, wall {ours['wall_s']:.1f} s = start-up "
          f"{ours['startup_s']:.1f} s + loop {ours['loop_s']:.1f} s; floor {best:.1f} s "
          f"({min(floor, key=floor.get)}), loop/floor {ratio:.3f}; raw floor {best_raw:.1f} s "
          f"({min(raw, key=raw.get)}), loop/raw {ours['loop_s'] / best_raw:.3f}")
    print("  floor layouts: " + ", ".join(f"{k} {v:.1f} s" for k, v in floor.items()))
    print("  raw layouts:   " + ", ".join(f"{k} {v:.1f} s" for k, v in raw.items()))
    assert ratio <= LOOP_GOAL, f"the loop is {ratio:.2f}× the floor (goal ≤ {LOOP_GOAL})"


@pytest.mark.xfail(strict=True, reason=(
    "not met: SBC compiles with PyTensor's Numba cache off, so that a run resumed with a warm "
    "cache draws bitwise what it drew with a cold one; a fresh compile of linear takes 9-12 s "
    "of the 11-14 s (the cache would save about 5 s)"))
def test_sbc_startup(benchmark, tmp_path):
    """100 simulations in a fresh process, after a first run has warmed the compile caches."""
    benchmark.group = "sbc linear"
    _glmcheck(tmp_path / "warm-up", "pymc", 2)
    ours = benchmark.pedantic(_glmcheck, args=(tmp_path, "pymc", 100), rounds=1, iterations=1)
    benchmark.extra_info.update({k: round(v, 2) for k, v in ours.items() if k != "passed"})
    print(f"\n100 simulations: wall {ours['wall_s']:.1f} s = start-up {ours['startup_s']:.1f} s "
          f"+ loop {ours['loop_s']:.1f} s")
    assert ours["startup_s"] <= STARTUP_GOAL_S, f"start-up took {ours['startup_s']:.1f} s"


def test_simuk_throughput_ratio(benchmark, tmp_path):
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
        seed=SEED,
    )
    start = time.perf_counter()
    benchmark.pedantic(sbc.run_simulations, rounds=1, iterations=1)
    simuk_rate = SIMUK_SIMULATIONS / (time.perf_counter() - start)
    ours = _MEASURED.get("pymc") or _glmcheck(tmp_path, "pymc", 100)
    n = SIMULATIONS if "pymc" in _MEASURED else 100
    rate = n / ours["wall_s"]
    ratio = rate / simuk_rate
    benchmark.extra_info.update(simuk_simulations_per_s=round(simuk_rate, 3),
                                glmcheck_simulations_per_s=round(rate, 2), ratio=round(ratio, 1))
    print(f"\nsimuk {simuk_rate:.3f} sims/s, glmcheck {rate:.2f} sims/s (wall, start-up "
          f"included): {ratio:.0f}×")
    assert ratio >= SPEEDUP_GOAL, f"glmcheck is only {ratio:.0f}× simuk (goal {SPEEDUP_GOAL:.0f}×)"
