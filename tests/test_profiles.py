"""Profiles and ``glmcheck validate``: one checked registry, turned into ordinary commands."""

import json
import xml.etree.ElementTree as ET

import pytest

from glmcheck import profiles
from glmcheck.cli import build_parser, main
from glmcheck.profiles import PROFILES, Profile, SBCPlan


def test_the_registry_names_what_glmcheck_has():
    from glmcheck.cases import BUILTIN
    from glmcheck.fitters import SAMPLERS
    from glmcheck.frontends import FRONTENDS
    from glmcheck.posterior import ROUTES

    assert profiles.SAMPLER_NAMES == tuple(SAMPLERS)
    assert profiles.FRONTEND_NAMES == tuple(FRONTENDS)
    assert profiles.ROUTE_NAMES == tuple(ROUTES)
    assert list(PROFILES) == ["quick", "ci", "thorough"]
    for profile in PROFILES.values():
        assert set(profile.cases or BUILTIN) <= set(BUILTIN)
        for plan in profile.sbc:
            assert set(plan.cases or BUILTIN) <= set(BUILTIN)


@pytest.mark.parametrize("name", list(PROFILES))
def test_every_step_of_every_profile_is_a_valid_command(tmp_path, name):
    steps = PROFILES[name].steps(out=tmp_path, samplers=None, simulations=None)
    names = [s.name for s in steps]
    assert names[:2] == ["check", "sbc"] and "baseline" in names
    assert len([n for n in names if n.startswith("sbc")]) == len(PROFILES[name].sbc)
    for step in steps:
        args = build_parser().parse_args(list(step.argv))
        assert args.out.parent == tmp_path
    assert ("bench" in [s.name for s in steps]) == PROFILES[name].bench


@pytest.mark.parametrize("name", list(PROFILES))
def test_overrides_replace_the_profiles_samplers_and_size(tmp_path, name):
    steps = PROFILES[name].steps(out=tmp_path, samplers=("pymc",), simulations=7)
    for step in steps:
        argv = list(step.argv)
        assert argv[argv.index("--sampler") + 1] == "pymc"
    sbc = [list(s.argv) for s in steps if s.name.startswith("sbc")]
    assert len(sbc) == 1 and sbc[0][sbc[0].index("--simulations") + 1] == "7"


@pytest.mark.parametrize("change, says", [
    ({"samplers": ("hmc",)}, "samplers must be"), ({"routes": ()}, "routes must be"),
    ({"cases": ("",)}, "cases must be"), ({"sbc": ()}, "sbc must be"),
    ({"check_samplers": ("pymc", "x")}, "check_samplers must be"),
    ({"budget_minutes": 0}, "budget_minutes must be > 0"),
])
def test_a_bad_profile_cannot_be_made(change, says):
    fields = dict(name="x", purpose="", budget_minutes=1, cases=None, samplers=("nutpie",),
                  routes=("compiled",), sbc=(SBCPlan(cases=None, frontends=("pymc",),
                                                     samplers=("nutpie",), simulations=1),))
    with pytest.raises(ValueError, match=says):
        Profile(**{**fields, **change})


@pytest.mark.parametrize("change, says", [
    ({"simulations": 0}, "simulations must be >= 1"), ({"frontends": ("stan",)}, "frontends"),
    ({"samplers": ()}, "samplers must be"), ({"cases": ()}, "cases must be")])
def test_a_bad_sbc_plan_cannot_be_made(change, says):
    fields = dict(cases=None, frontends=("pymc",), samplers=("nutpie",), simulations=10)
    with pytest.raises(ValueError, match=says):
        SBCPlan(**{**fields, **change})


@pytest.mark.parametrize("args, says", [
    (["--profile", "fast"], "argument --profile: unknown profile 'fast'"),
    (["--sampler", "hmc"], "argument --sampler/-s: unknown sampler 'hmc'"),
    (["--simulations", "-3"], "expected a whole number >= 1 but got '-3'"),
])
def test_validate_refuses_bad_options_in_one_line(tmp_path, capsys, args, says):
    assert main(["validate", *args, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_validate_refuses_a_missing_baseline_before_any_fit(tmp_path, capsys):
    code = main(["validate", "--baselines", str(tmp_path / "none"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "no reference for case 'linear'" in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_validate_runs_a_profile_and_reports_it(tmp_path, monkeypatch, capsys):
    tiny = Profile(name="tiny", purpose="a test", budget_minutes=1, cases=("linear",),
                   frontends=("pymc",), samplers=("nutpie",), routes=("compiled",),
                   sbc=(SBCPlan(cases=("linear",), frontends=("pymc",), samplers=("nutpie",),
                                simulations=8),))
    monkeypatch.setitem(PROFILES, "tiny", tiny)
    assert main(["validate", "--profile", "tiny", "--out", str(tmp_path)]) == 0
    run = tmp_path / "run-001"
    record = json.loads((run / "results.json").read_text())
    assert record["kind"] == "validate" and record["exit_code"] == 0
    assert [(s["name"], s["exit_code"]) for s in record["steps"]] == [
        ("check", 0), ("sbc", 0), ("baseline", 0)]
    assert all((run / s["record"]).is_file() for s in record["steps"])
    checks = sum(len(json.loads((run / s["record"]).read_text())["checks"])
                 for s in record["steps"])
    junit = ET.parse(run / "junit.xml").getroot()
    assert int(junit.get("tests")) - int(junit.get("skipped")) == checks
    page = (run / "report.html").read_text()
    assert 'id="case-linear"' in page and "glmcheck: PASS" in page
    assert page.count("data:image/png;base64,") == 4  # data, lines, trace, SBC
    assert (run / "report.md").read_text().startswith("## ✅ glmcheck: PASS")
    assert "glmcheck validate tiny: PASS" in capsys.readouterr().out


def test_compare_refuses_a_validate_record_and_names_its_steps(tmp_path, capsys):
    from glmcheck.record import new_record, write_record

    record = new_record("validate", {"profile": "quick"}, steps=[
        {"name": "check", "exit_code": 0, "record": "check/run-001/results.json"}])
    record["exit_code"] = 0
    write_record(tmp_path / "results.json", record)
    assert main(["compare", str(tmp_path), str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "is a glmcheck validate run" in err and "check/run-001/results.json" in err
    assert err.count("\n") == 1
