"""``glmcheck report RECORD...``: HTML, Markdown and JUnit XML, rendered from run records alone.

A report reads records (:func:`glmcheck.record.load_record`) and the files they name, and
computes nothing new: re-rendering a past run gives the same report. It takes any mix of
records — ``check``, ``run``, ``sbc``, ``baseline``, ``bench``, ``compare`` and the
``validate`` record of a profile run, which stands for the records of its steps — and writes

- one self-contained HTML file (figures embedded): the overall verdict first, then per case its
  data, trace and regression-line figures, fits, checks (with the numbers behind each),
  SBC ECDF plots, baseline differences and benchmark tables;
- Markdown for a pull-request comment or a CI job summary;
- JUnit XML with one test case per check (a failed fit is an error, a skipped check skipped).

The verdict of a set of records is the worst of their exit codes (2 > 4 > 3 > 1 > 0); a record
whose run never finished (no exit code) makes it INCOMPLETE, never a pass.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Run", "load_runs", "verdict", "to_html", "to_markdown", "to_junit",
           "write_reports", "add_parser", "command"]

#: exit code -> the word a report shows
VERDICTS = {0: "PASS", 1: "FAIL", 2: "BAD INPUT", 3: "FIT FAILED", 4: "ERROR",
            None: "INCOMPLETE"}
#: how many rows of a check's numbers a report shows (failing rows first)
ROWS_SHOWN = 12
#: GitHub refuses a comment longer than 65536 characters
MARKDOWN_LIMIT = 60_000
_STACK = ("python", "pymc", "bambi", "arviz", "nutpie", "numpyro", "blackjax", "pytensor")


@dataclass
class Run:
    """One record, where it lies, and the figures it names (name -> bytes, or None where the
    file is missing or no longer matches its SHA-256)."""

    path: Path
    record: dict
    step: str | None = None
    figures: dict[str, bytes | None] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.record["kind"]

    @property
    def title(self) -> str:
        folder = self.path.parent.name
        return f"{self.step or self.kind} · {folder}" if self.step else f"{self.kind} · {folder}"

    @property
    def checks(self) -> list[dict]:
        return self.record["checks"]

    @property
    def failed_fits(self) -> list[dict]:
        return [f for f in self.record["fits"] if f.get("status") == "failed"]

    @property
    def fits(self) -> list[dict]:
        return [f for f in self.record["fits"] if f.get("status") != "failed"]


def load_runs(paths) -> tuple[list[Run], list[str]]:
    """The records ``paths`` name (record files or run folders; a ``validate`` or ``bisect``
    record stands for its steps' records), and warnings about the files they name."""
    from glmcheck.comparison import find_record
    from glmcheck.errors import UsageError
    from glmcheck.record import load_record

    runs: list[Run] = []
    warnings: list[str] = []
    for given in paths:
        file = find_record(given)
        record = load_record(file)
        if record["kind"] not in ("validate", "bisect"):
            runs.append(_with_figures(Run(file, record), warnings))
            continue
        for step in record.get("steps", []):
            if not step.get("record"):
                warnings.append(f"{step.get('name')}: step wrote no record "
                                f"(exit {step.get('exit_code')})")
                continue
            inner = file.parent / step["record"]
            if not inner.is_file():
                raise UsageError(f"record {str(file)!r} names the record {str(inner)!r} of "
                                 f"step {step.get('name')!r}, which does not exist")
            runs.append(_with_figures(Run(inner, load_record(inner), step=step.get("name")),
                                      warnings))
    return runs, warnings


def _checked(run: Run) -> Run:
    """The parts of a record a report reads, checked: a hand-edited or foreign body is bad
    input (one line), not a crash of the report."""
    from glmcheck.errors import UsageError

    def bad(what: str) -> UsageError:
        return UsageError(f"record {str(run.path)!r} is malformed: {what}; rerun the command "
                          "that made it")

    for i, c in enumerate(run.record["checks"]):
        if not (isinstance(c, dict) and isinstance(c.get("passed"), bool)
                and all(isinstance(c.get(k), str) for k in ("check", "case", "message"))):
            raise bad(f"checks[{i}] is not a check result")
    for key in ("fits", "skipped"):
        if not all(isinstance(x, dict) for x in run.record[key]):
            raise bad(f"an entry of {key!r} is not an object")
    files = run.record.get("files", {})
    if not isinstance(files, dict):
        raise bad("'files' is not an object")
    folder = run.path.parent.resolve()
    for name in files:
        if not (folder / name).resolve().is_relative_to(folder):
            raise bad(f"it names the file {name!r} outside its folder")
    return run


def _with_figures(run: Run, warnings: list[str]) -> Run:
    _checked(run)
    for name, entry in run.record.get("files", {}).items():
        if not name.endswith(".png"):
            continue
        file = run.path.parent / name
        data = file.read_bytes() if file.is_file() else None
        if data is None:
            warnings.append(f"{file} is named by {run.path} but does not exist")
        elif isinstance(entry, dict) and entry.get("sha256") not in (
                None, hashlib.sha256(data).hexdigest()):
            warnings.append(f"{file} no longer matches the SHA-256 {run.path} records")
            data = None
        run.figures[name] = data
    return run


# -- what the renderers share ----------------------------------------------------------------
def verdict(runs: list[Run]) -> int | None:
    """The worst exit code of the runs, as one run's (None: a run did not finish)."""
    from glmcheck.errors import worst_exit

    codes = [r.record.get("exit_code") for r in runs]
    if not runs or any(isinstance(c, bool) or c not in VERDICTS or c is None for c in codes):
        return None
    return worst_exit(*codes)


def reasons(run: Run) -> list[str]:
    """One line per finding of a run: failed checks, failed fits, errors."""
    out = [f"{c['check']}: {c.get('subject', c['case'])}: {c['message']}"
           for c in run.checks if not c.get("passed")]
    out += [f"fit failed: {_fit_label(f)} ({f.get('stage')}): {f.get('error')}"
            for f in run.failed_fits]
    out += [f"{e.get('message')}" for e in run.record.get("errors", [])]
    if run.record.get("error"):
        out.append(run.record["error"])
    summary = _comparison_summary(run.record)
    if summary and run.record.get("exit_code"):
        out.append(summary)
    if run.record.get("exit_code") is None:
        out.append(f"{run.title}: the run did not finish (its record has no exit code)")
    return out


def _fit_label(fit: dict) -> str:
    route = fit.get("route") or "compiled"
    return " · ".join([fit.get("case", "?"), fit.get("frontend", "?"), fit.get("sampler", "?")]
                      + ([route] if route != "compiled" else []))


def _comparison_summary(record: dict) -> str | None:
    body = record.get("comparison") or record.get("bench_comparison")
    if not isinstance(body, dict):
        return None
    line = (body.get("summary") or {}).get("line")
    if line:
        return line
    changes = body.get("changes", [])
    bad = [c for c in changes if c.get("status") == "regressed"]
    return f"{len(bad)} of {len(changes)} benchmark metrics regressed"


def _counts(runs: list[Run]) -> dict:
    checks = [c for r in runs for c in r.checks]
    return {"checks": len(checks), "failed": sum(not c.get("passed") for c in checks),
            "fits": sum(len(r.fits) for r in runs),
            "failed_fits": sum(len(r.failed_fits) for r in runs),
            "skipped": sum(len(r.record["skipped"]) for r in runs)}


def _stack(runs: list[Run]) -> str:
    """The library stack the runs ran on; each stack once, where they differ."""
    stacks: dict[str, None] = {}
    for run in runs:
        env = run.record["environment"]
        versions = {"python": env.get("python"), **env.get("versions", {})}
        stacks.setdefault(", ".join(f"{k} {versions[k]}" for k in _STACK if versions.get(k)))
    return " | ".join(stacks)


def _case_of_file(name: str) -> str | None:
    return name.split("/", 1)[0] if "/" in name else None


def _cases(runs: list[Run]) -> list[str]:
    """Every case the runs touched, in the order they first appear."""
    seen: dict[str, None] = {}
    for run in runs:
        for c in run.checks:
            seen.setdefault(c["case"])
        for f in run.record["fits"]:
            if f.get("case"):
                seen.setdefault(f["case"])
        for name in run.figures:
            if _case_of_file(name):
                seen.setdefault(_case_of_file(name))
        for config in (run.record.get("bench") or {}).get("configs", []):
            seen.setdefault(config.get("case"))
    return [c for c in seen if c]


def _figures_of(runs: list[Run], case: str) -> list[tuple[str, bytes | None]]:
    """The case's figures: data first, then regression lines, traces, SBC."""
    order = {"data": 0, "lines": 1, "trace": 2}
    found = []
    for run in runs:
        for name, data in run.figures.items():
            if _case_of_file(name) == case:
                stem = Path(name).stem
                found.append((order.get(stem.split("-")[0], 3), f"{stem} ({run.kind})", data))
        for c in run.checks:
            figure = (c.get("details") or {}).get("figure")
            if figure is None and run.kind == "sbc" and len(run.checks) == 1 \
                    and "sbc.png" in run.figures:
                figure = "sbc.png"  # a record from before SBC checks named their figure
            if c["case"] == case and figure in run.figures:
                found.append((4, f"SBC: {c.get('subject', case)}", run.figures[figure]))
    return [(title, data) for _, title, data in sorted(found, key=lambda t: t[0])]


def _rows(check: dict) -> tuple[list[str], list[list[str]], int]:
    """A check's numbers as a table: failing rows first, at most :data:`ROWS_SHOWN`."""
    rows = sorted(check.get("rows") or [], key=lambda r: bool(r.get("passed", True)))
    keys: list[str] = []
    for row in rows:
        keys += [k for k in row if k not in keys and k != "passed"]
    body = [["✓" if r.get("passed", True) else "✗", *(_num(r.get(k)) for k in keys)]
            for r in rows[:ROWS_SHOWN]]
    return ["", *keys], body, len(rows)


def _num(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "nan" if value != value else f"{value:.4g}"
    if isinstance(value, list | tuple):
        return ", ".join(_num(v) for v in value)
    return str(value)


def _bench_rows(run: Run, case: str | None):
    from glmcheck.bench_cli import _summary_rows

    th, tr, ph, pr, _ = _summary_rows(run.record["bench"])

    def mine(rows):
        return [r for r in rows if case is None or r[0].split(" · ")[0] == case]

    return (th, mine(tr)), (ph, mine(pr))


# -- HTML ------------------------------------------------------------------------------------
_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1b1f24;background:#f6f8fa}
main{max-width:1240px;margin:0 auto;padding:16px 24px 48px}
h1{font-size:20px;margin:0 0 8px} h2{font-size:19px;margin:28px 0 8px;border-bottom:1px solid #d0d7de}
h3{font-size:16px;margin:18px 0 6px}
#verdict{padding:14px 18px;border-radius:8px;color:#fff;font-size:22px;font-weight:600}
#verdict.pass{background:#1a7f37} #verdict.fail{background:#cf222e}
#verdict small{display:block;font-size:14px;font-weight:400;opacity:.95}
.meta{color:#57606a;font-size:13px;margin:6px 0 10px}
table{border-collapse:collapse;margin:6px 0 10px;background:#fff;font-size:13px}
th,td{border:1px solid #d0d7de;padding:3px 7px;text-align:right;vertical-align:top}
th:first-child,td:first-child,td.text,th.text{text-align:left}
td.ok{color:#1a7f37;font-weight:600} td.bad{color:#cf222e;font-weight:600}
ul.reasons li{color:#cf222e} nav a{margin-right:12px}
.figs{display:flex;flex-wrap:wrap;gap:10px;align-items:flex-start} figure{margin:0;background:#fff;border:1px solid #d0d7de;padding:4px}
figure img{width:286px;height:auto;display:block} figcaption{font-size:12px;color:#57606a}
details{margin:2px 0} summary{cursor:pointer}
"""


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _table(head, rows, *, status: list[bool] | None = None) -> str:
    out = ["<table><tr>", *(f"<th>{_e(h)}</th>" for h in head), "</tr>"]
    for i, row in enumerate(rows):
        out.append("<tr>")
        for j, cell in enumerate(row):
            cls = ""
            if j == 0 and status is not None:
                cls = ' class="ok"' if status[i] else ' class="bad"'
            elif isinstance(cell, str) and len(cell) > 24:
                cls = ' class="text"'
            out.append(f"<td{cls}>{_e(cell)}</td>")
        out.append("</tr>")
    out.append("</table>")
    return "".join(out)


def _html_checks(checks: list[dict]) -> str:
    out = []
    for c in checks:
        mark = "PASS" if c.get("passed") else "FAIL"
        head, rows, total = _rows(c)
        rule = (c.get("threshold") or {}).get("rule", "")
        out.append(
            f"<details{'' if c.get('passed') else ' open'}><summary>"
            f"<b class=\"{'ok' if c.get('passed') else 'bad'}\">{mark}</b> "
            f"<b>{_e(c['check'])}</b> · {_e(c.get('subject', c['case']))}: {_e(c['message'])}"
            f"</summary><div class=\"meta\">{_e(rule)}</div>"
            + (_table(head, rows) if rows else "")
            + (f"<div class=\"meta\">{len(rows)} of {total} rows shown, failing first</div>"
               if total > len(rows) else "")
            + "</details>")
    return "".join(out)


def _html_fits(fits: list[dict]) -> str:
    head = ["fit", "settings", "max R-hat", "min ESS", "divergences", "compile s", "fit s"]
    rows = []
    for f in fits:
        params = f.get("params", [])
        rhat = max((p.get("r_hat") or float("nan") for p in params), default=float("nan"))
        ess = min((min(p.get("ess_bulk") or 0, p.get("ess_tail") or 0) for p in params),
                  default=float("nan"))
        s = f.get("settings", {})
        rows.append([_fit_label(f), f"{s.get('chains')}×({s.get('tune')}+{s.get('draws')})",
                     _num(rhat), _num(ess),
                     "n/a" if f.get("divergences") is None else str(f["divergences"]),
                     _num((f.get("timing") or {}).get("compile_s")),
                     _num((f.get("timing") or {}).get("fit_s"))])
    out = [_table(head, rows)]
    for f in fits:
        prow = [[p["name"], *(_num(p.get(k)) for k in
                              ("mean", "sd", "q05", "q95", "r_hat", "ess_bulk", "ess_tail"))]
                for p in f.get("params", [])]
        out.append(f"<details><summary>posterior of {_e(_fit_label(f))}</summary>"
                   + _table(["parameter", "mean", "sd", "5%", "95%", "R-hat", "ESS bulk",
                             "ESS tail"], prow) + "</details>")
    return "".join(out)


def _img(title: str, data: bytes | None) -> str:
    if data is None:
        return (f"<figure><div class=\"bad\">figure missing or changed since the run</div>"
                f"<figcaption>{_e(title)}</figcaption></figure>")
    src = "data:image/png;base64," + base64.b64encode(data).decode()
    return f"<figure><img src=\"{src}\" alt=\"{_e(title)}\"><figcaption>{_e(title)}</figcaption></figure>"


def to_html(runs: list[Run], warnings: list[str] = ()) -> str:
    """The report as one self-contained HTML page."""
    code = verdict(runs)
    word = VERDICTS.get(code, "INCOMPLETE")
    n = _counts(runs)
    lines = [r for run in runs for r in reasons(run)]
    cases = _cases(runs)
    parts = [
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
        f"<title>glmcheck: {word}</title><style>{_CSS}</style></head><body><main>",
        f"<div id=\"verdict\" class=\"{'pass' if code == 0 else 'fail'}\">glmcheck: {word}"
        f"<small>{n['checks'] - n['failed']} of {n['checks']} checks passed · "
        f"{n['failed_fits']} failed fits · {n['skipped']} skipped · {len(runs)} records"
        f"</small></div>",
        f"<div class=\"meta\">{_e(_stack(runs))}</div>",
    ]
    if lines:
        parts.append("<ul class=\"reasons\">" + "".join(f"<li>{_e(x)}</li>" for x in lines[:30])
                     + (f"<li>… and {len(lines) - 30} more</li>" if len(lines) > 30 else "")
                     + "</ul>")
    if warnings:
        parts.append("<ul>" + "".join(f"<li class=\"bad\">{_e(w)}</li>" for w in warnings)
                     + "</ul>")
    parts.append("<nav>" + "".join(f"<a href=\"#case-{_e(c)}\">{_e(c)}</a>" for c in cases)
                 + "<a href=\"#records\">records</a></nav>")
    for case in cases:
        parts.append(f"<section id=\"case-{_e(case)}\" class=\"case\"><h2>{_e(case)}</h2>")
        figures = _figures_of(runs, case)
        if figures:
            parts.append("<div class=\"figs\">" + "".join(_img(t, d) for t, d in figures)
                         + "</div>")
        for run in runs:
            fits = [f for f in run.fits if f.get("case") == case]
            checks = [c for c in run.checks if c["case"] == case]
            failed = [f for f in run.failed_fits if f.get("case") == case]
            skipped = [s for s in run.record["skipped"]
                       if str(s.get("subject", "")).split(" · ")[0] == case]
            bench = _bench_rows(run, case) if run.kind == "bench" else None
            if not (fits or checks or failed or skipped or (bench and bench[0][1])):
                continue
            parts.append(f"<h3>{_e(run.title)}</h3>")
            if fits:
                parts.append(_html_fits(fits))
            if checks:
                parts.append(_html_checks(checks))
            for f in failed:
                parts.append(f"<div class=\"bad\">fit failed: {_e(_fit_label(f))} "
                             f"({_e(f.get('stage'))}): {_e(f.get('error'))}</div>")
            for s in skipped:
                parts.append(f"<div class=\"meta\">skipped {_e(s['check'])} for "
                             f"{_e(s['subject'])}: {_e(s['reason'])}</div>")
            if bench and bench[0][1]:
                for head, rows in bench:
                    parts.append(_table(head, rows))
        parts.append("</section>")
    parts.append("<section id=\"records\"><h2>records</h2>")
    head = ["record", "kind", "verdict", "checks failed", "fits failed", "created", "file"]
    rows, status = [], []
    for run in runs:
        c = run.record.get("exit_code")
        rows.append([run.title, run.kind, VERDICTS.get(c, "INCOMPLETE"),
                     f"{sum(not x.get('passed') for x in run.checks)} of {len(run.checks)}",
                     str(len(run.failed_fits)), run.record["created"], str(run.path)])
        status.append(c == 0)
    parts.append(_table(head, rows, status=status))
    for run in runs:
        summary = _comparison_summary(run.record)
        if summary:
            parts.append(f"<p><b>{_e(run.title)}</b>: {_e(summary)}</p>")
        if run.kind == "bench":
            for name, data in run.figures.items():
                parts.append(_img(f"{name} ({run.title})", data))
    parts.append("</section></main></body></html>")
    return "".join(parts)


# -- Markdown --------------------------------------------------------------------------------
def _md(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(runs: list[Run], warnings: list[str] = ()) -> str:
    """The report as GitHub Markdown, short enough for a pull-request comment."""
    from glmcheck.comparison import _md_table

    code = verdict(runs)
    word = VERDICTS.get(code, "INCOMPLETE")
    n = _counts(runs)
    lines = [f"## {'✅' if code == 0 else '❌'} glmcheck: {word}", "",
             f"**{n['checks'] - n['failed']} of {n['checks']} checks passed** · "
             f"{n['fits']} fits, {n['failed_fits']} failed · {n['skipped']} skipped · "
             f"{_stack(runs)}", ""]
    lines += _md_table(
        ["record", "verdict", "checks passed", "failed fits", "created"],
        [[run.title, VERDICTS.get(run.record.get("exit_code"), "INCOMPLETE"),
          f"{sum(bool(c.get('passed')) for c in run.checks)} / {len(run.checks)}",
          len(run.failed_fits), run.record["created"]] for run in runs])
    found = [r for run in runs for r in reasons(run)]
    if found:
        lines += ["", "### What failed", "", *(f"- {_md(r)}" for r in found[:40])]
        if len(found) > 40:
            lines.append(f"- … and {len(found) - 40} more (see the HTML report)")
    for w in warnings:
        lines.append(f"> ⚠️ {_md(w)}")
    checks = [(run, c) for run in runs for c in run.checks]
    if checks:
        lines += ["", f"<details><summary>Every check ({len(checks)})</summary>", ""]
        lines += _md_table(["", "check", "subject", "result"],
                           [["✅" if c.get("passed") else "❌", c["check"],
                             c.get("subject", c["case"]), c["message"]] for _, c in checks])
        lines += ["", "</details>"]
    for run in runs:
        if run.kind == "bench":
            from glmcheck.bench_cli import summary_markdown

            lines += ["", summary_markdown(run.record)]
    text = "\n".join(lines) + "\n"
    if len(text) > MARKDOWN_LIMIT:
        cut = text[:MARKDOWN_LIMIT].rsplit("\n", 1)[0]
        text = cut + "\n\n… (cut to fit a pull-request comment; see the HTML report)\n"
        if "<details>" in cut and "</details>" not in cut.split("<details>")[-1]:
            text += "\n</details>\n"
    return text


# -- JUnit XML -------------------------------------------------------------------------------
def to_junit(runs: list[Run]) -> str:
    """The report as JUnit XML: a test suite per record, a test case per check."""
    root = ET.Element("testsuites", name="glmcheck")
    totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    for run in runs:
        suite = ET.SubElement(root, "testsuite", name=f"glmcheck {run.title}",
                              timestamp=run.record["created"])
        props = ET.SubElement(suite, "properties")
        env = run.record["environment"]
        properties = {"python": env.get("python"), **env.get("versions", {}),
                      "record": str(run.path)}
        for key, value in properties.items():
            if value:
                ET.SubElement(props, "property", name=str(key), value=str(value))
        counts = dict.fromkeys(totals, 0)

        def case(name: str, classname: str) -> ET.Element:
            counts["tests"] += 1
            return ET.SubElement(suite, "testcase", name=name, classname=classname, time="0")

        for c in run.checks:
            tc = case(f"{c['check']} [{c.get('subject', c['case'])}]",
                      f"glmcheck.{run.kind}.{c['case']}")
            if not c.get("passed"):
                counts["failures"] += 1
                head, rows, _ = _rows(c)
                text = "\n".join([(c.get("threshold") or {}).get("rule", ""),
                                  *("  ".join(f"{h}={v}" for h, v in zip(head[1:], r[1:]))
                                    for r in rows if r[0] == "✗")])
                ET.SubElement(tc, "failure", message=c["message"],
                              type=c["check"]).text = text
        for f in run.failed_fits:
            tc = case(f"fit [{_fit_label(f)}]", f"glmcheck.{run.kind}.{f.get('case')}")
            counts["errors"] += 1
            ET.SubElement(tc, "error", message=f"fit failed ({f.get('stage')}): {f.get('error')}",
                          type="fit")
        for s in run.record["skipped"]:
            tc = case(f"{s['check']} [{s['subject']}]",
                      f"glmcheck.{run.kind}.{str(s['subject']).split(' · ')[0]}")
            counts["skipped"] += 1
            ET.SubElement(tc, "skipped", message=s["reason"])
        problems = [e.get("message") for e in run.record.get("errors", [])]
        problems += [run.record["error"]] if run.record.get("error") else []
        if run.record.get("exit_code") is None:
            problems.append("the run did not finish (its record has no exit code)")
        if run.kind == "compare" and run.record.get("exit_code") == 1:
            tc = case("comparison", f"glmcheck.{run.kind}")
            counts["failures"] += 1
            ET.SubElement(tc, "failure", message=_comparison_summary(run.record) or "regressed")
        for problem in problems:
            tc = case("run", f"glmcheck.{run.kind}")
            counts["errors"] += 1
            ET.SubElement(tc, "error", message=str(problem))
        seconds = run.record.get("seconds") or (run.record.get("timings") or {}).get("seconds")
        if not seconds:  # a check record: the time of its fits
            seconds = sum((f.get("timing") or {}).get(k) or 0
                          for f in run.fits for k in ("compile_s", "fit_s"))
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("time", f"{seconds or 0:.3f}")
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_reports(runs: list[Run], warnings: list[str], *, html_path: Path | None,
                  markdown_path: Path | str | None, junit_path: Path | None) -> list[Path]:
    """Write the reports asked for (``markdown_path`` ``"-"``: standard output); return the
    files written."""
    written = []
    for path, render in ((html_path, lambda: to_html(runs, warnings)),
                         (markdown_path, lambda: to_markdown(runs, warnings)),
                         (junit_path, lambda: to_junit(runs))):
        if path is None:
            continue
        text = render()
        if str(path) == "-":
            sys.stdout.write(text)
            continue
        try:
            Path(path).write_text(text, encoding="utf-8")
        except OSError as exc:
            from glmcheck.errors import UsageError

            raise UsageError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None
        written.append(Path(path))
    return written


# -- the command -----------------------------------------------------------------------------
def add_parser(sub, parser_class) -> None:
    p = sub.add_parser(
        "report", help="render run records as HTML, Markdown and JUnit XML",
        description="Render one or more run records (results.json / record.json, or their "
        "run folders; the record of 'glmcheck validate' stands for all its steps) as one "
        "self-contained HTML page, Markdown for a pull-request comment or CI job summary, "
        "and JUnit XML with one test case per check. Computes nothing: any past run "
        "re-renders. Without --html/--markdown/--junit, writes all three into a new "
        "run-NNN folder of --out. Exit 0 when the report is written, whatever the verdict "
        "it shows; 2 when a record is not glmcheck's, newer, or truncated.",
    )
    p.add_argument("records", nargs="+", metavar="RECORD",
                   help="a record file or the run folder that holds one")
    p.add_argument("--html", type=Path, metavar="FILE", help="write the HTML report to FILE")
    p.add_argument("--markdown", metavar="FILE",
                   help="write the Markdown report to FILE ('-': standard output)")
    p.add_argument("--junit", type=Path, metavar="FILE", help="write JUnit XML to FILE")
    p.add_argument("--out", "-o", type=Path, default=Path("glmcheck-out"),
                   help="folder for the reports when no file is named (a new run-NNN inside)")
    p.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)


def command(args) -> int:
    from glmcheck.cli import new_run_dir
    from glmcheck.errors import EXIT_OK

    runs, warnings = load_runs(args.records)
    if args.html is None and args.markdown is None and args.junit is None:
        folder = new_run_dir(args.out)
        targets = dict(html_path=folder / "report.html", markdown_path=folder / "report.md",
                       junit_path=folder / "junit.xml")
    else:
        targets = dict(html_path=args.html, markdown_path=args.markdown, junit_path=args.junit)
    for warning in warnings:
        print(f"glmcheck: warning: {warning}", file=sys.stderr)
    written = write_reports(runs, warnings, **targets)
    code = verdict(runs)
    print(f"glmcheck report: {VERDICTS.get(code, 'INCOMPLETE')} over {len(runs)} record(s)",
          file=sys.stderr)
    for path in written:
        print(f"written: {path}", file=sys.stderr)
    return EXIT_OK
