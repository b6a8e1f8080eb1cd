"""``glmcheck compare A B``: two run records side by side.

"We upgraded libraries: did posteriors change, did sampling get slower, and where?" A is the
before (baseline) side, B the after (new) side. Each is a run record (:mod:`glmcheck.record`)
or a run folder holding ``results.json`` or ``record.json``. The comparison reads only what
the records hold; it never refits.

What it reports, and what each number means:

1. **Versions** that differ between the two environments (libraries, Python, platform, CPU).
2. **Posterior shifts**, per fit both records hold (matched on case, frontend, sampler and
   route) and per parameter element (matched on its canonical name):

   * ``shift_sd`` = (mean_B − mean_A) / sd_A: how far the posterior mean moved, in posterior
     standard deviations of A. Its size says whether a move matters to a user.
   * ``z`` = (mean_B − mean_A) / √(MCSE_A² + MCSE_B²): the same move in units of the Monte
     Carlo error of the two estimates. Two correct samplers of the same posterior differ
     only by Monte Carlo error, so |z| is N(0, 1)-sized when nothing changed. This is the one
     number judged: a shift is *flagged* when |z| exceeds the Bonferroni threshold over all
     means compared (family false-alarm rate ``alpha``, default 0.01).
   * ``sd_ratio`` = sd_B / sd_A: shown, not judged (the records hold no MCSE of the sd).

   A mean without a finite MCSE on both sides (NaN, missing, zero) is *not comparable*: it is
   listed as such and never counts as a pass.
3. **Sampler behaviour** (shown, not judged): divergences, gradient evaluations per draw,
   ESS per gradient evaluation, mean step size and tree depth, A → B with the ratio B/A.
4. **Time and ESS per second** (information only: one run of each is no timing verdict):
   fit seconds B/A, and the smallest bulk ESS over parameters per second of fit time, B/A.
5. **Checks** matched on (check, subject): verdicts that changed, and checks only one record
   holds; **failed fits** in either record, with stage and error.
6. **Fits** only one record holds.

Exit code (:mod:`glmcheck.errors`): 1 when something regressed (a flagged shift, a check that
passed in A and fails in B, a fit that worked in A and failed in B), else 0. Records that
share nothing that can be judged are bad input (:class:`~glmcheck.errors.UsageError`, exit 2):
"nothing to compare" is not a pass.

Every CLI start imports this module: numpy, scipy, rich and the like are imported inside the
functions that need them.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from glmcheck.errors import EXIT_FAILED, EXIT_OK, UsageError

__all__ = [
    "ALPHA", "Comparison", "VersionChange", "ParamShift", "FitPair", "CheckChange", "FailedFit",
    "add_parser", "command", "compare_records", "find_record", "to_markdown", "to_text",
    "renderables",
]

#: default family false-alarm rate over all posterior means compared
ALPHA = 0.01
#: libraries named first in the summary line, when they changed
_HEADLINE = ("pymc", "bambi", "arviz", "nutpie", "pytensor", "numpyro", "jax", "blackjax",
             "python")
#: stages at which the fit itself failed (later stages are refits, e.g. coverage simulations)
_FIT_STAGES = ("build", "compile", "sample")


# -- the data ---------------------------------------------------------------------------------
@dataclass(kw_only=True)
class VersionChange:
    """One environment entry that differs: a library version, Python, platform or CPU.

    ``"not installed"``: the record lists the library without a version; ``"not recorded"``:
    the record predates the library's entry."""

    name: str
    a: str
    b: str


@dataclass(kw_only=True)
class ParamShift:
    """One parameter element of one fit, A → B.

    ``shift_sd`` = (mean_b − mean_a) / sd_a; ``z`` = (mean_b − mean_a) / √(mcse_a² + mcse_b²);
    ``sd_ratio`` = sd_b / sd_a. ``comparable`` is False (and ``reason`` says why) when either
    mean or MCSE is missing, NaN or infinite, or both MCSEs are zero; then ``z`` is NaN and
    ``flagged`` False, which is not a pass. ``flagged``: |z| > the comparison's threshold.
    """

    fit: str
    name: str
    mean_a: float
    mean_b: float
    sd_a: float
    sd_b: float
    mcse_a: float
    mcse_b: float
    shift_sd: float
    sd_ratio: float
    z: float
    comparable: bool
    reason: str | None = None
    flagged: bool = False


@dataclass(kw_only=True)
class FitPair:
    """How one fit both records hold ran, A and B side by side (shown, never judged).

    ``divergences``: divergent transitions over all chains (None: not reported).
    ``grad_per_draw``: gradient evaluations (leapfrog steps) per draw. ``ess_per_grad``: the
    smallest bulk ESS over parameters per gradient evaluation. ``step_size``, ``tree_depth``:
    means over draws. ``*_chains``: (min, max) of the per-chain values, their noise.
    ``fit_s``, ``compile_s``: seconds (``timing`` of the record). ``ess_per_s``: the smallest
    bulk ESS over parameters per second of fit time. Ratios (:meth:`ratio`) are B/A.
    ``settings``: settings that differ, name -> [A, B]. ``converged``: the record's verdict
    (R-hat and divergences) per side; None when the record does not say.
    """

    fit: str
    converged_a: bool | None = None
    converged_b: bool | None = None
    divergences_a: int | None = None
    divergences_b: int | None = None
    grad_per_draw_a: float | None = None
    grad_per_draw_b: float | None = None
    ess_per_grad_a: float | None = None
    ess_per_grad_b: float | None = None
    ess_per_grad_chains_a: tuple[float, float] | None = None
    ess_per_grad_chains_b: tuple[float, float] | None = None
    step_size_a: float | None = None
    step_size_b: float | None = None
    tree_depth_a: float | None = None
    tree_depth_b: float | None = None
    fit_s_a: float | None = None
    fit_s_b: float | None = None
    compile_s_a: float | None = None
    compile_s_b: float | None = None
    min_ess_bulk_a: float | None = None
    min_ess_bulk_b: float | None = None
    ess_per_s_a: float | None = None
    ess_per_s_b: float | None = None
    settings: dict = field(default_factory=dict)

    def ratio(self, name: str) -> float | None:
        """``name``'s B/A ratio (``"fit_s"``, ``"ess_per_s"``, ...); None where either side
        lacks it or A's is zero."""
        return _ratio(getattr(self, f"{name}_a"), getattr(self, f"{name}_b"))


@dataclass(kw_only=True)
class CheckChange:
    """One check (matched on check name and subject) in A and in B.

    ``passed_a``/``passed_b`` are None where that record does not hold the check. ``change``:
    ``"pass→fail"`` (a regression), ``"fail→pass"``, ``"pass"``, ``"fail"`` (unchanged),
    ``"only in A"``, ``"only in B"``."""

    check: str
    subject: str
    passed_a: bool | None
    passed_b: bool | None
    message_a: str | None = None
    message_b: str | None = None

    @property
    def change(self) -> str:
        a, b = self.passed_a, self.passed_b
        if a is None:
            return "only in B"
        if b is None:
            return "only in A"
        if a == b:
            return "pass" if a else "fail"
        return "pass→fail" if a else "fail→pass"


@dataclass(kw_only=True)
class FailedFit:
    """A failed fit in either record. ``side``: ``"A"``, ``"B"`` or ``"both"``; ``stage`` and
    ``error`` are B's where B failed. ``status``: ``"new"`` (worked in A, failed in B: a
    regression), ``"still failing"``, ``"fixed"`` (failed in A, worked in B), ``"only in A"``
    or ``"only in B"`` (the other record did not run it)."""

    fit: str
    side: str
    stage: str
    error: str
    status: str


@dataclass(kw_only=True)
class Comparison:
    """Everything ``glmcheck compare`` shows, computed from two records.

    ``threshold``: the |z| above which a posterior shift is flagged, Bonferroni over
    ``n_compared`` comparable means at family rate ``alpha`` (None when none is comparable).
    ``exit_code``: 1 when something regressed (:attr:`regressions`), else 0.
    """

    a: dict
    b: dict
    alpha: float
    threshold: float | None
    n_compared: int
    versions: list[VersionChange]
    shifts: list[ParamShift]
    fits: list[FitPair]
    checks: list[CheckChange]
    failed_fits: list[FailedFit]
    only_a: list[str]
    only_b: list[str]
    notes: list[str]
    exit_code: int

    @property
    def flagged(self) -> list[ParamShift]:
        return [s for s in self.shifts if s.flagged]

    @property
    def not_comparable(self) -> list[ParamShift]:
        return [s for s in self.shifts if not s.comparable]

    @property
    def new_check_failures(self) -> list[CheckChange]:
        return [c for c in self.checks if c.change == "pass→fail"]

    @property
    def new_failed_fits(self) -> list[FailedFit]:
        return [f for f in self.failed_fits if f.status == "new"]

    @property
    def regressions(self) -> int:
        """Flagged shifts + checks that passed in A and fail in B + fits that worked in A and
        failed in B."""
        return len(self.flagged) + len(self.new_check_failures) + len(self.new_failed_fits)

    def to_dict(self) -> dict:
        """Plain JSON-able data (NaN as null), with the counts the summary line shows."""
        from glmcheck.results import json_safe

        out = asdict(self)
        for change, row in zip(self.checks, out["checks"]):
            row["change"] = change.change
        out["summary"] = {
            "flagged_shifts": len(self.flagged), "not_comparable": len(self.not_comparable),
            "new_check_failures": len(self.new_check_failures),
            "new_failed_fits": len(self.new_failed_fits), "line": summary_line(self),
        }
        return json_safe(out)


# -- reading records --------------------------------------------------------------------------
def find_record(path: str | Path) -> Path:
    """The record file ``path`` names: the file itself, or a run folder's ``results.json`` or
    ``record.json``. Anything else is a one-line UsageError that says what to name instead."""
    p = Path(path)
    if p.is_dir():
        for name in ("results.json", "record.json"):
            if (p / name).is_file():
                return p / name
        runs = sorted(q.name for q in p.glob("run-[0-9]*") if q.is_dir())
        if runs:
            raise UsageError(
                f"folder {str(p)!r} holds no results.json or record.json but run folders "
                f"({runs[0]} … {runs[-1]}): name one of them, e.g. {str(p / runs[-1])!r}"
            )
        raise UsageError(
            f"folder {str(p)!r} holds no results.json or record.json: name a record file or "
            f"the run folder that holds one"
        )
    if p.exists() and not p.is_file():
        raise UsageError(f"{str(p)!r} is neither a record file nor a folder that holds one")
    if not p.exists():
        raise UsageError(
            f"{str(p)!r} does not exist: name a record file (results.json, record.json) or "
            f"the run folder that holds one"
        )
    return p


def _load(path: str | Path) -> tuple[Path, dict]:
    from glmcheck.record import load_record

    file = find_record(path)
    record = load_record(file)
    if record["kind"] == "bench":
        raise UsageError(
            f"record {str(file)!r} is a benchmark: compare benchmarks with "
            f"glmcheck bench compare"
        )
    if record["kind"] == "validate":
        steps = ", ".join(str(s.get("record")) for s in record.get("steps", []) if s.get("record"))
        raise UsageError(
            f"record {str(file)!r} is a glmcheck validate run, which holds no fits itself: "
            f"compare the records of its steps ({steps or 'none were written'}, relative to "
            f"its folder)"
        )
    if record["kind"] == "bisect":
        raise UsageError(
            f"record {str(file)!r} is a bisection, which holds no fits itself: compare the "
            f"records of its candidates (candidates/*/run-*/results.json beside it)"
        )
    if record["kind"] == "compare":
        request = record["request"]
        raise UsageError(
            f"record {str(file)!r} is a comparison, not a run: compare the records it "
            f"compared ({request.get('a')!r} and {request.get('b')!r})"
        )
    return file, record


def _num(value) -> float:
    """A record's number as a float: null (a NaN written as JSON) and anything that is not a
    number become NaN; the strings "inf"/"-inf" become ±inf (as
    :func:`~glmcheck.results.json_safe` wrote them)."""
    if isinstance(value, bool):
        return math.nan
    if isinstance(value, int | float):
        return float(value)
    if value in ("inf", "-inf"):
        return float(value)
    return math.nan


def _opt(value) -> float | None:
    """A number the record may lack: None where it is missing or NaN."""
    v = _num(value)
    return None if math.isnan(v) else v


def _ratio(a, b) -> float | None:
    if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)) or a == 0:
        return None
    return b / a


def _label(case, frontend, sampler, route) -> str:
    from glmcheck.posterior import fit_label

    return fit_label(case, frontend, sampler, route)


class _Side:
    """One record's fits (worked and failed) and checks, keyed for matching."""

    def __init__(self, record: dict, name: str):
        self.name = name
        self.record = record
        self.fits: dict[tuple, dict] = {}
        self.failed: dict[tuple, dict] = {}  # (fit key, stage kind) -> entry
        self.labels: dict[tuple, str] = {}
        self.notes: list[str] = []
        for i, entry in enumerate(record["fits"]):
            if not isinstance(entry, dict):
                raise UsageError(f"record {name} is malformed: fit {i + 1} is not an object")
            ids = [entry.get(k) for k in ("case", "frontend", "sampler")]
            if not all(isinstance(v, str) for v in ids):
                raise UsageError(
                    f"record {name} is malformed: fit {i + 1} lacks a case, frontend or sampler"
                )
            # records written before routes existed hold compile-once fits only
            key = (*ids, entry.get("route") or "compiled")
            self.labels.setdefault(key, _label(*key))
            if entry.get("status") == "failed":
                stage = str(entry.get("stage") or "unknown")
                kind = "fit" if stage in _FIT_STAGES else stage.split(" data set")[0]
                self.failed.setdefault((key, kind), entry)
            elif key in self.fits:
                self.notes.append(f"record {name} holds more than one {self.labels[key]} fit; "
                                  f"the first is compared")
            else:
                self.fits[key] = entry
        self.checks: dict[tuple, dict] = {}
        for i, entry in enumerate(record["checks"]):
            if not isinstance(entry, dict) or not isinstance(entry.get("check"), str) or \
                    not isinstance(entry.get("passed"), bool):
                raise UsageError(f"record {name} is malformed: check {i + 1} has no check name "
                                 f"or no true/false 'passed'")
            key = (entry["check"], _subject(entry))
            if key in self.checks:
                self.notes.append(f"record {name} holds more than one {key[0]} check of "
                                  f"{key[1]}; the first is compared")
            else:
                self.checks[key] = entry

    def checked(self, check: str, subject: str) -> bool:
        return (check, subject) in self.checks


def _subject(entry: dict) -> str:
    """A check's subject as :attr:`CheckResult.subject` wrote it (rebuilt for records that lack
    it)."""
    if isinstance(entry.get("subject"), str):
        return entry["subject"]
    parts = [str(entry.get("case")), " vs ".join(entry.get("frontends") or []),
             " vs ".join(entry.get("samplers") or [])]
    if entry.get("route") and entry["route"] != "compiled":
        parts.append(entry["route"])
    return " · ".join(parts)


# -- the comparison ---------------------------------------------------------------------------
def compare_records(a: dict, b: dict, *, alpha: float = ALPHA,
                    sources: tuple[str, str] = ("A", "B")) -> Comparison:
    """Compare record ``a`` (before) with record ``b`` (after); see the module docstring.

    ``sources`` names the records in messages (their paths, for the CLI). Raises UsageError
    when ``alpha`` is not in (0, 1) or when the records share nothing that can be judged: no
    comparable posterior mean, no check and no fit that failed in one of them.
    """
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 1:
        raise UsageError(f"expected 0 < alpha < 1 but got alpha={alpha}")
    side_a, side_b = _Side(a, sources[0]), _Side(b, sources[1])
    notes = [*side_a.notes, *side_b.notes]
    data_a, data_b = a["request"].get("data"), b["request"].get("data")
    if data_a != data_b:
        notes.append(f"A and B fitted different data ({data_a or 'reference data'} → "
                     f"{data_b or 'reference data'}): their posteriors differ by design")
    if a.get("kind") != b.get("kind"):
        notes.append(f"A is a {a.get('kind')} record and B a {b.get('kind')} record")

    common = [k for k in side_a.fits if k in side_b.fits]
    shifts: list[ParamShift] = []
    pairs: list[FitPair] = []
    for key in common:
        fa, fb = side_a.fits[key], side_b.fits[key]
        label = side_a.labels[key]
        shifts.extend(_shifts(label, fa, fb))
        pairs.append(_pair(label, fa, fb))
        if pairs[-1].settings:
            changed = ", ".join(f"{k} {x} → {y}" for k, (x, y) in pairs[-1].settings.items())
            notes.append(f"{label} ran with different settings: {changed}")
        for side, entry in (("A", fa), ("B", fb)):
            if entry.get("converged") is False:
                notes.append(f"{label} did not converge in {side} (R-hat or divergences): its "
                             f"MCSEs may understate the error, so read its z with care")

    n = sum(s.comparable for s in shifts)
    threshold = None
    if n:
        from glmcheck.stats.multiplicity import bonferroni_z

        threshold = bonferroni_z(alpha, n)
        for s in shifts:
            s.flagged = s.comparable and abs(s.z) > threshold

    checks = _checks(side_a, side_b)
    failed = _failed(side_a, side_b)
    fit_keys = list(dict.fromkeys([*side_a.fits, *(k for k, _ in side_a.failed)]))
    fit_keys_b = list(dict.fromkeys([*side_b.fits, *(k for k, _ in side_b.failed)]))
    only_a = [side_a.labels[k] for k in fit_keys if k not in fit_keys_b]
    only_b = [side_b.labels[k] for k in fit_keys_b if k not in fit_keys]

    judged = n + sum(c.passed_a is not None and c.passed_b is not None for c in checks) + sum(
        f.status in ("new", "still failing", "fixed") for f in failed)
    if not judged:
        if common:
            raise UsageError(
                f"nothing to compare: the {len(common)} fit(s) {sources[0]} and {sources[1]} "
                f"share have no posterior mean with a finite MCSE on both sides, and the "
                f"records share no check; rerun those fits (a NaN MCSE means degenerate or "
                f"missing draws)"
            )
        raise UsageError(
            f"nothing to compare: {sources[0]} ({_some(fit_keys, side_a.labels)}) and "
            f"{sources[1]} ({_some(fit_keys_b, side_b.labels)}) share no fit and no check; "
            f"compare records of the same cases, frontends, samplers and routes"
        )

    env_a, env_b = a["environment"], b["environment"]
    if env_a.get("cpu_model") != env_b.get("cpu_model") or \
            env_a.get("cpu_count") != env_b.get("cpu_count"):
        notes.append("A and B ran on different CPUs: their times say little about the libraries")
    comparison = Comparison(
        a=_source(a, sources[0]), b=_source(b, sources[1]), alpha=float(alpha),
        threshold=threshold, n_compared=n, versions=_versions(env_a, env_b), shifts=shifts,
        fits=pairs, checks=checks, failed_fits=failed, only_a=only_a, only_b=only_b,
        notes=list(dict.fromkeys(notes)), exit_code=EXIT_OK,
    )
    comparison.exit_code = EXIT_FAILED if comparison.regressions else EXIT_OK
    return comparison


def _some(keys, labels, limit: int = 3) -> str:
    if not keys:
        return "no fits"
    shown = ", ".join(labels[k] for k in keys[:limit])
    return shown + (f" and {len(keys) - limit} more" if len(keys) > limit else "")


def _source(record: dict, name: str) -> dict:
    return {"path": name, "kind": record.get("kind"), "created": record.get("created"),
            "exit_code": record.get("exit_code")}


def _versions(env_a: dict, env_b: dict) -> list[VersionChange]:
    def show(versions: dict, name: str) -> str:
        if name not in versions:
            return "not recorded"
        return "not installed" if versions[name] is None else str(versions[name])

    va, vb = env_a.get("versions") or {}, env_b.get("versions") or {}
    out = [VersionChange(name=k, a=show(va, k), b=show(vb, k))
           for k in dict.fromkeys([*va, *vb]) if show(va, k) != show(vb, k)]
    for key in ("python", "implementation", "platform", "machine", "cpu_model", "cpu_count"):
        if key == "python" and ("python" in va or "python" in vb):
            continue  # already among the versions
        if env_a.get(key) != env_b.get(key):
            out.append(VersionChange(name=key, a=show(env_a, key), b=show(env_b, key)))
    return out


def _params(entry: dict) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for p in entry.get("params") or []:
        if isinstance(p, dict) and isinstance(p.get("name"), str):
            out.setdefault(p["name"], p)
    return out


def _shifts(label: str, fa: dict, fb: dict) -> list[ParamShift]:
    pa, pb = _params(fa), _params(fb)
    out = []
    for name in dict.fromkeys([*pa, *pb]):
        x, y = pa.get(name, {}), pb.get(name, {})
        ma, mb, sa, sb = (_num(x.get("mean")), _num(y.get("mean")), _num(x.get("sd")),
                          _num(y.get("sd")))
        ea, eb = _num(x.get("mcse_mean")), _num(y.get("mcse_mean"))
        diff = mb - ma if math.isfinite(ma) and math.isfinite(mb) else math.nan
        reason = None
        if name not in pa or name not in pb:
            reason = f"only in {'A' if name in pa else 'B'}"
        elif not math.isfinite(diff):
            reason = "mean missing or not finite in " + _sides(ma, mb)
        elif not (math.isfinite(ea) and math.isfinite(eb) and ea >= 0 and eb >= 0):
            reason = "MCSE missing or NaN in " + _sides(ea, eb)
        elif ea == 0 and eb == 0:
            reason = "MCSE is 0 on both sides (constant draws)"
        z = diff / math.hypot(ea, eb) if reason is None else math.nan
        out.append(ParamShift(
            fit=label, name=name, mean_a=ma, mean_b=mb, sd_a=sa, sd_b=sb, mcse_a=ea, mcse_b=eb,
            shift_sd=diff / sa if math.isfinite(sa) and sa > 0 else math.nan,
            sd_ratio=sb / sa if math.isfinite(sa) and sa > 0 and math.isfinite(sb) else math.nan,
            z=z, comparable=reason is None, reason=reason,
        ))
    return out


def _sides(a: float, b: float) -> str:
    bad = [s for s, v in (("A", a), ("B", b)) if not (math.isfinite(v) and v >= 0)] or ["A"]
    return " and ".join(bad)


def _chain_range(behaviour: dict, name: str) -> tuple[float, float] | None:
    values = [v for v in (_opt(x) for x in (behaviour.get("chains") or {}).get(name) or [])
              if v is not None]
    return (min(values), max(values)) if values else None


def _min_ess(entry: dict) -> float | None:
    values = [_num(p.get("ess_bulk")) for p in _params(entry).values()]
    if not values or any(math.isnan(v) for v in values):
        return None  # a NaN ESS never hides behind a smaller one
    return min(values)


def _pair(label: str, fa: dict, fb: dict) -> FitPair:
    pair = FitPair(fit=label, converged_a=fa.get("converged"), converged_b=fb.get("converged"))
    for side, entry in (("a", fa), ("b", fb)):
        beh = entry.get("behaviour") if isinstance(entry.get("behaviour"), dict) else {}
        timing = entry.get("timing") if isinstance(entry.get("timing"), dict) else {}
        div = beh.get("divergences", entry.get("divergences"))
        setattr(pair, f"divergences_{side}", div if isinstance(div, int) and
                not isinstance(div, bool) else None)
        for name in ("grad_per_draw", "ess_per_grad", "step_size", "tree_depth"):
            setattr(pair, f"{name}_{side}", _opt(beh.get(name)))
        setattr(pair, f"ess_per_grad_chains_{side}", _chain_range(beh, "ess_per_grad"))
        fit_s = _opt(timing.get("fit_s"))
        ess = _min_ess(entry)
        setattr(pair, f"fit_s_{side}", fit_s)
        setattr(pair, f"compile_s_{side}", _opt(timing.get("compile_s")))
        setattr(pair, f"min_ess_bulk_{side}", ess)
        setattr(pair, f"ess_per_s_{side}", ess / fit_s if ess is not None and fit_s else None)
    sa, sb = fa.get("settings") or {}, fb.get("settings") or {}
    pair.settings = {k: [sa.get(k), sb.get(k)] for k in dict.fromkeys([*sa, *sb])
                     if sa.get(k) != sb.get(k)}
    return pair


def _checks(side_a: _Side, side_b: _Side) -> list[CheckChange]:
    out = []
    for key in dict.fromkeys([*side_a.checks, *side_b.checks]):
        ca, cb = side_a.checks.get(key), side_b.checks.get(key)
        out.append(CheckChange(
            check=key[0], subject=key[1],
            passed_a=None if ca is None else ca["passed"],
            passed_b=None if cb is None else cb["passed"],
            message_a=None if ca is None else ca.get("message"),
            message_b=None if cb is None else cb.get("message"),
        ))
    return out


def _worked(side: _Side, key: tuple, kind: str) -> bool:
    """Whether ``side`` ran what failed on the other side and it worked: the fit itself, or
    (for a refit such as a coverage simulation) all refits its check needed."""
    if key not in side.fits or (key, kind) in side.failed:
        return False
    if kind == "fit":
        return True
    return side.checked(kind, side.labels[key])


def _failed(side_a: _Side, side_b: _Side) -> list[FailedFit]:
    out = []
    for fkey in dict.fromkeys([*side_a.failed, *side_b.failed]):
        key, kind = fkey
        ea, eb = side_a.failed.get(fkey), side_b.failed.get(fkey)
        entry = eb if eb is not None else ea
        label = (side_b if eb is not None else side_a).labels[key]
        if ea is not None and eb is not None:
            side, status = "both", "still failing"
        elif eb is not None:
            side, status = "B", "new" if _worked(side_a, key, kind) else "only in B"
        else:
            side, status = "A", "fixed" if _worked(side_b, key, kind) else "only in A"
        out.append(FailedFit(fit=label, side=side, stage=str(entry.get("stage") or "unknown"),
                             error=str(entry.get("error") or ""), status=status))
    return out


# -- rendering --------------------------------------------------------------------------------
def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def summary_line(c: Comparison) -> str:
    """``2 posterior shifts, 0 new check failures, 1 new failed fit; pymc 5.28.5 → 6.4.0``"""
    parts = [_plural(len(c.flagged), "posterior shift"),
             _plural(len(c.new_check_failures), "new check failure"),
             _plural(len(c.new_failed_fits), "new failed fit")]
    if c.not_comparable:
        parts.append(f"{len(c.not_comparable)} not comparable")
    libs = [v for v in c.versions if v.name in _HEADLINE]
    libs.sort(key=lambda v: _HEADLINE.index(v.name))
    shown = [f"{v.name} {v.a} → {v.b}" for v in libs[:3]]
    rest = len(c.versions) - len(shown)
    if not c.versions:
        versions = "same versions"
    else:
        versions = ", ".join(shown) or _plural(rest, "environment change")
        if shown and rest:
            versions += f" (+{rest} more)"
    return ", ".join(parts) + "; " + versions


def _f(x, digits: int = 4) -> str:
    """A number for a table: ``—`` where missing or NaN."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    if math.isfinite(x) and abs(x) >= 10 ** digits:
        return f"{x:.0f}"
    return f"{x:#.{digits}g}".rstrip(".")


def _signed(x: float, digits: int = 2) -> str:
    return "—" if x is None or math.isnan(x) else f"{x:+.{digits}f}"


def _arrow(a, b, digits: int = 3, ratio: bool = True) -> str:
    text = f"{_f(a, digits)} → {_f(b, digits)}"
    r = _ratio(a, b)
    return text + (f" (×{r:.2f})" if ratio and r is not None else "")


def _verdict(s: ParamShift) -> str:
    if not s.comparable:
        return f"not comparable: {s.reason}"
    return "SHIFTED" if s.flagged else "ok"


#: a pull-request comment must stay well under GitHub's 65 536 characters: tables longer than
#: this many rows show their most changed rows, and the record has the rest
MAX_ROWS = 20


def _shown_shifts(c: Comparison) -> list[ParamShift]:
    """The compact view: every flagged and every not-comparable row, then the unflagged rows
    with the largest |z|, up to :data:`MAX_ROWS` rows in all."""
    keep = [s for s in c.shifts if s.flagged or not s.comparable]
    rest = sorted((s for s in c.shifts if s.comparable and not s.flagged),
                  key=lambda s: -abs(s.z))
    keep += rest[:max(0, MAX_ROWS - len(keep))]
    ids = {id(s) for s in keep}
    return [s for s in c.shifts if id(s) in ids]


def _most_changed(pairs: list[FitPair], names: tuple[str, ...]) -> list[FitPair]:
    """At most :data:`MAX_ROWS` fits: those whose ``names`` ratios are farthest from 1."""
    import math

    if len(pairs) <= MAX_ROWS:
        return pairs

    def distance(p):
        ratios = [p.ratio(n) for n in names]
        return max((abs(math.log(r)) for r in ratios if r and r > 0), default=0.0)

    ids = {id(p) for p in sorted(pairs, key=lambda p: -distance(p))[:MAX_ROWS]}
    return [p for p in pairs if id(p) in ids]


_SHIFT_HEAD = ("fit", "parameter", "mean A", "mean B", "Δmean/sd_A", "sd B/A", "z", "verdict")


def _shift_cells(s: ParamShift) -> list[str]:
    return [s.fit, s.name, _f(s.mean_a), _f(s.mean_b), _signed(s.shift_sd),
            _f(s.sd_ratio, 3), _signed(s.z), _verdict(s)]


def _rule(c: Comparison) -> str:
    if c.threshold is None:
        return "no posterior mean had a finite MCSE on both sides: none could be compared"
    return (f"{c.n_compared} means compared; a shift is flagged when |z| > {c.threshold:.2f} "
            f"(Bonferroni over {c.n_compared} at family α = {c.alpha:g}); "
            f"z = Δmean / √(MCSE_A² + MCSE_B²)")


def _behaviour_cells(p: FitPair) -> list[str]:
    div = f"{'n/a' if p.divergences_a is None else p.divergences_a} → " \
          f"{'n/a' if p.divergences_b is None else p.divergences_b}"
    return [p.fit, div, _arrow(p.grad_per_draw_a, p.grad_per_draw_b),
            _arrow(p.ess_per_grad_a, p.ess_per_grad_b),
            _arrow(p.step_size_a, p.step_size_b), _arrow(p.tree_depth_a, p.tree_depth_b)]


_BEHAVIOUR_HEAD = ("fit", "divergences", "grad/draw", "ESS/grad", "step size", "tree depth")
_TIME_HEAD = ("fit", "fit s", "min ESS_bulk/s", "compile s")


def _time_cells(p: FitPair) -> list[str]:
    return [p.fit, _arrow(p.fit_s_a, p.fit_s_b), _arrow(p.ess_per_s_a, p.ess_per_s_b, 4),
            _arrow(p.compile_s_a, p.compile_s_b)]


#: the terminal's long form: (label, FitPair field, digits)
_BEHAVIOUR_ROWS = (("divergences", "divergences", 0), ("grad/draw", "grad_per_draw", 3),
                   ("ESS/grad", "ess_per_grad", 3), ("step size", "step_size", 3),
                   ("tree depth", "tree_depth", 3))
_TIME_ROWS = (("fit s", "fit_s", 3), ("min ESS_bulk/s", "ess_per_s", 4),
              ("compile s", "compile_s", 3))


def _long_rows(pairs: list[FitPair], rows) -> list[list[str]]:
    out = []
    for p in pairs:
        for i, (label, name, digits) in enumerate(rows):
            a, b = getattr(p, f"{name}_a"), getattr(p, f"{name}_b")
            if digits:
                cells = [_f(a, digits), _f(b, digits)]
                r = p.ratio(name)
                cells.append("—" if r is None else f"×{r:.2f}")
            else:
                cells = ["n/a" if a is None else str(a), "n/a" if b is None else str(b), ""]
            out.append([p.fit if i == 0 else "", label, *cells])
    return out


def _check_rows(c: Comparison) -> tuple[list[CheckChange], str]:
    changed = [x for x in c.checks if x.change not in ("pass", "fail")]
    same = [x for x in c.checks if x.change in ("pass", "fail")]
    passing = sum(x.change == "pass" for x in same)
    rest = (f"{len(same)} unchanged ({passing} pass, {len(same) - passing} fail)"
            if same else "no check unchanged")
    return changed, rest


def _yes(v: bool | None) -> str:
    return "—" if v is None else ("PASS" if v else "FAIL")


_FAILED_MEANING = {
    "new": "worked in A, failed in B: regression", "still failing": "failed in A and B",
    "fixed": "failed in A, works in B", "only in A": "failed in A; B did not run it",
    "only in B": "failed in B; A did not run it",
}


def _md(text) -> str:
    """A Markdown table cell: no pipes, newlines or HTML."""
    text = " ".join(str(text).split())
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _md_table(head, rows) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(_md(c) for c in row) + " |" for row in rows]
    return out


def _short(text: str, limit: int = 240) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def to_markdown(c: Comparison) -> str:
    """GitHub-flavoured Markdown for a pull-request comment: the summary line first, then one
    section per part. Compact: every flagged and not-comparable shift, else the largest |z| per
    fit; the full table folds into ``<details>``."""
    verdict = ("**regression** (exit 1)" if c.exit_code else "no regression (exit 0)")
    lines = [f"**glmcheck compare**: {summary_line(c)}", "",
             f"A `{c.a['path']}` ({c.a['kind']}, {c.a['created']}) → "
             f"B `{c.b['path']}` ({c.b['kind']}, {c.b['created']}): {verdict}", ""]
    if c.versions:
        lines += ["### Versions that differ", ""]
        lines += _md_table(("", "A", "B"), [(v.name, v.a, v.b) for v in c.versions]) + [""]
    if c.shifts:
        shown = _shown_shifts(c)
        lines += ["### Posterior shifts", "", _rule(c) + ".", ""]
        lines += _md_table(_SHIFT_HEAD, [_shift_cells(s) for s in shown])
        if len(shown) < len(c.shifts) <= 3 * MAX_ROWS:
            lines += ["", f"<details><summary>all {len(c.shifts)} parameters</summary>", ""]
            lines += _md_table(_SHIFT_HEAD, [_shift_cells(s) for s in c.shifts])
            lines += ["", "</details>"]
        elif len(shown) < len(c.shifts):
            lines += ["", f"{len(shown)} of {len(c.shifts)} parameters shown (flagged first, "
                          "then the largest |z|); the compare record has them all."]
        lines.append("")
    if c.fits:
        for title, head, cells, names in (
            ("Sampler behaviour (shown, not judged)", _BEHAVIOUR_HEAD, _behaviour_cells,
             ("grad_per_draw", "ess_per_grad", "step_size", "tree_depth")),
            ("Time and ESS per second (information only: no timing verdict)", _TIME_HEAD,
             _time_cells, ("fit_s", "ess_per_s")),
        ):
            shown = _most_changed(c.fits, names)
            lines += [f"### {title}", ""] + _md_table(head, [cells(p) for p in shown])
            if len(shown) < len(c.fits):
                lines += ["", f"The {len(shown)} of {len(c.fits)} fits that changed most; "
                              "the compare record has them all."]
            lines.append("")
    if c.checks:
        changed, rest = _check_rows(c)
        lines += ["### Checks", ""]
        if changed:
            lines += _md_table(("check", "subject", "A", "B", "message"), [
                (x.check, x.subject, _yes(x.passed_a), _yes(x.passed_b),
                 _short(x.message_b or x.message_a or "")) for x in changed]) + [""]
        lines += [f"{rest}.", ""]
    if c.failed_fits:
        lines += ["### Failed fits", ""]
        lines += _md_table(("fit", "failed in", "stage", "error", "meaning"), [
            (f.fit, f.side, f.stage, _short(f.error), _FAILED_MEANING[f.status])
            for f in c.failed_fits]) + [""]
    if c.only_a or c.only_b:
        lines += ["### Fits in one record only", ""]
        lines += [f"- only in A: {_md(x)}" for x in c.only_a]
        lines += [f"- only in B: {_md(x)}" for x in c.only_b] + [""]
    if c.notes:
        lines += ["### Notes", ""] + [f"- {_md(n)}" for n in c.notes[:MAX_ROWS]]
        if len(c.notes) > MAX_ROWS:
            lines.append(f"- … and {len(c.notes) - MAX_ROWS} more notes in the compare record")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def renderables(c: Comparison) -> list:
    """The terminal rendering as ``rich`` objects (tables and lines)."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    def table(title, head, rows, caption=None, styles=None, right=()):
        t = Table(title=f"[bold]{title}[/]", box=box.SIMPLE_HEAD, title_justify="left",
                  caption=caption and escape(caption), caption_justify="left")
        for i, h in enumerate(head):
            t.add_column(h, justify="right" if i in right else "left", overflow="fold",
                         no_wrap=i == 0)
        for i, row in enumerate(rows):
            t.add_row(*(escape(str(cell)) for cell in row), style=(styles or {}).get(i))
        return t

    style = "bold red" if c.exit_code else "green"
    out: list = [Text(f"glmcheck compare: {summary_line(c)}", style=style),
                 Text(f"A {c.a['path']} ({c.a['kind']}, {c.a['created']})\n"
                      f"B {c.b['path']} ({c.b['kind']}, {c.b['created']})")]
    if c.versions:
        out.append(table("versions that differ", ("", "A", "B"),
                         [(v.name, v.a, v.b) for v in c.versions]))
    if c.shifts:
        shown = _shown_shifts(c)
        hidden = len(c.shifts) - len(shown)
        caption = _rule(c) + (f"; {hidden} unflagged rows not shown (--markdown has them all)"
                              if hidden else "")
        styles = {i: "red" if s.flagged else "yellow" if not s.comparable else None
                  for i, s in enumerate(shown)}
        out.append(table("posterior shifts", _SHIFT_HEAD, [_shift_cells(s) for s in shown],
                         caption, styles, right=range(2, 7)))
    if c.fits:
        head = ("fit", "", "A", "B", "B/A")
        out.append(table("sampler behaviour (shown, not judged)", head,
                         _long_rows(c.fits, _BEHAVIOUR_ROWS), right=range(2, 5)))
        out.append(table("time and ESS per second (information only)", head,
                         _long_rows(c.fits, _TIME_ROWS), right=range(2, 5)))
    if c.checks:
        changed, rest = _check_rows(c)
        styles = {i: "red" if x.change == "pass→fail" else None for i, x in enumerate(changed)}
        if changed:
            out.append(table("checks", ("check", "subject", "A", "B", "message"), [
                (x.check, x.subject, _yes(x.passed_a), _yes(x.passed_b),
                 _short(x.message_b or x.message_a or "")) for x in changed], rest, styles))
        else:
            out.append(Text(f"checks: {rest}"))
    if c.failed_fits:
        styles = {i: "red" if f.status == "new" else None for i, f in enumerate(c.failed_fits)}
        out.append(table("failed fits", ("fit", "failed in", "stage", "error", "meaning"), [
            (f.fit, f.side, f.stage, _short(f.error), _FAILED_MEANING[f.status])
            for f in c.failed_fits], styles=styles))
    for label, fits in (("only in A", c.only_a), ("only in B", c.only_b)):
        if fits:
            out.append(Text(f"fits {label}: {'; '.join(fits)}"))
    out += [Text(f"note: {n}", style="dim") for n in c.notes]
    return out


def to_text(c: Comparison, width: int = 120) -> str:
    """The terminal rendering as plain text."""
    import os

    from rich.console import Console

    with open(os.devnull, "w") as sink:
        console = Console(width=width, record=True, file=sink, color_system=None)
        for item in renderables(c):
            console.print(item)
        return console.export_text()


# -- the command ------------------------------------------------------------------------------
def add_parser(sub, parser_class) -> None:
    import argparse

    p = sub.add_parser(
        "compare",
        help="compare two run records: versions, posterior shifts, sampling, checks",
        description="Show run record A (before) and B (after) side by side: versions that "
        "differ, posterior means that moved beyond Monte Carlo error (flagged), sampler "
        "behaviour and time (shown, not judged), checks whose verdict changed and failed fits. "
        "Exit 0 when nothing regressed, 1 on a flagged shift, a check that passed in A and "
        "fails in B, or a fit that worked in A and failed in B, 2 on bad input.",
    )
    p.add_argument("a", metavar="A", help="before: a record file, or a run folder holding "
                   "results.json or record.json")
    p.add_argument("b", metavar="B", help="after: a record file or run folder")
    p.add_argument("--alpha", type=float, default=ALPHA,
                   help=f"family false-alarm rate over all posterior means (default {ALPHA:g})")
    p.add_argument("--markdown", metavar="FILE",
                   help="also write GitHub Markdown (a pull-request comment) to FILE; "
                        "'-' prints it to stdout instead of the tables")
    p.add_argument("--out", "-o", type=Path, default=Path("glmcheck-out"),
                   help="folder for the comparison's record.json (a new run-NNN inside; "
                        "default: glmcheck-out)")
    p.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)


def command(args) -> int:
    import sys

    from glmcheck.cli import new_run_dir
    from glmcheck.record import new_record, write_record

    if not 0 < args.alpha < 1:
        raise UsageError(f"expected 0 < alpha < 1 but got alpha={args.alpha}")
    file_a, record_a = _load(args.a)
    file_b, record_b = _load(args.b)
    comparison = compare_records(record_a, record_b, alpha=args.alpha,
                                 sources=(str(file_a), str(file_b)))
    markdown = to_markdown(comparison) if args.markdown else None
    if markdown is not None and args.markdown != "-":
        try:
            Path(args.markdown).write_text(markdown)
        except OSError as exc:
            raise UsageError(f"cannot write Markdown file {args.markdown!r}: "
                             f"{exc.strerror or exc}") from None
    run_dir = new_run_dir(args.out)
    record = new_record(
        "compare",
        {"a": str(file_a.resolve()), "b": str(file_b.resolve()), "alpha": args.alpha},
        comparison=comparison.to_dict(), exit_code=comparison.exit_code,
    )
    write_record(run_dir / "record.json", record)
    if args.markdown == "-":
        sys.stdout.write(markdown)
        print(f"record: {run_dir / 'record.json'}", file=sys.stderr)
    else:
        from glmcheck.report import stdout_console

        out = stdout_console()
        for item in renderables(comparison):
            out.print(item)
        if args.markdown:
            out.print(f"markdown: {args.markdown}")
        out.print(f"record: {run_dir / 'record.json'}")
    return comparison.exit_code
