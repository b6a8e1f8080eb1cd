"""The stored references and the baseline check: bad input, planted regressions, power.

The power tests run the committed reference of the linear case with nutpie (compiled once) at
the baseline check's own settings and threshold: the Bonferroni |z| of a whole default
``baseline check`` (every case × frontend × sampler × route at family alpha 0.01).
"""

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from glmcheck import baseline as bl
from glmcheck import compat
from glmcheck.cases import BUILTIN, get_case
from glmcheck.cli import main
from glmcheck.fitters import SAMPLERS
from glmcheck.posterior import ROUTES
from glmcheck.stats.multiplicity import bonferroni_z
from conftest import require_modules
from userland.baseline_planted import LazyAdaptationNutpie, inflate_sd, shift_mean

ROOT = Path(__file__).resolve().parent.parent / "baselines"
SEEDS = 20


def default_crit() -> tuple[float, int]:
    """The |z| threshold of a whole default baseline check, and its number of comparisons."""
    per_fit = sum(bl.load_reference(c, ROOT).comparisons for c in BUILTIN)
    k = per_fit * 2 * len(SAMPLERS) * len(ROUTES)
    return bonferroni_z(bl.ALPHA, k), k


def test_every_builtin_case_has_a_sound_reference():
    for name in BUILTIN:
        ref = bl.load_reference(name, ROOT)
        gates = ref.record["checks"]
        assert gates and all(g["passed"] for g in gates), name
        assert {g["check"] for g in gates} >= {"reference-gates", "agreement"}
        assert ref.record["reference"]["samplers"] == list(bl.REFERENCE_SAMPLERS)
        for element, stats in ref.statistics.items():
            assert stats["sd"]["value"] > 0
            # the reference is far more precise than a check fit (ESS ~ 4000)
            assert stats["mean"]["mcse"] < 0.01 * stats["sd"]["value"], (name, element)
        assert bl.data_changed(get_case(name), ref.data) is None, name


# -- bad input: one line, exit 2, nothing overwritten -----------------------------------------
@pytest.fixture
def baselines(tmp_path):
    root = tmp_path / "baselines"
    shutil.copytree(ROOT / "linear", root / "linear")
    return root


def _check(root, capsys, *extra):
    code = main(["baseline", "check", "--case", "linear", "--baselines", str(root),
                 "--out", str(root.parent / "out"), *extra])
    err = capsys.readouterr().err.strip()
    return code, err


def test_missing_reference_is_bad_input(tmp_path, capsys):
    code, err = _check(tmp_path / "empty", capsys)
    assert code == 2
    assert len(err.splitlines()) == 1 and "no reference for case 'linear'" in err
    assert "baseline update --case linear" in err
    assert not (tmp_path / "out").exists()  # refused before any work


@pytest.mark.parametrize("damage, words", [
    (lambda d: (d / "reference.json").write_text((d / "reference.json").read_text()[:500]),
     "truncated"),
    (lambda d: (d / "data.csv").write_text((d / "data.csv").read_text().replace("1", "2", 1)),
     "does not match the SHA-256"),
    (lambda d: (d / "draws.csv").unlink(), "does not exist"),
    (lambda d: _edit(d, lambda r: r.update(schema_version=99)), "newer than this glmcheck"),
    (lambda d: _edit(d, lambda r: r["reference"].update(case="logistic")),
     "is the reference of case 'logistic'"),
    (lambda d: _edit(d, lambda r: r["reference"]["design"].update(rows=3)),
     "another design"),
    (lambda d: _edit(d, lambda r: r["reference"]["check_settings"].update(draws=10)),
     "check settings"),
    (lambda d: _edit(d, lambda r: r["reference"]["statistics"]["slope"]["mean"].update(
        value=None)), "non-finite mean of 'slope'"),
])
def test_damaged_reference_is_one_line_exit_2(baselines, capsys, damage, words):
    damage(baselines / "linear")
    code, err = _check(baselines, capsys)
    assert code == 2, err
    assert len(err.splitlines()) == 1 and words in err, err
    assert "Traceback" not in err


def _edit(folder, change):
    path = folder / "reference.json"
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record))


def test_a_failed_update_leaves_the_old_reference_intact(baselines, capsys, monkeypatch):
    before = {p.name: p.read_bytes() for p in (baselines / "linear").iterdir() if p.is_file()}
    # gates no real run can pass: the update must refuse and keep the stored reference
    monkeypatch.setitem(bl.GATES, "min_ess", 10**9)
    monkeypatch.setattr(bl, "REFERENCE_SETTINGS", bl.FitSettings(chains=2, tune=200, draws=200))
    code = main(["baseline", "update", "--case", "linear", "--baselines", str(baselines),
                 "--route", "compiled", "--sampler", "nutpie"])
    err = capsys.readouterr().err
    assert code == 1
    assert "not written" in err and "ESS" in err
    after = {p.name: p.read_bytes() for p in (baselines / "linear").iterdir() if p.is_file()}
    assert after == before
    assert not [p for p in baselines.iterdir() if p.name.startswith(".")]  # no debris


def test_a_changed_data_set_is_reported_as_such():
    case = get_case("linear")
    stored = bl.load_reference(case, ROOT).data.copy()
    assert bl.data_changed(case, stored) is None
    stored.loc[0, "y"] += 1e-3
    assert "column 'y' differs" in bl.data_changed(case, stored)


# -- planted regressions: power at the default threshold --------------------------------------
@pytest.fixture(scope="module")
def linear_fits():
    """SEEDS fits of the linear case, hand-written PyMC, nutpie compiled once, at the check
    settings on the stored reference data."""
    require_modules("nutpie")
    from glmcheck.fitters import get_fitter
    from glmcheck.frontends import build

    case = get_case("linear")
    reference = bl.load_reference(case, ROOT)
    fitter = get_fitter("nutpie")(build(case, "pymc", reference.data), bl.check_settings(case))
    return reference, [fitter.fit(seed=1000 + s) for s in range(SEEDS)]


def _caught(posteriors, reference):
    crit, k = default_crit()
    return [not bl.compare_posterior(p, reference, crit=crit, alpha=bl.ALPHA, k_total=k).passed
            for p in posteriors]


@pytest.mark.slow
def test_an_unchanged_posterior_raises_no_alarm(linear_fits):
    reference, fits = linear_fits
    assert sum(_caught(fits, reference)) == 0


@pytest.mark.slow
@pytest.mark.parametrize("param", ["Intercept", "slope", "sigma"])
@pytest.mark.parametrize("plant, size", [(shift_mean, 0.2), (inflate_sd, 1.10)],
                         ids=["mean shifted by 0.2 sd", "sd inflated by 10 %"])
def test_a_planted_regression_is_caught(linear_fits, plant, size, param):
    reference, fits = linear_fits
    caught = _caught([plant(p, param, size) for p in fits], reference)
    # power >= 90 %: 18 of 20 or more (a power of 0.99 misses this with probability 1e-3)
    assert sum(caught) >= 18, f"{sum(caught)} of {SEEDS}"


@pytest.mark.slow
def test_the_failure_names_what_moved_and_by_how_much(linear_fits):
    reference, fits = linear_fits
    crit, k = default_crit()
    result = bl.compare_posterior(shift_mean(fits[0], "slope", 0.5), reference, crit=crit,
                                  alpha=bl.ALPHA, k_total=k)
    assert not result.passed
    # the worst statistic may be the mean or a quantile: each moves by 0.5 sd
    assert re.search(r"worst slope \w+ moved \+0\.(4[5-9]|5[0-5]) posterior sd", result.message)
    assert "MCSEs" in result.message
    ref_pymc, here_pymc = reference.versions["pymc"], compat.versions()["pymc"]
    if ref_pymc == here_pymc:
        assert "same versions as the reference" in result.message
    else:  # the versions on both sides
        assert f"pymc {ref_pymc} → {here_pymc}" in result.message
    worst = max(result.rows, key=lambda r: abs(r["z"]))
    assert worst["param"] == "slope" and worst["shift_sd"] == pytest.approx(0.5, abs=0.05)
    mean = next(r for r in result.rows if (r["param"], r["statistic"]) == ("slope", "mean"))
    assert not mean["passed"] and mean["shift_sd"] == pytest.approx(0.5, abs=0.05)


@pytest.mark.slow
def test_a_sampler_whose_adaptation_got_worse_is_caught():
    """Behaviour stored from two healthy fits; a fit whose step-size adaptation silently aims
    at 0.995 is flagged, a third healthy fit is not."""
    require_modules("nutpie")
    from glmcheck.fitters import get_fitter
    from glmcheck.frontends import build
    from glmcheck.results import summarize

    case = get_case("linear")
    spec = build(case, "pymc", bl.load_reference(case, ROOT).data)
    settings = bl.check_settings(case)
    healthy = get_fitter("nutpie")(spec, settings)
    stored = [summarize(healthy.fit(seed=s)).behaviour for s in (1, 2)]
    subject = ("linear", "pymc", "nutpie", "compiled")
    k = 3 * 2 * len(BUILTIN) * len(SAMPLERS) * len(ROUTES)  # a whole default check

    fine = bl.compare_behaviour(summarize(healthy.fit(seed=3)).behaviour, stored,
                                subject=subject, alpha=bl.BEHAVIOUR_ALPHA, k_total=k)
    assert fine.passed, fine.message
    lazy = LazyAdaptationNutpie(spec, settings)
    worse = bl.compare_behaviour(summarize(lazy.fit(seed=3)).behaviour, stored,
                                 subject=subject, alpha=bl.BEHAVIOUR_ALPHA, k_total=k)
    assert not worse.passed
    flagged = {r["metric"] for r in worse.rows if not r["passed"]}
    assert flagged & {"grad_per_draw", "ess_per_grad"}, worse.message


def test_behaviour_rule_needs_significance_and_size():
    """Pure rule: a 2x change with chain-level noise of 5 % is flagged; a 10 % change, however
    significant, is not; missing statistics are 'not available', never a pass of a judged
    metric."""
    rng = np.random.default_rng(0)

    def entry(grad, ess, div=0, n=4):
        return {"divergences": div, "draws": 1000 * n,
                "chains": {"grad_per_draw": list(grad * np.exp(rng.normal(0, 0.05, n))),
                           "ess_per_grad": list(ess * np.exp(rng.normal(0, 0.05, n))),
                           "step_size": [0.5] * n, "tree_depth": [3.0] * n,
                           "divergences": [0] * n}}

    stored = [entry(7, 0.1), entry(7, 0.1)]
    args = dict(subject=("c", "f", "s", "r"), alpha=0.01, k_total=100)
    assert bl.compare_behaviour(entry(7, 0.1), stored, **args).passed
    assert not bl.compare_behaviour(entry(14, 0.05), stored, **args).passed
    assert bl.compare_behaviour(entry(7.7, 0.091), stored, **args).passed
    assert not bl.compare_behaviour(entry(7, 0.1, div=200), stored, **args).passed
    bare = {"divergences": None, "draws": 4000, "chains": {}}
    result = bl.compare_behaviour(bare, stored, **args)
    assert all(r.get("note") == "not available" for r in result.rows)


# -- end to end: the route users call and glmcheck's own ---------------------------------------
@pytest.mark.slow
def test_baseline_check_end_to_end(tmp_path, capsys):
    from glmcheck.record import load_record

    require_modules("nutpie")
    code = main(["baseline", "check", "--case", "linear", "--sampler", "nutpie",
                 "--out", str(tmp_path)])
    out = capsys.readouterr()
    assert code == 0, out.err
    record = load_record(next(tmp_path.glob("run-*/results.json")))
    assert record["kind"] == "baseline" and record["exit_code"] == 0
    routes = {(f["frontend"], f["route"]) for f in record["fits"]}
    assert routes == {(f, r) for f in ("pymc", "bambi") for r in ROUTES}
    kinds = [c["check"] for c in record["checks"]]
    assert kinds.count("baseline") == 4 and kinds.count("convergence") == 4
    assert all(c["passed"] for c in record["checks"])
    stored, _ = bl.load_behaviour("linear")
    if stored is not None:  # this stack's behaviour is committed: judged, and said to repeat
        behaviour = [c for c in record["checks"] if c["check"] == "behaviour"]
        assert len(behaviour) == 4
        assert all("the stored fit had the same seed" in c["message"] for c in behaviour)
    else:
        assert record["skipped"][0]["check"] == "behaviour"
