"""SBC end to end: calibrated models pass, planted errors fail, runs resume and scale out.

Most tests use the planted samplers of ``tests/userland/sbc_planted.py``: independent draws from
the exact posterior of ``linear`` (calibrated by construction, no MCMC, no compile), with one
error planted where a test needs it. Their outcome does not depend on the draws one seed gives
on one machine; a simulation costs milliseconds.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import require_modules

from glmcheck.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from glmcheck.errors import UsageError
from glmcheck.sbc import FORMAT_VERSION, RunStore, SBCConfig, analyse, run_sbc

USERLAND = Path(__file__).parent / "userland"
#: SBC fits: 2 chains × (500 warm-up + 1000 draws), thin 10 -> L = 200 ranked draws
SMALL = dict(chains=2, tune=500, draws=1000, thin=10)
#: the exact sampler: 2 chains × 1000 independent draws (R-hat noise far below 1.01), L = 400
EXACT = "sbc_planted:ExactSampler"
EXACT_SETTINGS = dict(chains=2, tune=0, draws=1000, thin=5)


@pytest.fixture
def userland(monkeypatch):
    monkeypatch.syspath_prepend(str(USERLAND))
    monkeypatch.setenv("PYTHONPATH", str(USERLAND))


def _ranks(run):
    return [r.get("ranks") for r in run.records]


def _exact(**kwargs) -> SBCConfig:
    return SBCConfig(**{"case": "linear", "sampler": EXACT, "seed": 5, **EXACT_SETTINGS, **kwargs})


def _results(out: Path) -> dict:
    """results.json of the newest run folder in ``out``."""
    run_dir = sorted(out.glob("run-*"))[-1]
    return json.loads((run_dir / "results.json").read_text())


# -- the verdict, with MCMC -------------------------------------------------------------------
@pytest.mark.slow
def test_calibrated_model_passes(tmp_path):
    run = run_sbc(SBCConfig(case="linear", seed=11, **SMALL), 100, tmp_path / "s")
    # at family alpha 1e-4 a correct model fails with probability 1e-4 whatever draws this
    # machine's seed gives (the default 0.01 would make this test fail on 1 machine in 100)
    result, bands = analyse(run, alpha=1e-4)
    assert result.passed, result.message
    assert {row["quantity"] for row in result.rows} == {"Intercept", "slope", "sigma", "loglik"}
    assert result.details["failed"] == 0


@pytest.mark.slow
def test_dask_cluster_gives_the_same_ranks_as_local(tmp_path, monkeypatch):
    """Bitwise the same draws in another process, even one whose Numba cache is empty (a fresh
    machine's first run) while this process's is warm: that once made the first run differ."""
    require_modules("distributed")
    import distributed
    import pytensor

    # the config of test_calibrated_model_passes: run right after it, this process reuses its
    # compiled worker (a simulation does not depend on what the worker ran before)
    config = SBCConfig(case="linear", seed=11, **SMALL)
    local = run_sbc(config, 12, tmp_path / "local")
    # PyTensor keeps Numba's cache in base_compiledir/numba: the worker gets an empty one (and
    # this process's compiled C code, which does not change draws, to save the time)
    flags = [os.environ.get("PYTENSOR_FLAGS"), f"base_compiledir={tmp_path / 'cold-cache'}",
             f"compiledir={pytensor.config.compiledir}"]
    monkeypatch.setenv("PYTENSOR_FLAGS", ",".join(f for f in flags if f))
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster:
        remote = run_sbc(config, 12, tmp_path / "dask", scheduler=cluster.scheduler_address)
    assert remote.computed == 12
    assert _ranks(remote) == _ranks(local)


@pytest.mark.slow
def test_model_with_wrong_likelihood_scale_fails(tmp_path, userland):
    run = run_sbc(SBCConfig(case="planted:WIDE_NOISE", seed=11, **SMALL), 100, tmp_path / "s")
    result, _ = analyse(run)
    assert not result.passed
    assert "sigma" in result.message


@pytest.mark.slow
@pytest.mark.parametrize("sampler", ["planted:DispersedNutpie", "planted:ShrunkNutpie"])
def test_over_and_under_dispersed_sampler_fails(tmp_path, userland, sampler):
    run = run_sbc(SBCConfig(case="linear", sampler=sampler, seed=11, **SMALL), 100, tmp_path / "s")
    result, _ = analyse(run)
    assert not result.passed, result.message


@pytest.mark.slow
def test_posterior_sbc_of_the_seed_case(tmp_path):
    run = run_sbc(SBCConfig(case="linear", mode="posterior", seed=3, **SMALL), 60, tmp_path / "s")
    result, _ = analyse(run, alpha=1e-4)  # false-alarm rate 1e-4, as above
    assert result.check == "posterior-sbc"
    assert result.passed, result.message


# -- the verdict, with planted samplers ------------------------------------------------------
def test_exact_sampler_is_calibrated_and_a_shifted_one_is_not(tmp_path, userland):
    good, _ = analyse(run_sbc(_exact(), 40, tmp_path / "good"))
    assert good.details["failed"] == good.details["unconverged"] == 0
    bad, _ = analyse(run_sbc(_exact(sampler="sbc_planted:ShiftedSampler"), 40, tmp_path / "bad"))
    assert not bad.passed
    # 3 posterior sds off: every quantity's ranks pile up at one end, whatever the seed
    assert all(not row["passed"] and row["ecdf_p"] < 1e-3 for row in bad.rows), bad.rows


def test_nan_rhat_counts_as_unconverged(tmp_path, userland):
    """sigma's draws are constant, so its R-hat is NaN: a NaN diagnostic fails its gate."""
    run = run_sbc(_exact(sampler="sbc_planted:FrozenSampler"), 3, tmp_path / "s")
    assert all(r["ok"] for r in run.records)
    result, _ = analyse(run)
    assert result.details["unconverged"] == 3
    assert "3 of 3 fits did not converge" in result.message
    text = (tmp_path / "s" / "sims.jsonl").read_text()
    for line in text.splitlines():  # strict JSON: no NaN in the store
        json.loads(line, parse_constant=lambda c: pytest.fail(f"{c} in the store"))
    # the stored records give the same verdict when reused
    again = run_sbc(run.config, 3, tmp_path / "s")
    assert again.computed == 0
    assert analyse(again)[0].details["unconverged"] == 3


@pytest.mark.parametrize(
    ("case", "sampler", "what"),
    [
        ("sbc_planted:NAN_LOGLIK", EXACT, "true parameters"),
        ("linear", "sbc_planted:ZeroSigmaSampler", "posterior draw"),
    ],
)
def test_non_finite_loglik_fails_that_simulation_not_the_run(tmp_path, userland, case, sampler,
                                                             what):
    config = _exact(case=case, sampler=sampler)
    run = run_sbc(config, 3, tmp_path / "s")
    assert [r["ok"] for r in run.records] == [False] * 3
    assert all("log-likelihood" in r["error"] and what in r["error"] for r in run.records)
    result, _ = analyse(run)
    assert result.details["failed"] == 3
    assert not result.passed and "3 of 3 fits failed" in result.message
    # and a resume reuses them instead of aborting again
    assert run_sbc(config, 4, tmp_path / "s").computed == 1


# -- resume -----------------------------------------------------------------------------------
def _sbc_args(store, out, n, *, sampler=EXACT, seed=5):
    return ["sbc", "-n", str(n), "--workers", "1", "--sampler", sampler, "--chains", "2",
            "--tune", "0", "--draws", "1000", "--thin", "5", "--seed", str(seed),
            "--store", str(store), "--out", str(out)]


def test_killed_run_resumes_to_the_same_ranks(tmp_path, userland, capsys):
    n = 40
    store = tmp_path / "killed"
    command = [sys.executable, "-m", "glmcheck", *_sbc_args(store, tmp_path / "o", n)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sims = store / "sims.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline:
        if sims.exists() and sims.read_text().count("\n") >= 10:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    stored = sims.read_text().split("\n")[:-1]  # complete lines only (a torn one is dropped)
    assert 10 <= len(stored) < n, "the run must be killed part way"

    code = main(_sbc_args(store, tmp_path / "o", n))
    stdout = capsys.readouterr().out.replace("\n", " ")
    assert f"{n - len(stored)} simulations computed, {len(stored)} reused" in stdout
    assert code == (EXIT_OK if _results(tmp_path / "o")["checks"][0]["passed"] else EXIT_FAILED)
    lines = sims.read_text().splitlines()
    assert lines[:len(stored)] == stored, "stored simulations are reused, never recomputed"
    assert sorted(json.loads(line)["index"] for line in lines) == list(range(n))
    # the same ranks as a run that never stopped (numpy-only draws: deterministic)
    reference = run_sbc(_exact(), n, tmp_path / "ref")
    records = {json.loads(line)["index"]: json.loads(line) for line in lines}
    assert [records[i]["ranks"] for i in range(n)] == _ranks(reference)

    assert main(_sbc_args(store, tmp_path / "o", n)) == code
    assert "0 simulations computed" in capsys.readouterr().out


# -- exit codes -------------------------------------------------------------------------------
def test_exit_code_is_the_verdict(tmp_path, userland, capsys):
    code = main(_sbc_args(tmp_path / "s", tmp_path / "o", 40))
    payload = _results(tmp_path / "o")
    check = payload["checks"][0]
    assert check["details"]["failed"] == 0
    assert code == (EXIT_OK if check["passed"] else EXIT_FAILED)
    assert payload["exit_code"] == code
    from glmcheck.record import load_record

    record = load_record(sorted((tmp_path / "o").glob("run-*"))[-1] / "results.json")
    assert record["kind"] == "sbc" and "sbc.png" in record["files"]


def test_planted_sampler_error_exits_1(tmp_path, userland, capsys):
    code = main(_sbc_args(tmp_path / "s", tmp_path / "o", 20, sampler="sbc_planted:ShiftedSampler"))
    check = _results(tmp_path / "o")["checks"][0]
    assert code == EXIT_FAILED
    assert not check["passed"] and "ranks not uniform" in check["message"]


# -- bad input: exit 2 before any work -------------------------------------------------------
def _bad(capsys, args):
    code = main(["sbc", *args])
    raw = capsys.readouterr().err
    err = raw.strip().splitlines()
    assert code == EXIT_USAGE, err
    assert len(err) == 1 and err[0].startswith("glmcheck: error: "), err  # one line, no bar
    assert raw == err[0] + "\n", repr(raw)  # and nothing else, not even a blank line
    return err[0]


def test_bad_simulation_counts(capsys, tmp_path):
    for n in ("0", "-3"):
        assert "expected simulations >= 1" in _bad(capsys, ["-n", n, "--store", str(tmp_path / "s")])
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("address", ["foo", "tcp://", "tcp://host:port", "local host", "://x:1"])
def test_bad_scheduler_address(capsys, tmp_path, address):
    err = _bad(capsys, ["-n", "2", "--scheduler", address, "--store", str(tmp_path / "s"),
                        "--out", str(tmp_path / "o")])
    assert "scheduler" in err and repr(address) in err
    assert not (tmp_path / "s").exists() and not (tmp_path / "o").exists()


def test_unwritable_out_is_refused_before_any_simulation(capsys, tmp_path, userland):
    blocker = tmp_path / "a-file"
    blocker.write_text("mine")
    err = _bad(capsys, _sbc_args(tmp_path / "s", blocker / "out", 3)[1:])
    assert "cannot write output folder" in err
    sims = tmp_path / "s" / "sims.jsonl"
    assert not sims.exists() or sims.read_text() == "", "no simulation may run before exit 2"
    assert blocker.read_text() == "mine"


def test_store_of_another_run_is_refused_and_untouched(capsys, tmp_path):
    store = tmp_path / "s"
    RunStore(store).open(SBCConfig(case="polynomial"))
    (store / "sims.jsonl").write_text('{"index": 0, "ok": false, "error": "x"}\n')
    before = {p.name: p.read_bytes() for p in store.iterdir()}
    err = _bad(capsys, ["--case", "linear", "--store", str(store)])
    assert "belongs to a different run" in err and "polynomial" in err
    assert {p.name: p.read_bytes() for p in store.iterdir()} == before


@pytest.mark.parametrize(
    ("meta", "message"),
    [("{not json", "is corrupt"), (json.dumps({"format": 99}), "newer than this glmcheck reads")],
)
def test_corrupt_or_newer_store(capsys, tmp_path, meta, message):
    store = tmp_path / "s"
    store.mkdir()
    (store / "meta.json").write_text(meta)
    assert message in _bad(capsys, ["--store", str(store)])
    assert (store / "meta.json").read_text() == meta


@pytest.mark.parametrize(
    "meta",
    [
        {"format": "1"}, {"format": True}, {"format": float(FORMAT_VERSION)}, {"format": None},
        {}, [1], "text", {"format": FORMAT_VERSION},
        {"format": FORMAT_VERSION, "config": [], "versions": {}, "sources": {}},
        {"format": FORMAT_VERSION, "config": {}, "versions": "x", "sources": {}},
        {"format": FORMAT_VERSION, "config": {}, "versions": {}, "sources": 3},
    ],
)
def test_malformed_meta_is_refused_and_untouched(capsys, tmp_path, meta):
    store = tmp_path / "s"
    store.mkdir()
    (store / "meta.json").write_text(json.dumps(meta))
    err = _bad(capsys, ["--store", str(store)])
    assert "is corrupt" in err and "meta.json" in err
    assert (store / "meta.json").read_text() == json.dumps(meta)


def test_store_of_an_older_glmcheck_is_refused(capsys, tmp_path):
    """Format 1 stores did not record the code that made them: they cannot be resumed safely."""
    store = tmp_path / "s"
    RunStore(store).open(SBCConfig(case="linear"))
    meta = json.loads((store / "meta.json").read_text())
    old = {k: v for k, v in meta.items() if k != "sources"} | {"format": 1}
    (store / "meta.json").write_text(json.dumps(old))
    err = _bad(capsys, ["--case", "linear", "--seed", "0", "-n", "1", "--store", str(store)])
    assert "older glmcheck" in err


def test_corrupt_line_in_the_middle_of_a_store(capsys, tmp_path):
    store = tmp_path / "s"
    RunStore(store).open(SBCConfig(case="linear", seed=8927))
    (store / "sims.jsonl").write_text('garbage\n{"index": 1, "ok": false}\n')
    assert "sims.jsonl line 1" in _bad(capsys, ["--store", str(store)])


def test_folder_that_is_not_a_store(capsys, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    assert "is not an SBC store" in _bad(capsys, ["--store", str(tmp_path)])
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_unreachable_scheduler(capsys, tmp_path):
    err = _bad(capsys, ["-n", "2", "--scheduler", "tcp://127.0.0.1:9", "--store", str(tmp_path / "s"),
                        "--draws", "100", "--tune", "100", "--thin", "1"])
    assert "cannot reach the Dask scheduler" in err


def test_posterior_sbc_needs_an_exact_reference(capsys, tmp_path):
    err = _bad(capsys, ["--posterior", "--case", "poisson", "-n", "2", "--workers", "1",
                        "--store", str(tmp_path / "s")])
    assert "has none" in err


# -- the store's identity: code ----------------------------------------------------------------
def test_store_records_the_code_that_decides_a_simulation(tmp_path, userland):
    RunStore(tmp_path / "s").open(SBCConfig(case="planted:WIDE_NOISE"))
    sources = json.loads((tmp_path / "s" / "meta.json").read_text())["sources"]
    for module in ("planted", "glmcheck.cases.linear", "glmcheck.cases.base", "glmcheck.sbc",
                   "glmcheck.stats.sbc", "glmcheck.frontends", "glmcheck.fitters.nutpie",
                   "glmcheck.fitters.base"):
        assert module in sources, module


CASE_SOURCE = '''
from glmcheck.cases.linear import Linear


class Edited(Linear):
    name = "edited"
    coef_sd = {coef_sd}


CASE = Edited()
'''


def test_resume_refuses_a_store_made_by_other_case_code(tmp_path, monkeypatch, userland):
    module = tmp_path / "user" / "edited_case.py"
    module.parent.mkdir()
    module.write_text(CASE_SOURCE.format(coef_sd=10.0))
    monkeypatch.syspath_prepend(str(module.parent))
    config = _exact(case="edited_case:CASE")
    store = tmp_path / "s"
    try:
        assert run_sbc(config, 2, store).computed == 2
        assert run_sbc(config, 2, store).computed == 0  # same code: nothing recomputed
        module.write_text(CASE_SOURCE.format(coef_sd=5.0))
        before = (store / "sims.jsonl").read_bytes()
        with pytest.raises(UsageError) as info:
            run_sbc(config, 3, store)
        message = str(info.value)
        assert "edited_case" in message and "source" in message and "\n" not in message
        assert (store / "sims.jsonl").read_bytes() == before
    finally:
        sys.modules.pop("edited_case", None)


# -- one job over several configurations ------------------------------------------------------
FORKED = "sbc_planted:ForkedExactSampler"


def _job_args(stores, out, n, *configs, workers=2):
    args = ["sbc", "-n", str(n), "--workers", str(workers), "--chains", "2", "--tune", "0",
            "--draws", "1000", "--thin", "5", "--seed", "5", "--stores", str(stores),
            "--out", str(out), "--no-figures"]
    for option in configs:
        args += option
    return args


def test_several_configurations_run_as_one_job_with_one_store_each(tmp_path, userland, capsys):
    stores, out = tmp_path / "stores", tmp_path / "o"
    code = main(_job_args(stores, out, 12, ["-c", "linear,polynomial"], ["-s", EXACT],
                          ["-s", FORKED]))
    payload = _results(out)
    checks = payload["checks"]
    assert [c["subject"] for c in checks] == [
        f"{case} · pymc · {sampler}" for case in ("linear", "polynomial")
        for sampler in (EXACT, FORKED)]
    assert code == (EXIT_OK if all(c["passed"] for c in checks) else EXIT_FAILED)
    assert payload["computed"] == 48 and len(payload["request"]["configs"]) == 4
    assert sorted(p.name for p in stores.iterdir()) == [
        "linear-pymc-sbc_planted_ExactSampler-prior-s5",
        "linear-pymc-sbc_planted_ForkedExactSampler-prior-s5",
        "polynomial-pymc-sbc_planted_ExactSampler-prior-s5",
        "polynomial-pymc-sbc_planted_ForkedExactSampler-prior-s5"]
    # spawned and forked workers, and this process alone, give the same ranks
    runs = {}
    for sampler in (EXACT, FORKED):
        for case in ("linear", "polynomial"):
            store = stores / f"{case}-pymc-{sampler.replace(':', '_')}-prior-s5"
            records = RunStore(store).records()
            runs[case, sampler] = [records[i]["ranks"] for i in range(12)]
    for case in ("linear", "polynomial"):
        alone = run_sbc(_exact(case=case), 12, tmp_path / f"alone-{case}")
        assert runs[case, EXACT] == runs[case, FORKED] == _ranks(alone)
    # a later run of one configuration reuses its store
    capsys.readouterr()
    assert main(_job_args(stores, out, 12, ["-c", "polynomial"], ["-s", FORKED])) in (0, 1)
    assert "0 simulations computed, 12 reused" in capsys.readouterr().out.replace("\n", " ")


def test_all_is_every_case_with_both_frontends(tmp_path, userland):
    from glmcheck.cases import BUILTIN
    from glmcheck.cli import _sbc_configs, build_parser

    args = build_parser().parse_args(["sbc", "--all", "-s", "nutpie,pymc"])
    configs = _sbc_configs(args)
    assert len(configs) == len(BUILTIN) * 2 * 2
    assert {(c.case, c.frontend, c.sampler) for c in configs} == {
        (case, frontend, sampler) for case in BUILTIN for frontend in ("pymc", "bambi")
        for sampler in ("nutpie", "pymc")}


def test_a_model_that_does_not_build_stops_only_its_configuration(tmp_path, userland, capsys):
    stores, out = tmp_path / "stores", tmp_path / "o"
    code = main(_job_args(stores, out, 10, ["-c", "linear"], ["-s", FORKED],
                          ["-s", "sbc_planted:UnbuildableSampler"]))
    captured = capsys.readouterr()
    assert code == 3
    errors = [line for line in captured.err.splitlines() if line.startswith("glmcheck:")]
    assert len(errors) == 1 and "fit failed" in errors[0] and "does not compile" in errors[0]
    payload = _results(out)
    assert payload["exit_code"] == 3 and len(payload["errors"]) == 1
    assert [c["subject"] for c in payload["checks"]] == [f"linear · pymc · {FORKED}"]
    store = stores / "linear-pymc-sbc_planted_ForkedExactSampler-prior-s5"
    assert len(RunStore(store).records()) == 10


def test_a_worker_that_dies_is_an_internal_error_and_the_work_is_kept(tmp_path, userland,
                                                                        capsys):
    stores, out = tmp_path / "stores", tmp_path / "o"
    code = main(_job_args(stores, out, 30, ["-c", "linear"], ["-s", "sbc_planted:DyingSampler"]))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 4
    assert "worker process died (exit code 7)" in err[-1] and "resume" in err[-1]
    kept = RunStore(stores / "linear-pymc-sbc_planted_DyingSampler-prior-s5").records()
    assert 3 not in kept and all(r["ok"] for r in kept.values())


def test_store_of_one_configuration_with_several_is_refused(capsys, tmp_path, userland):
    err = _bad(capsys, ["-c", "linear,polynomial", "--store", str(tmp_path / "s"), "-n", "2"])
    assert "--store" in err and "--stores" in err
    assert not (tmp_path / "s").exists()


def _processes_mentioning(text: str) -> list[int]:
    """Live processes whose command line contains ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def test_killed_job_of_forked_workers_resumes_to_the_same_ranks(tmp_path, userland, capsys):
    n = 40
    stores, out = tmp_path / "stores", tmp_path / "o"
    args = _job_args(stores, out, n, ["-c", "linear,polynomial"], ["-s", FORKED])
    proc = subprocess.Popen([sys.executable, "-m", "glmcheck", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = stores / "linear-pymc-sbc_planted_ForkedExactSampler-prior-s5" / "sims.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline:
        if first.exists() and first.read_text().count("\n") >= 10:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    stored = first.read_text().split("\n")[:-1]
    assert 10 <= len(stored) < n, "the job must be killed part way"
    # its workers notice and leave: none keeps waiting for tasks
    deadline = time.time() + 20
    while _processes_mentioning(str(stores)) and time.time() < deadline:
        time.sleep(0.1)
    assert not _processes_mentioning(str(stores)), "a killed job's workers must exit"
    capsys.readouterr()
    main(args)
    assert f"{2 * n - len(stored)} simulations computed" in capsys.readouterr().out
    for case in ("linear", "polynomial"):
        records = RunStore(stores / f"{case}-pymc-sbc_planted_ForkedExactSampler-prior-s5").records()
        reference = run_sbc(_exact(case=case), n, tmp_path / f"ref-{case}")
        assert [records[i]["ranks"] for i in range(n)] == _ranks(reference)


def test_dask_runs_a_job_of_several_configurations_like_local_processes(tmp_path, userland):
    require_modules("distributed")
    from glmcheck.sbc import run_many

    configs = [_exact(case="linear"), _exact(case="polynomial")]
    local = run_many(configs, 10, [tmp_path / "l1", tmp_path / "l2"], workers=2)
    remote = run_many(configs, 10, [tmp_path / "d1", tmp_path / "d2"], workers=2,
                      scheduler="local")
    assert remote.computed == 20 and remote.startup is not None
    for a, b in zip(local.outcomes, remote.outcomes):
        assert _ranks(a.run) == _ranks(b.run)


# -- sequential SBC ----------------------------------------------------------------------------
def test_sequential_stops_a_wrong_sampler_at_the_first_look(tmp_path, userland, capsys):
    """3 posterior sds off: the first look (10 of 40) fails at alpha/3 whatever the seed; the
    exact sampler fails a look with probability at most alpha = 1e-4."""
    stores, out = tmp_path / "stores", tmp_path / "o"
    code = main(_job_args(stores, out, 40, ["-c", "linear"], ["-s", FORKED],
                          ["-s", "sbc_planted:ShiftedSampler"], ["--sequential"],
                          ["--alpha", "1e-4"]))
    assert code == EXIT_FAILED
    payload = _results(out)
    right, wrong = payload["checks"]
    assert right["passed"] and right["details"]["simulations"] == 40
    assert not wrong["passed"] and "stopped at 10 of 40 simulations" in wrong["message"]
    assert wrong["details"]["simulations"] == 10
    assert wrong["threshold"]["looks"] == [10, 20, 40] and wrong["threshold"]["stopped_at"] == 10
    # what was stopped was not computed (only what workers held when it stopped)
    assert 50 <= payload["computed"] <= 60 and payload["request"]["looks"] == [10, 20, 40]
    # a rerun decides from the store alone
    capsys.readouterr()
    main(_job_args(stores, out, 40, ["-c", "linear"], ["-s", "sbc_planted:ShiftedSampler"],
                   ["--sequential"], ["--alpha", "1e-4"]))
    assert "0 simulations computed, 10 reused" in capsys.readouterr().out.replace("\n", " ")


def test_a_sequential_verdict_is_the_verdict_on_all_simulations_at_alpha_over_looks(
        tmp_path, userland):
    from glmcheck.sbc import run_many, sequential_looks

    looks = sequential_looks(40)
    assert looks == (10, 20, 40)
    # alpha 1e-4: the exact sampler stops at a look with probability at most 1e-4
    job = run_many([_exact()], 40, [tmp_path / "s"], looks=looks, alpha=1e-4)
    run = job.outcomes[0].run
    assert run.stopped_at is None and len(run.records) == 40 and run.reused == 0
    sequential, _ = analyse(run, alpha=1e-4)
    plain, _ = analyse(run_sbc(_exact(), 40, tmp_path / "s"), alpha=1e-4 / 3)
    assert sequential.passed == plain.passed
    assert [r["ecdf_p"] for r in sequential.rows] == [r["ecdf_p"] for r in plain.rows]
    assert sequential.threshold["alpha"] == 1e-4 and "alpha=0.0001/3" in sequential.threshold["rule"]


@pytest.mark.parametrize("looks", [(5, 30), (0, 40), (10, 50)])
def test_bad_looks_are_refused(tmp_path, looks):
    from glmcheck.sbc import run_many

    with pytest.raises(UsageError, match="looks"):
        run_many([_exact()], 40, [tmp_path / "s"], looks=looks)


def test_sequential_on_dask_stops_the_same_way_and_cancels_the_rest(tmp_path, userland):
    require_modules("distributed")
    from glmcheck.sbc import run_many, sequential_looks

    wrong = _exact(sampler="sbc_planted:ShiftedSampler")
    job = run_many([wrong, _exact()], 40, [tmp_path / "w", tmp_path / "r"], workers=2,
                   scheduler="local", looks=sequential_looks(40), alpha=1e-4)
    stopped, right = (o.run for o in job.outcomes)
    assert stopped.stopped_at == 10 and len(stopped.records) == 10
    assert right.stopped_at is None and len(right.records) == 40
    # tasks of the stopped configuration that finished before the cancel are kept, not used
    assert 50 <= job.computed <= 80 and stopped.computed >= 10
