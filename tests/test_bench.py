"""glmcheck bench: the comparison rule (synthetic records, no fitting), the files a benchmark
writes, and two environments interleaved in one run."""

import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glmcheck.bench import (
    ALPHA, BY_KEY, FACTOR, REPEATS, compare_bench, judge, min_p, pytest_benchmark_json,
)
from glmcheck.bench import bench_body
from glmcheck.cli import main
from glmcheck.errors import UsageError
from glmcheck.record import load_record, new_record, write_record

SETTINGS = {"chains": 2, "tune": 1000, "draws": 1000, "target_accept": 0.8}


def _runs(rng, n, *, fit=0.065, ess_per_grad=0.06, slow=1.0, ess_loss=1.0, seed0=8927):
    """n repeats with the noise measured on linear · nutpie (fit time CV 5 %, ESS/grad 11 %)."""
    out = []
    for k in range(n):
        fit_s = fit * slow * rng.lognormal(0, 0.05)
        grads = 2000 * 5.1 * rng.lognormal(0, 0.02)
        epg = ess_per_grad * ess_loss * rng.lognormal(0, 0.11)
        ess = epg * grads
        out.append({"repeat": k, "seed": seed0 + k, "warmup_s": None, "sampling_s": None,
                    "fit_s": fit_s, "ess_bulk": ess, "ess_tail": ess * 1.1, "ess_per_s": None,
                    "ess_per_s_total": ess / fit_s, "ess_per_grad": epg,
                    "grad_per_draw": grads / 2000, "us_per_grad": None, "divergences": 0})
    return out


def bench_record(rng, *, n=REPEATS, cases=("linear",), settings_=SETTINGS, window=None, **plant):
    configs = [{"case": case, "frontend": frontend, "sampler": "nutpie", "route": "compiled",
                "asked": dict(settings_), "settings": dict(settings_), "compile_s": 7.0,
                "failure": None, "runs": _runs(rng, n, **plant)}
               for case in cases for frontend in ("pymc", "bambi")]
    request = {"cases": list(cases), "frontends": ["pymc", "bambi"], "samplers": ["nutpie"],
               "routes": ["compiled"], "repeats": n, "seed": 8927, "settings": dict(settings_),
               "explicit": [], "env": None}
    return new_record("bench", request, bench=bench_body(configs, [], window), exit_code=0)


def _statuses(comparison, metric):
    return {c.status for c in comparison.changes if c.metric == metric}


# -- the rule ---------------------------------------------------------------------------------
def test_min_p_is_the_exact_mann_whitney_floor():
    from scipy import stats

    assert min_p(10, 10) == pytest.approx(2 / 184756)
    a, b = np.arange(6.0), np.arange(6.0) + 100
    assert stats.mannwhitneyu(a, b, method="exact").pvalue == pytest.approx(min_p(6, 6))
    # the default repeats can reach the default alpha; 6 per side cannot
    assert min_p(REPEATS, REPEATS) < ALPHA < min_p(6, 6)


def test_a_25_percent_slowdown_and_ess_loss_are_regressions():
    rng = np.random.default_rng(1)
    c = compare_bench(bench_record(rng, window="w"),
                      bench_record(rng, slow=1.25, ess_loss=0.75, window="w"))
    assert c.times_judged
    assert _statuses(c, "fit_s") == {"regressed"}
    assert _statuses(c, "ess_per_grad") == {"regressed"}
    assert c.exit_code == 1
    change = next(ch for ch in c.changes if ch.metric == "fit_s")
    assert change.low < change.ratio < change.high
    assert 1.1 < change.ratio < 1.45


def test_times_are_judged_only_within_one_time_window():
    """Separate runs: the machine drifts between them, so only ESS per gradient and gradients
    per draw are judged; --judge-times judges times anyway."""
    rng = np.random.default_rng(9)
    a, b = bench_record(rng), bench_record(rng, slow=1.5, ess_loss=0.75)
    c = compare_bench(a, b)
    assert not c.times_judged
    assert _statuses(c, "fit_s") == {"not judged"}
    assert _statuses(c, "ess_per_grad") == {"regressed"}
    assert _statuses(compare_bench(a, b, judge_times=True), "fit_s") == {"regressed"}


def test_the_same_stack_twice_flags_nothing_and_improvements_do_not_fail():
    rng = np.random.default_rng(2)
    same = compare_bench(bench_record(rng, window="w"), bench_record(rng, window="w"))
    assert not same.regressions and same.exit_code == 0
    faster = compare_bench(bench_record(rng, window="v"), bench_record(rng, slow=0.7, window="v"))
    assert _statuses(faster, "fit_s") == {"improved"} and faster.exit_code == 0


def test_a_change_within_the_factor_is_never_flagged_however_significant():
    a = np.full(10, 1.0) + np.linspace(0, 1e-3, 10)
    change = judge(BY_KEY["fit_s"], a, a * 1.05, factor=FACTOR, alpha=ALPHA, label="x")
    assert change.p < 1e-3 and change.status == "no change"


def test_a_change_beyond_the_factor_without_significance_is_reported_as_such():
    a = np.array([1.0, 1.5, 0.7, 1.2, 0.9, 1.4, 0.8, 1.1, 1.3, 0.6])
    b = a[::-1] * 1.2  # the same spread, 20 % slower: not significant over this noise
    change = judge(BY_KEY["fit_s"], a, b, factor=FACTOR, alpha=ALPHA, label="x")
    assert change.status == "not significant"


def test_higher_is_better_metrics_regress_when_they_fall():
    a = np.linspace(0.06, 0.061, 10)
    assert judge(BY_KEY["ess_per_grad"], a, a * 0.7, factor=FACTOR, alpha=ALPHA,
                 label="x").status == "regressed"
    assert judge(BY_KEY["ess_per_grad"], a, a * 1.4, factor=FACTOR, alpha=ALPHA,
                 label="x").status == "improved"


def test_a_metric_a_side_lacks_is_not_available_and_shown_metrics_are_not_judged():
    a = np.linspace(1, 2, 10)
    assert judge(BY_KEY["sampling_s"], None, a, factor=FACTOR, alpha=ALPHA,
                 label="x").status == "n/a"
    assert judge(BY_KEY["ess_bulk"], a, a * 0.5, factor=FACTOR, alpha=ALPHA,
                 label="x").status == "not judged"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.01, 10), min_size=2, max_size=12),
       st.lists(st.floats(0.01, 10), min_size=2, max_size=12))
def test_swapping_the_sides_swaps_regression_and_improvement(a, b):
    a, b = np.asarray(a), np.asarray(b)
    forward = judge(BY_KEY["fit_s"], a, b, factor=FACTOR, alpha=0.05, label="x")
    back = judge(BY_KEY["fit_s"], b, a, factor=FACTOR, alpha=0.05, label="x")
    swap = {"regressed": "improved", "improved": "regressed"}
    assert back.status == swap.get(forward.status, forward.status)
    if forward.status in swap:  # flagged: beyond the factor and significant
        assert max(forward.ratio, 1 / forward.ratio) > FACTOR and forward.p < 0.05


# -- bad input --------------------------------------------------------------------------------
def test_too_few_repeats_to_reach_alpha_is_refused_not_passed():
    rng = np.random.default_rng(3)
    with pytest.raises(UsageError, match=r"cannot go below p = 0\.1.*--repeats 7"):
        compare_bench(bench_record(rng, n=3), bench_record(rng, n=3))


def test_different_cases_or_settings_are_refused():
    rng = np.random.default_rng(4)
    with pytest.raises(UsageError, match="share no case"):
        compare_bench(bench_record(rng), bench_record(rng, cases=("logistic",)))
    other = {**SETTINGS, "draws": 500}
    with pytest.raises(UsageError, match="different settings"):
        compare_bench(bench_record(rng), bench_record(rng, settings_=other))


def test_a_record_that_is_not_a_benchmark_is_refused():
    rng = np.random.default_rng(5)
    check = new_record("check", {}, exit_code=0)
    with pytest.raises(UsageError, match="not a benchmark"):
        compare_bench(bench_record(rng), check)


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_text("{not json"), "truncated or not JSON"),
    (lambda p: p.write_text(json.dumps({"benchmarks": []})), "not a glmcheck run record"),
    (lambda p: write_record(p, new_record("check", {}, exit_code=0)), "not a benchmark"),
])
def test_cli_compare_bad_files_are_one_line_exit_2(capsys, tmp_path, make, message):
    good = tmp_path / "a.json"
    write_record(good, bench_record(np.random.default_rng(6)))
    bad = tmp_path / "b.json"
    make(bad)
    assert main(["bench", "compare", str(good), str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err


@pytest.mark.parametrize("argv, message", [
    (["--sampler", "nope"], "unknown sampler 'nope'"),
    (["--case", "nope"], "unknown case"),
    (["--repeats", "0"], "repeats >= 1"),
    (["--env", "self", "--env", "self", "--env", "self"], "not 3"),
    (["--env", "self", "--env", "self", "--repeats", "4"], "cannot go below"),
    (["--factor", "0.9"], "--factor > 1"),
    (["--processes", "2"], "with --env"),
    (["--env", "no/such/python"], "no/such/python"),
])
def test_cli_bench_bad_input_is_one_line_exit_2_before_work(capsys, tmp_path, argv, message):
    assert main(["bench", *argv, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err
    assert not (tmp_path / "o").exists()


# -- files and renderings ---------------------------------------------------------------------
def test_cli_compare_writes_a_record_and_markdown_and_exits_1_on_regression(capsys, tmp_path):
    rng = np.random.default_rng(7)
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    write_record(a, bench_record(rng))
    write_record(b, bench_record(rng, slow=1.25))
    md = tmp_path / "comment.markdown"
    code = main(["bench", "compare", str(a), str(b), "--out", str(tmp_path / "o"),
                 "--markdown", str(md)])
    assert code == 0  # separate runs: times are not judged
    code = main(["bench", "compare", str(a), str(b), "--out", str(tmp_path / "o"),
                 "--markdown", str(md), "--judge-times"])
    assert code == 1
    text = md.read_text()
    assert "regressed" in text and "fit s" in text and "python" in text
    record = load_record(tmp_path / "o" / "run-002" / "record.json")
    assert record["kind"] == "compare" and record["exit_code"] == 1
    assert any(c["status"] == "regressed" for c in record["bench_comparison"]["changes"])


def test_pytest_benchmark_compare_loads_our_json(tmp_path):
    record = bench_record(np.random.default_rng(8))
    path = tmp_path / "0001_glmcheck.json"
    path.write_text(json.dumps(pytest_benchmark_json(record)))
    out = subprocess.run(
        [sys.executable, "-m", "pytest_benchmark", "compare", str(path), "--columns=min,median"],
        capture_output=True, text=True, check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "test_refit[linear-pymc-nutpie]" in out.stdout


# -- real fits --------------------------------------------------------------------------------
TINY = ["--chains", "1", "--tune", "100", "--draws", "100", "-f", "pymc", "--min-time", "0"]


@pytest.mark.slow
def test_cli_bench_writes_record_pytest_benchmark_json_and_figure(capsys, tmp_path):
    code = main(["bench", *TINY, "-n", "2", "--out", str(tmp_path)])
    assert code == 0
    run = tmp_path / "run-001"
    record = load_record(run / "results.json")
    (config,) = record["bench"]["configs"]
    assert len(config["runs"]) == 2 and config["compile_s"] > 0
    assert all(r["fit_s"] > 0 and r["ess_per_grad"] > 0 for r in config["runs"])
    assert set(record["files"]) == {"benchmark.json", "bench.png"}
    assert json.loads((run / "benchmark.json").read_text())["benchmarks"][0]["stats"]["rounds"] == 2
    out = capsys.readouterr().out
    assert "the same on any machine" in out and "ESS/grad" in out


@pytest.mark.slow
def test_two_environments_interleaved_in_one_run(capsys, tmp_path):
    """Two processes per side (all this interpreter) take turns A B B A; each side's record
    names the order, and their comparison is the run's record. --factor 10: nothing can be flagged, so
    the exit code is 0 whatever the machine's noise."""
    code = main(["bench", *TINY, "-n", "4", "--alpha", "0.2", "--factor", "10", "--processes",
                 "2", "--env", "self", "--env", "self", "--out", str(tmp_path)])
    assert code == 0, capsys.readouterr().err
    run = tmp_path / "run-001"
    a, b = (load_record(run / side / "results.json") for side in "AB")
    order = a["bench"]["order"]
    assert [o[2] for o in order] == [0, 0, 1, 1, 2, 2, 3, 3]
    assert [o[3] for o in order] == [0, 0, 1, 1, 0, 0, 1, 1]  # repeat k in process k mod 2
    assert [o[0] for o in order] == ["A", "B", "B", "A", "A", "B", "B", "A"]
    (config,) = a["bench"]["configs"]
    assert [r["process"] for r in config["runs"]] == [0, 1, 0, 1]
    assert len(config["compile_s_processes"]) == 2
    assert a["bench"]["order"] == b["bench"]["order"]
    assert a["bench"]["window"] == b["bench"]["window"]  # one time window: times are judged
    assert a["environment"]["python"] == b["environment"]["python"]
    compared = load_record(run / "record.json")
    assert compared["kind"] == "compare" and compared["request"]["interleaved"]
    assert compared["bench_comparison"]["times_judged"]
    # identical seeds and stack: the machine-independent metrics agree exactly
    ra, rb = a["bench"]["configs"][0]["runs"], b["bench"]["configs"][0]["runs"]
    assert [r["grad_per_draw"] for r in ra] == [r["grad_per_draw"] for r in rb]


def test_glmcheck_compare_sends_benchmarks_to_bench_compare(capsys, tmp_path):
    path = tmp_path / "a.json"
    write_record(path, bench_record(np.random.default_rng(10)))
    assert main(["compare", str(path), str(path), "--out", str(tmp_path / "o")]) == 2
    assert "glmcheck bench compare" in capsys.readouterr().err


def test_an_environment_that_cannot_run_glmcheck_is_one_line_exit_2(capsys, tmp_path):
    python = tmp_path / "python"
    python.write_text("#!/bin/sh\necho \"No module named glmcheck\" >&2\nexit 1\n")
    python.chmod(0o755)
    out = tmp_path / "o"
    assert main(["bench", "--env", str(python), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("glmcheck: error: ")  # one line, after the progress lines
    assert "cannot run a glmcheck benchmark worker" in err[-1]
    assert "No module named glmcheck" in err[-1]
    assert not any(out.glob("run-*"))  # no empty run folder left behind
