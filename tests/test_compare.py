"""``glmcheck compare A B``: two run records side by side. Fast: no sampling.

The fixtures under tests/data/compare are real records of
``glmcheck check --case linear --sampler nutpie --check convergence,exact --coverage-sets 0``
on the current and the previous stack (seed 8927), with the per-fit and per-check copies of
the version table removed (the comparison reads ``environment.versions``).
"""

import copy
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glmcheck.cli import main
from glmcheck.comparison import compare_records, to_markdown, to_text
from glmcheck.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError
from glmcheck.record import load_record, new_record, write_record

DATA = Path(__file__).parent / "data" / "compare"


@pytest.fixture(scope="module")
def _fixture_records():
    return load_record(DATA / "previous.json"), load_record(DATA / "current.json")


@pytest.fixture
def previous(_fixture_records):
    return copy.deepcopy(_fixture_records[0])


@pytest.fixture
def current(_fixture_records):
    return copy.deepcopy(_fixture_records[1])


def _fit(record, frontend="pymc"):
    return next(f for f in record["fits"] if f["frontend"] == frontend and "params" in f)


def _param(fit, name):
    return next(p for p in fit["params"] if p["name"] == name)


def _write(tmp_path, name, record):
    path = tmp_path / name / "results.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_record(path, record)
    return path


# -- the verdict ------------------------------------------------------------------------------
def test_a_record_compared_with_itself_flags_nothing(previous):
    c = compare_records(previous, copy.deepcopy(previous))
    assert c.exit_code == EXIT_OK
    assert c.n_compared == 6 and not c.flagged and not c.not_comparable
    assert all(s.z == 0 for s in c.shifts) and not c.versions
    assert [x.change for x in c.checks] == ["pass"] * 4
    assert to_markdown(c).startswith(
        "**glmcheck compare**: 0 posterior shifts, 0 new check failures, 0 new failed fits; "
        "same versions\n")


def test_previous_against_current_stack(previous, current):
    c = compare_records(previous, current, alpha=0.01)
    assert c.exit_code == EXIT_OK, to_text(c)
    assert c.n_compared == 6 and c.threshold == pytest.approx(3.144, abs=1e-3)
    changed = {v.name: (v.a, v.b) for v in c.versions}
    assert changed["pymc"] == ("5.28.5", "6.4.0") and changed["arviz"] == ("0.23.4", "1.3.0")
    assert "formulae" not in changed, "only versions that differ are listed"
    md = to_markdown(c)
    assert md.splitlines()[0] == (
        "**glmcheck compare**: 0 posterior shifts, 0 new check failures, 0 new failed fits; "
        "pymc 5.28.5 → 6.4.0, bambi 0.17.2 → 0.21.0, arviz 0.23.4 → 1.3.0 (+12 more)")
    assert "| pymc | 5.28.5 | 6.4.0 |" in md
    # information only, straight from the records
    pair = c.fits[0]
    assert pair.fit == "linear · pymc · nutpie"
    assert pair.divergences_a == 0 and pair.divergences_b == 0
    assert pair.ratio("fit_s") == pytest.approx(
        _fit(current)["timing"]["fit_s"] / _fit(previous)["timing"]["fit_s"])
    assert pair.grad_per_draw_b == _fit(current)["behaviour"]["grad_per_draw"]


def test_a_mean_shifted_by_10_mcse_is_flagged_and_named(previous):
    after = copy.deepcopy(previous)
    p_a = _param(_fit(previous), "slope")
    p_b = _param(_fit(after), "slope")
    p_b["mean"] += 10 * math.hypot(p_a["mcse_mean"], p_b["mcse_mean"])
    c = compare_records(previous, after)
    assert c.exit_code == EXIT_FAILED
    [s] = c.flagged
    assert (s.fit, s.name) == ("linear · pymc · nutpie", "slope")
    assert s.z == pytest.approx(10)
    shift_sd = (p_b["mean"] - p_a["mean"]) / p_a["sd"]
    assert s.shift_sd == pytest.approx(shift_sd)
    md = to_markdown(c)
    assert md.startswith("**glmcheck compare**: 1 posterior shift, ")
    row = next(line for line in md.splitlines() if "| slope |" in line and "SHIFTED" in line)
    assert "+10.00" in row and f"{shift_sd:+.2f}" in row
    assert "SHIFTED" in to_text(c)


def test_a_small_shift_is_not_flagged(previous):
    after = copy.deepcopy(previous)
    p = _param(_fit(after), "slope")
    p["mean"] += 2 * math.sqrt(2) * p["mcse_mean"]  # z = 2 < 3.14
    c = compare_records(previous, after)
    assert c.exit_code == EXIT_OK and not c.flagged
    assert max(abs(s.z) for s in c.shifts) == pytest.approx(2)


def test_a_check_that_passed_and_now_fails_is_a_regression(previous):
    after = copy.deepcopy(previous)
    check = after["checks"][1]
    check["passed"], check["message"] = False, "2 of 15 statistics disagree"
    c = compare_records(previous, after)
    assert c.exit_code == EXIT_FAILED
    [x] = c.new_check_failures
    assert (x.check, x.subject, x.change) == ("exact", "linear · pymc · nutpie", "pass→fail")
    md = to_markdown(c)
    assert "1 new check failure," in md.splitlines()[0]
    assert "| exact | linear · pymc · nutpie | PASS | FAIL | 2 of 15 statistics disagree |" in md
    # and the other way round it is good news, not a regression
    back = compare_records(after, previous)
    assert back.exit_code == EXIT_OK and back.checks[1].change == "fail→pass"


def test_a_fit_that_failed_only_in_b_is_a_regression(previous):
    after = copy.deepcopy(previous)
    after["fits"][0] = {"case": "linear", "frontend": "pymc", "sampler": "nutpie",
                        "route": "compiled", "status": "failed", "stage": "sample",
                        "error": "nutpie raised ValueError: | bad <thing>"}
    after["checks"] = [c for c in after["checks"] if c["frontends"] != ["pymc"]]
    c = compare_records(previous, after)
    assert c.exit_code == EXIT_FAILED
    [f] = c.new_failed_fits
    assert (f.fit, f.side, f.stage) == ("linear · pymc · nutpie", "B", "sample")
    assert {x.change for x in c.checks if "pymc" in x.subject} == {"only in A"}
    md = to_markdown(c)
    assert "1 new failed fit;" in md.splitlines()[0]
    assert "nutpie raised ValueError: \\| bad &lt;thing&gt;" in md  # a table cell stays one
    assert "worked in A, failed in B" in md
    # fixed in B: shown, exit 0
    back = compare_records(after, previous)
    assert back.exit_code == EXIT_OK and [f.status for f in back.failed_fits] == ["fixed"]
    # failed in both: still failing, not new
    both = compare_records(after, copy.deepcopy(after))
    assert both.exit_code == EXIT_OK and [f.status for f in both.failed_fits] == ["still failing"]


def test_a_failed_coverage_refit_is_new_only_where_a_checked_coverage(previous):
    failure = {"case": "linear", "frontend": "pymc", "sampler": "nutpie", "status": "failed",
               "stage": "coverage data set 3", "error": "boom"}
    after = copy.deepcopy(previous)
    after["fits"].append(failure)
    c = compare_records(previous, after)  # A never ran coverage: nothing to regress from
    assert c.exit_code == EXIT_OK and c.failed_fits[0].status == "only in B"
    before = copy.deepcopy(previous)
    before["checks"].append({"check": "coverage", "case": "linear", "frontends": ["pymc"],
                             "samplers": ["nutpie"], "passed": True, "message": "ok",
                             "subject": "linear · pymc · nutpie"})
    c = compare_records(before, after)
    assert c.exit_code == EXIT_FAILED and c.failed_fits[0].status == "new"


def test_differing_versions_and_machines_are_listed(previous):
    after = copy.deepcopy(previous)
    after["environment"]["versions"]["pymc"] = "6.4.0"
    after["environment"]["versions"]["nutpie"] = None
    after["environment"]["cpu_model"] = "Another CPU"
    c = compare_records(previous, after)
    assert [(v.name, v.a, v.b) for v in c.versions] == [
        ("pymc", "5.28.5", "6.4.0"), ("nutpie", "0.16.8", "not installed"),
        ("cpu_model", "AMD EPYC", "Another CPU")]
    assert any("different CPUs" in n for n in c.notes)
    assert to_markdown(c).splitlines()[0].endswith("; pymc 5.28.5 → 6.4.0, nutpie 0.16.8 → "
                                                   "not installed (+1 more)")


# -- not comparable is never a pass ----------------------------------------------------------
def test_a_nan_mcse_is_not_comparable(previous):
    after = copy.deepcopy(previous)
    _param(_fit(after), "slope")["mcse_mean"] = None  # NaN, as json_safe writes it
    c = compare_records(previous, after)
    [s] = c.not_comparable
    assert s.name == "slope" and not s.flagged and math.isnan(s.z)
    assert "MCSE missing or NaN in B" in s.reason
    assert c.n_compared == 5
    md = to_markdown(c)
    assert "1 not comparable" in md.splitlines()[0]
    assert "| slope |" in md and "not comparable: MCSE missing or NaN in B" in md


def test_only_non_comparable_means_and_no_check_is_nothing_to_compare(previous):
    after = copy.deepcopy(previous)
    for fit in after["fits"]:
        for p in fit["params"]:
            p["mcse_mean"] = None
    after["checks"] = []
    with pytest.raises(UsageError, match="nothing to compare: the 2 fit"):
        compare_records(previous, after)


def test_a_parameter_in_one_record_only_is_not_comparable(previous):
    after = copy.deepcopy(previous)
    _param(_fit(after), "slope")["name"] = "x"
    c = compare_records(previous, after)
    assert {(s.name, s.reason) for s in c.not_comparable} == {("slope", "only in A"),
                                                             ("x", "only in B")}


def test_records_that_share_no_fit_and_no_check(previous):
    after = copy.deepcopy(previous)
    for fit in after["fits"]:
        fit["case"] = "logistic"
    after["checks"] = []
    with pytest.raises(UsageError, match="share no fit and no check") as info:
        compare_records(previous, after)
    assert "\n" not in str(info.value)


def test_records_from_before_routes_and_behaviour(previous, current):
    for fit in current["fits"]:
        fit.pop("route"), fit.pop("behaviour")
    c = compare_records(previous, current)
    assert len(c.fits) == 2 and c.n_compared == 6, "a missing route is the compiled route"
    pair = c.fits[0]
    assert pair.divergences_b == 0, "the fit's own divergence count is still read"
    assert pair.grad_per_draw_b is None and pair.ratio("grad_per_draw") is None
    row = next(line for line in to_markdown(c).splitlines()
               if line.startswith("| linear · pymc · nutpie | 0 → 0 |"))
    assert row.count("→ —") == 4, row  # grad/draw, ESS/grad, step size, tree depth: n/a


def test_fits_match_on_route_and_settings_changes_are_noted(previous):
    after = copy.deepcopy(previous)
    _fit(after)["route"] = "public"
    _fit(after, "bambi")["settings"]["draws"] = 2000
    c = compare_records(previous, after)
    assert c.only_a == ["linear · pymc · nutpie"] and c.only_b == ["linear · pymc · nutpie · public"]
    assert [p.fit for p in c.fits] == ["linear · bambi · nutpie"]
    assert "linear · bambi · nutpie ran with different settings: draws 1000 → 2000" in c.notes
    md = to_markdown(c)
    assert "- only in B: linear · pymc · nutpie · public" in md


def test_alpha_must_be_a_rate(previous):
    with pytest.raises(UsageError, match="0 < alpha < 1"):
        compare_records(previous, previous, alpha=0)


# -- the command ------------------------------------------------------------------------------
def test_cli_writes_its_record_and_markdown(capsys, tmp_path, previous, current):
    a, b = _write(tmp_path, "a", previous), _write(tmp_path, "b", current)
    md = tmp_path / "comment.markdown"
    code = main(["compare", str(a.parent), str(b), "--out", str(tmp_path / "out"),
                 "--markdown", str(md)])
    out = capsys.readouterr()
    assert code == EXIT_OK, out.err
    assert "posterior shifts" in out.out and "pymc" in out.out
    assert md.read_text().startswith("**glmcheck compare**: 0 posterior shifts")
    record = load_record(tmp_path / "out" / "run-001" / "record.json")
    assert record["kind"] == "compare" and record["exit_code"] == EXIT_OK
    assert record["request"] == {"a": str(a.resolve()), "b": str(b.resolve()), "alpha": 0.01}
    assert record["comparison"]["n_compared"] == 6
    assert record["comparison"]["summary"]["flagged_shifts"] == 0


def test_cli_markdown_to_stdout_and_exit_1(capsys, tmp_path, previous):
    after = copy.deepcopy(previous)
    _param(_fit(after, "bambi"), "sigma")["mean"] += 1.0
    a, b = _write(tmp_path, "a", previous), _write(tmp_path, "b", after)
    code = main(["compare", str(a), str(b), "--out", str(tmp_path / "out"), "--markdown", "-"])
    out = capsys.readouterr()
    assert code == EXIT_FAILED
    assert out.out.startswith("**glmcheck compare**: 1 posterior shift,")
    assert "record:" in out.err and "record:" not in out.out
    record = json.loads((tmp_path / "out" / "run-001" / "record.json").read_text())
    assert record["exit_code"] == EXIT_FAILED
    [row] = [s for s in record["comparison"]["shifts"] if s["flagged"]]
    assert (row["fit"], row["name"]) == ("linear · bambi · nutpie", "sigma")


def _one_line_error(capsys, args):
    code = main(args)
    err = capsys.readouterr().err.strip()
    assert code == EXIT_USAGE, err
    assert len(err.splitlines()) == 1 and err.startswith("glmcheck: error: "), err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize(
    ("make_b", "message"),
    [
        (lambda p, text: p.write_text(text[: len(text) // 2]), "is truncated or not JSON"),
        (lambda p, text: p.write_text(json.dumps({"fits": []})), "is not a glmcheck run record"),
        (lambda p, text: p.write_text(text.replace('"schema_version": 1', '"schema_version": 7')),
         "newer than this glmcheck reads"),
        (lambda p, text: p.unlink(), "holds no results.json or record.json"),
        (lambda p, text: (p.unlink(), p.parent.rmdir()), "does not exist"),
        (lambda p, text: p.write_text(json.dumps({
            **json.loads(text), "checks": [],
            "fits": [{**f, "case": "poisson"} for f in json.loads(text)["fits"]]})),
         "nothing to compare"),
        (lambda p, text: p.write_text(json.dumps(
            new_record("compare", {"a": "x.json", "b": "y.json", "alpha": 0.01}))),
         "is a comparison, not a run"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2(capsys, tmp_path, previous, make_b, message):
    a = _write(tmp_path, "a", previous)
    b = _write(tmp_path, "b", previous)
    make_b(b, b.read_text())
    err = _one_line_error(capsys, ["compare", str(a), str(b.parent), "--out",
                                   str(tmp_path / "out")])
    assert message in err
    assert not (tmp_path / "out").exists(), "bad input leaves no run folder behind"


def test_cli_names_a_run_folder_when_given_the_output_folder(capsys, tmp_path, previous):
    a = _write(tmp_path, "out/run-001", previous)
    _write(tmp_path, "out/run-002", previous)
    err = _one_line_error(capsys, ["compare", str(tmp_path / "out"), str(a),
                                   "--out", str(tmp_path / "cmp")])
    assert "run-002" in err


def test_cli_alpha_out_of_range(capsys, tmp_path, previous):
    a = _write(tmp_path, "a", previous)
    assert "0 < alpha < 1" in _one_line_error(
        capsys, ["compare", str(a), str(a), "--alpha", "1.5", "--out", str(tmp_path / "o")])


def test_importing_the_command_module_stays_light():
    """Every CLI start imports it: no numpy, scipy, rich or PyMC at import time."""
    code = ("import sys, glmcheck.comparison; "
            "print([m for m in ('numpy', 'scipy', 'rich', 'pymc', 'pandas') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- properties -------------------------------------------------------------------------------
_finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
_positive = st.floats(min_value=1e-6, max_value=1e3, allow_nan=False)
_mcse = st.one_of(st.none(), st.just(0.0), _positive)
_param_st = st.fixed_dictionaries({
    "mean": _finite, "sd": st.one_of(st.just(0.0), _positive), "mcse_mean": _mcse,
    "ess_bulk": st.one_of(st.none(), _positive),
})


@st.composite
def _records(draw):
    record = new_record("check", {})
    fits = draw(st.lists(st.lists(_param_st, min_size=1, max_size=4), min_size=1, max_size=3))
    for i, params in enumerate(fits):
        record["fits"].append({
            "case": "linear", "frontend": "pymc", "sampler": f"s{i}", "settings": {},
            "params": [{"name": f"b{j}", **p} for j, p in enumerate(params)],
            "timing": {"fit_s": 1.0}, "divergences": 0,
        })
    record["checks"] = [{"check": "convergence", "subject": f"linear · pymc · s{i}",
                         "passed": draw(st.booleans())} for i in range(len(fits))]
    return record


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_records())
def test_a_record_never_differs_from_itself(record):
    c = compare_records(record, copy.deepcopy(record))
    assert c.exit_code == EXIT_OK and not c.flagged and not c.regressions
    assert all(s.z == 0 for s in c.shifts if s.comparable)
    assert all(not s.comparable for s in c.shifts if not s.mcse_a)
    to_markdown(c), to_text(c)  # renders whatever the numbers


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_records(), st.data())
def test_swapping_a_and_b_flags_the_same_means(record, data):
    after = copy.deepcopy(record)
    for fit in after["fits"]:
        for p in fit["params"]:
            p["mean"] += data.draw(st.floats(-50, 50))
    ab, ba = compare_records(record, after), compare_records(after, record)
    assert [s.flagged for s in ab.shifts] == [s.flagged for s in ba.shifts]
    for x, y in zip(ab.shifts, ba.shifts):
        assert x.comparable == y.comparable
        if x.comparable:
            assert x.z == pytest.approx(-y.z)


def test_the_markdown_of_a_whole_matrix_fits_a_pull_request_comment(previous, current):
    """GitHub refuses comments over 65 536 characters: 112 fits (the whole version matrix),
    one of them moved, stay far below, and the moved one is shown first."""
    def widen(record):
        fits = []
        for i in range(56):
            for fit in record["fits"]:
                fit = copy.deepcopy(fit)
                fit["case"] = f"case{i:02d}"
                fits.append(fit)
        record["fits"], record["checks"] = fits, []
        return record

    a, b = widen(previous), widen(current)
    moved = _param(b["fits"][7], "slope")
    moved["mean"] += 10 * moved["mcse_mean"] * 2
    text = to_markdown(compare_records(a, b))
    assert len(text) < 30_000
    row = next(line for line in text.splitlines() if "case03 · bambi · nutpie | slope" in line)
    assert row.endswith("| SHIFTED |")
    assert "the compare record has them all" in text
