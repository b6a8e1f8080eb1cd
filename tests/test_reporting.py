"""``glmcheck report``: HTML, Markdown and JUnit XML from run records alone (no fits here), and
the HTML as a browser shows it (headless Chromium at a laptop's 1366 × 768)."""

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import REQUIRE_ALL

from glmcheck import reporting
from glmcheck.cli import main
from glmcheck.record import SCHEMA_VERSION, file_entry, new_record, write_record


def _png(path: Path, label: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [0, 1], label=label)
    ax.set_title(label)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=60)
    plt.close(fig)
    return path


def _check(case, check="recovery", passed=True, frontend="pymc"):
    return {"check": check, "case": case, "frontends": [frontend], "samplers": ["nutpie"],
            "passed": passed, "subject": f"{case} · {frontend} · nutpie",
            "message": "all recovered" if passed else "slope: |z| 9.1 > 4.15",
            "threshold": {"rule": "|z| < 4.15 (Bonferroni, alpha 1e-3)"},
            "rows": [{"param": "slope", "z": 9.1 if not passed else 0.3, "passed": passed},
                     {"param": "sigma", "z": 0.2, "passed": True}],
            "details": {}, "versions": {}, "route": None}


def _fit(case, frontend="pymc"):
    return {"case": case, "frontend": frontend, "sampler": "nutpie", "seed": 1, "route": "compiled",
            "settings": {"chains": 4, "tune": 1000, "draws": 1000},
            "params": [{"name": "slope", "native": "slope", "mean": 2.0, "sd": 0.1, "q05": 1.8,
                        "q95": 2.2, "mcse_mean": 0.002, "ess_bulk": 1500.0, "ess_tail": 1400.0,
                        "r_hat": 1.001}],
            "divergences": 0, "timing": {"compile_s": 3.0, "fit_s": 0.1}}


def _check_record(folder: Path, *, failing: bool = False, cases=("linear", "logistic")) -> Path:
    record = new_record("check", {"cases": list(cases)})
    for case in cases:
        for name in ("data", "lines-pymc-nutpie", "trace-pymc-nutpie"):
            path = _png(folder / case / f"{name}.png", f"{case} {name}")
            record["files"][f"{case}/{name}.png"] = file_entry(path, folder)
        record["fits"].append(_fit(case))
        record["checks"].append(_check(case, passed=not (failing and case == cases[0])))
        record["checks"].append(_check(case, "convergence"))
    record["skipped"].append({"check": "exact", "subject": f"{cases[-1]} · pymc · nutpie",
                              "reason": "no exact posterior"})
    record["exit_code"] = 1 if failing else 0
    write_record(folder / "results.json", record)
    return folder / "results.json"


def _sbc_record(folder: Path) -> Path:
    record = new_record("sbc", {"case": "linear"})
    _png(folder / "sbc.png", "sbc")
    check = _check("linear", "sbc")
    check["details"]["figure"] = "sbc.png"
    record["checks"].append(check)
    record["files"]["sbc.png"] = file_entry(folder / "sbc.png", folder)
    record["exit_code"] = 0
    write_record(folder / "results.json", record)
    return folder / "results.json"


@pytest.fixture
def records(tmp_path):
    return [_check_record(tmp_path / "check", failing=True), _sbc_record(tmp_path / "sbc")]


def test_html_puts_the_verdict_first_and_every_case_with_its_figures(records):
    runs, warnings = reporting.load_runs(records)
    page = reporting.to_html(runs, warnings)
    assert warnings == []
    assert page.index('id="verdict"') < page.index('<section id="case-linear"')
    assert "glmcheck: FAIL" in page and "1 failed fits" not in page
    assert 'id="case-linear"' in page and 'id="case-logistic"' in page
    # 6 figures of the check record + the SBC figure, all embedded: the file stands alone
    assert page.count('src="data:image/png;base64,') == 7
    assert "src=\"http" not in page and "<link" not in page
    assert "slope: |z| 9.1 &gt; 4.15" in page  # the one-line reason, escaped


def test_an_sbc_figure_goes_to_its_case_also_in_an_older_record(tmp_path):
    path = _sbc_record(tmp_path)
    record = json.loads(path.read_text())
    del record["checks"][0]["details"]["figure"]  # as SBC wrote it before this version
    write_record(path, record)
    runs, _ = reporting.load_runs([path])
    section = reporting.to_html(runs).split('<section id="case-linear"', 1)[1]
    assert "SBC: linear · pymc · nutpie" in section and "data:image/png;base64," in section


def test_a_changed_or_missing_figure_is_reported_not_embedded(tmp_path, records):
    (records[0].parent / "linear" / "data.png").write_bytes(b"not the figure")
    (records[0].parent / "logistic" / "data.png").unlink()
    runs, warnings = reporting.load_runs(records)
    assert len(warnings) == 2 and "SHA-256" in warnings[0] and "does not exist" in warnings[1]
    assert reporting.to_html(runs, warnings).count("figure missing or changed") == 2


def test_markdown_leads_with_the_verdict_and_what_failed(records):
    runs, _ = reporting.load_runs(records)
    text = reporting.to_markdown(runs)
    assert text.startswith("## ❌ glmcheck: FAIL")
    assert "### What failed" in text
    assert "- recovery: linear · pymc · nutpie: slope: \\|z\\| 9.1 > 4.15" in text
    assert "Every check (5)" in text


def test_markdown_fits_a_pull_request_comment(tmp_path):
    cases = tuple(f"case{i}" for i in range(400))
    record = new_record("check", {})
    record["checks"] = [_check(c, passed=False) for c in cases for _ in range(3)]
    record["exit_code"] = 1
    write_record(tmp_path / "results.json", record)
    runs, _ = reporting.load_runs([tmp_path])
    text = reporting.to_markdown(runs)
    assert len(text) <= reporting.MARKDOWN_LIMIT + 200
    assert "cut to fit a pull-request comment" in text
    assert text.count("<details>") == text.count("</details>")


def test_junit_has_one_test_case_per_check(records):
    runs, _ = reporting.load_runs(records)
    root = ET.fromstring(reporting.to_junit(runs))
    cases = root.findall(".//testcase")
    # 4 checks + 1 skipped in the check record, 1 SBC check
    assert len(cases) == 6 and root.get("tests") == "6"
    assert root.get("failures") == "1" and root.get("skipped") == "1" and root.get("errors") == "0"
    failure = root.find(".//testcase/failure")
    assert failure.get("message") == "slope: |z| 9.1 > 4.15"
    names = [p.get("name") for p in root.find("testsuite/properties")]
    assert len(names) == len(set(names))


def test_an_unfinished_run_is_incomplete_never_a_pass(tmp_path):
    record = new_record("check", {})
    record["checks"].append(_check("linear"))
    write_record(tmp_path / "results.json", record)  # exit_code None: the run never finished
    runs, _ = reporting.load_runs([tmp_path])
    assert reporting.verdict(runs) is None
    assert reporting.to_markdown(runs).startswith("## ❌ glmcheck: INCOMPLETE")
    root = ET.fromstring(reporting.to_junit(runs))
    assert root.get("errors") == "1"


@pytest.mark.parametrize("codes, word", [((0, 0), "PASS"), ((0, 1), "FAIL"),
                                         ((1, 3), "FIT FAILED"), ((3, 4, 1), "ERROR")])
def test_the_verdict_is_the_worst_exit_code(tmp_path, codes, word):
    paths = []
    for i, code in enumerate(codes):
        record = new_record("check", {})
        record["exit_code"] = code
        (tmp_path / str(i)).mkdir()
        write_record(tmp_path / str(i) / "results.json", record)
        paths.append(tmp_path / str(i))
    runs, _ = reporting.load_runs(paths)
    assert reporting.VERDICTS[reporting.verdict(runs)] == word


def test_a_validate_record_stands_for_its_steps(tmp_path):
    _check_record(tmp_path / "check" / "run-001")
    _sbc_record(tmp_path / "sbc" / "run-001")
    record = new_record("validate", {"profile": "quick"}, steps=[
        {"name": "check", "exit_code": 0, "record": "check/run-001/results.json"},
        {"name": "sbc", "exit_code": 0, "record": "sbc/run-001/results.json"},
        {"name": "baseline", "exit_code": 2, "record": None}])
    record["exit_code"] = 2
    write_record(tmp_path / "results.json", record)
    runs, warnings = reporting.load_runs([tmp_path])
    assert [r.step for r in runs] == ["check", "sbc"]
    assert warnings == ["baseline: step wrote no record (exit 2)"]


def test_report_command_writes_all_three_in_a_new_run_folder(tmp_path, records, capsys):
    assert main(["report", *map(str, records), "--out", str(tmp_path / "out")]) == 0
    folder = tmp_path / "out" / "run-001"
    assert sorted(p.name for p in folder.iterdir()) == ["junit.xml", "report.html", "report.md"]
    assert "FAIL over 2 record(s)" in capsys.readouterr().err
    assert main(["report", str(records[0]), "--markdown", "-"]) == 0
    assert capsys.readouterr().out.startswith("## ❌ glmcheck: FAIL")


def _bad(tmp_path: Path, what: str) -> Path:
    path = tmp_path / "results.json"
    good = new_record("check", {})
    good["exit_code"] = 0
    text = json.dumps(good)
    if what == "foreign":
        text = json.dumps({"some": "other tool"})
    elif what == "newer":
        text = json.dumps({**good, "schema_version": SCHEMA_VERSION + 1})
    elif what == "truncated":
        text = text[: len(text) // 2]
    path.write_text(text)
    return path


@pytest.mark.parametrize("what, says", [
    ("foreign", "is not a glmcheck run record"), ("newer", "upgrade glmcheck"),
    ("truncated", "is truncated or not JSON"), ("missing", "does not exist")])
def test_a_bad_record_is_one_line_and_exit_2(tmp_path, capsys, what, says):
    path = _bad(tmp_path, what) if what != "missing" else tmp_path / "nothing.json"
    out = tmp_path / "out"
    assert main(["report", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and says in err and err.startswith("glmcheck: error:")
    assert not out.exists()  # nothing written for a refused record


@pytest.mark.parametrize("damage, says", [
    (lambda r: r["checks"].append({"check": "x"}), "checks[0] is not a check result"),
    (lambda r: r["fits"].append(3), "an entry of 'fits' is not an object"),
    (lambda r: r["files"].update({"../../etc/passwd.png": {}}), "outside its folder"),
])
def test_a_malformed_record_body_is_one_line_and_exit_2(tmp_path, capsys, damage, says):
    record = new_record("check", {})
    record["exit_code"] = 0
    damage(record)
    write_record(tmp_path / "results.json", record)
    assert main(["report", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1 and not (tmp_path / "out").exists()


def _chromium() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        message = "Debian's chromium is not installed (apt-get install chromium)"
        if REQUIRE_ALL:
            pytest.fail(f"{message}; GLMCHECK_REQUIRE_ALL=1: the full environment needs it")
        pytest.skip(message)
    return found


#: what the test reads back from the rendered page
_PROBE = """JSON.stringify({
  verdict: document.getElementById('verdict').getBoundingClientRect().toJSON(),
  height: innerHeight, width: innerWidth, scrolled: scrollY,
  imgs: [...document.images].map(i => i.complete ? i.naturalWidth : -1),
  cases: [...document.querySelectorAll('section.case')].map(s => s.id)})"""


def test_the_html_report_in_headless_chromium(tmp_path, records):
    from browser import Page

    browser = _chromium()
    runs, warnings = reporting.load_runs(records)
    page_file = tmp_path / "report.html"
    page_file.write_text(reporting.to_html(runs, warnings))
    with Page(browser, 1366, 768) as page:
        page.open(page_file.as_uri())
        probe = json.loads(page.evaluate(_PROBE))
        page.screenshot(tmp_path / "report.png")
    assert (probe["width"], probe["height"], probe["scrolled"]) == (1366, 768, 0)
    verdict = probe["verdict"]  # the overall verdict, whole, without scrolling
    assert verdict["top"] >= 0 and verdict["bottom"] <= 768 and verdict["height"] > 20
    assert probe["cases"] == ["case-linear", "case-logistic"]
    assert len(probe["imgs"]) == 7 and all(w > 0 for w in probe["imgs"])
    assert (tmp_path / "report.png").stat().st_size > 10_000


def test_benchmark_tables_go_to_their_cases_and_into_the_markdown(tmp_path):
    import numpy as np
    from test_bench import bench_record

    write_record(tmp_path / "results.json",
                 bench_record(np.random.default_rng(1), cases=("linear", "poisson")))
    runs, _ = reporting.load_runs([tmp_path])
    page = reporting.to_html(runs)
    for case in ("linear", "poisson"):
        section = page.split(f'<section id="case-{case}"', 1)[1].split("</section>", 1)[0]
        assert f"{case} · pymc · nutpie" in section and f"{case} · bambi · nutpie" in section
        other = "poisson" if case == "linear" else "linear"
        assert f"{other} · pymc · nutpie" not in section
    assert "**Time on this machine**" in reporting.to_markdown(runs)


def test_records_of_two_stacks_show_both_stacks(tmp_path):
    paths = []
    for i, pymc in enumerate(("5.28.0", "6.4.0")):
        record = new_record("check", {})
        record["environment"]["versions"]["pymc"] = pymc
        record["exit_code"] = 0
        (tmp_path / str(i)).mkdir()
        write_record(tmp_path / str(i) / "results.json", record)
        paths.append(tmp_path / str(i))
    runs, _ = reporting.load_runs(paths)
    line = reporting.to_markdown(runs).splitlines()[2]
    assert "pymc 5.28.0" in line and "pymc 6.4.0" in line and " | " in line
