"""SBC end to end: calibrated models pass, planted errors fail, runs resume and scale out."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from glmcheck.cli import EXIT_USAGE, main
from glmcheck.sbc import SBCConfig, analyse, run_sbc

USERLAND = Path(__file__).parent / "userland"
#: SBC fits: 2 chains × (500 warm-up + 1000 draws), thin 10 -> L = 200 ranked draws
SMALL = dict(chains=2, tune=500, draws=1000, thin=10)


@pytest.fixture
def userland(monkeypatch):
    monkeypatch.syspath_prepend(str(USERLAND))
    monkeypatch.setenv("PYTHONPATH", str(USERLAND))


def _ranks(run):
    return [r.get("ranks") for r in run.records]


@pytest.mark.slow
def test_calibrated_model_passes(tmp_path):
    run = run_sbc(SBCConfig(case="linear", seed=11, **SMALL), 100, tmp_path / "s")
    result, bands = analyse(run)
    assert result.passed, result.message
    assert {row["quantity"] for row in result.rows} == {"Intercept", "slope", "sigma", "loglik"}
    assert result.details["failed"] == 0


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
    result, _ = analyse(run)
    assert result.check == "posterior-sbc"
    assert result.passed, result.message


def _sbc_command(store, out, n):
    return [sys.executable, "-m", "glmcheck", "sbc", "-n", str(n), "--workers", "1",
            "--chains", "2", "--tune", "500", "--draws", "1000", "--thin", "10", "--seed", "5",
            "--store", str(store), "--out", str(out)]


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_ranks(tmp_path):
    n = 40
    reference = subprocess.run(_sbc_command(tmp_path / "ref", tmp_path / "o", n),
                               capture_output=True, text=True)
    assert reference.returncode in (0, 1), reference.stderr
    store = tmp_path / "killed"
    proc = subprocess.Popen(_sbc_command(store, tmp_path / "o", n),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sims = store / "sims.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline:
        if sims.exists() and sims.read_text().count("\n") >= 10:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = sims.read_text().count("\n")
    assert 10 <= done_before < n, "the run must be killed part way"
    resumed = subprocess.run(_sbc_command(store, tmp_path / "o", n), capture_output=True, text=True)
    assert resumed.returncode in (0, 1), resumed.stderr
    assert f"{n - done_before} simulations computed" in resumed.stdout.replace("\n", " ")

    def ranks(path):
        records = {}
        for line in (path / "sims.jsonl").read_text().splitlines():
            record = json.loads(line)
            records.setdefault(record["index"], record.get("ranks"))
        return [records[i] for i in range(n)]

    assert ranks(store) == ranks(tmp_path / "ref")
    again = subprocess.run(_sbc_command(store, tmp_path / "o", n), capture_output=True, text=True)
    assert "0 simulations computed" in again.stdout


@pytest.mark.slow
def test_dask_cluster_gives_the_same_ranks_as_local(tmp_path):
    distributed = pytest.importorskip("distributed") if not os.environ.get("GLMCHECK_REQUIRE_ALL") else __import__("distributed")
    config = SBCConfig(case="linear", seed=21, **SMALL)
    local = run_sbc(config, 12, tmp_path / "local")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        remote = run_sbc(config, 12, tmp_path / "dask", scheduler=cluster.scheduler_address)
    assert remote.computed == 12
    assert _ranks(remote) == _ranks(local)


def _bad(capsys, args):
    code = main(["sbc", *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == EXIT_USAGE
    assert err and err[-1].startswith("glmcheck: error: ")
    return err[-1]


def test_bad_simulation_counts(capsys, tmp_path):
    for n in ("0", "-3"):
        assert "expected simulations >= 1" in _bad(capsys, ["-n", n, "--store", str(tmp_path / "s")])
    assert not (tmp_path / "s").exists()


def test_store_of_another_run_is_refused_and_untouched(capsys, tmp_path):
    store = tmp_path / "s"
    from glmcheck.sbc import RunStore

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


def test_corrupt_line_in_the_middle_of_a_store(capsys, tmp_path):
    store = tmp_path / "s"
    from glmcheck.sbc import RunStore

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
