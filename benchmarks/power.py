"""Power of glmcheck's default verdicts against the planted errors of ``planted_errors.py``.

For every plant of the catalogue (and the correct model, for false alarms) and every seed, this
runs each default verdict as its command would and records whether it failed and what it cost:

* ``glmcheck check``'s checks: ``convergence``, ``exact`` (``linear``), ``recovery`` and
  ``agreement`` on a fit of the case's reference data at the check's settings (``--seed``
  8927 + s), the PyMC frontend carrying the plant and the Bambi frontend right (errors of the
  draws hit both); and ``coverage``, K prior simulations (seed group s);
* SBC at its default size (200 prior simulations, seed group s), ``glmcheck sbc``'s verdict;
* the baseline check: a fit of the stored reference data at ``baseline check``'s settings
  against the committed reference, at the default check's threshold (|z| < 4.78: K = 5600).

Stage ``fits`` makes the check's and the baseline check's fits; stage ``sims`` makes pools of
prior simulations exactly as ``glmcheck sbc`` does (``simulation_seeds``, ``simulation_ranks``,
2 chains × (1000 + 1000), thin 10), from which coverage takes disjoint groups of K and SBC
disjoint groups of 200. A correct model's fits and simulations also serve the errors of the
draws (each transforms the same fit as the planted sampler would). Everything is appended to
JSON-lines files under ``--out``, so a killed run resumes; ``--report`` writes the tables::

    python benchmarks/power.py --stage fits --seeds 20
    python benchmarks/power.py --stage sims --sims 400              # coverage, every plant
    python benchmarks/power.py --stage sims --sims 4000 --kinds none # SBC, correct models + draws
    python benchmarks/power.py --stage oldcov --cases linear        # the coverage check before
    python benchmarks/power.py --stage costs                        # alone on the machine
    python benchmarks/power.py --report --markdown power-table.txt --json power.json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import subprocess
import sys
import time
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import planted_errors as P  # noqa: E402

SEED = 8927
SBC_SEED = 1
SBC_SIZE = 200
COVERAGE_K = 20
CHECK_VERDICTS = ("convergence", "exact", "recovery", "agreement")
VERDICTS = (*CHECK_VERDICTS, "coverage", "check", "sbc", "baseline", "coverage_before",
            "check_before")


def _append(path: Path, record: dict) -> None:
    with open(path, "a") as fh:
        fh.write(json.dumps(record) + "\n")


def _read(path: Path) -> list[dict]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:  # a line cut by a kill
            pass
    return out


# -- stage fits ---------------------------------------------------------------------------------
def _verdicts(posts: dict, exact, truth, prior_var, reference, crit) -> dict:
    """The verdicts whose fits are in ``posts``: the check's on ``pymc`` (and ``bambi``), the
    baseline check's on ``baseline``; each with its fit's seconds plus its own."""
    from glmcheck.baseline import compare_posterior
    from glmcheck.checks import check_agreement, check_convergence, check_exact, check_recovery

    timed = {}
    if "pymc" in posts:
        post = posts["pymc"]
        timed = {
            "convergence": lambda: check_convergence(post),
            "recovery": lambda: check_recovery(post, truth, prior_var),
            "agreement": lambda: check_agreement(post, posts["bambi"]),
        }
        if exact is not None:
            timed["exact"] = lambda: check_exact(post, exact)
    if "baseline" in posts:
        timed["baseline"] = lambda: compare_posterior(posts["baseline"], reference, crit=crit,
                                                      alpha=0.01, k_total=5600)
    out = {}
    for name, run in timed.items():
        start = time.perf_counter()
        result = run()
        fit = posts["baseline" if name == "baseline" else "pymc"].timing.fit
        if name == "agreement":
            fit += posts["bambi"].timing.fit
        out[name] = {"failed": not result.passed, "seconds": fit + time.perf_counter() - start}
    return out


#: ``glmcheck check``'s default settings (a case's own fit settings win where it has them)
CHECK_SETTINGS = dict(chains=4, tune=1000, draws=1000)
#: where each stage of fits keeps its records
FIT_STAGES = {"fits": ("pymc", "bambi"), "baseline": ("baseline",)}


def stage_fits(cases, seeds: int, out: Path, kinds) -> None:
    """The check's fits (``fits/``) and the baseline check's (``baseline/``) of every plant."""
    from glmcheck.baseline import check_settings, load_reference
    from glmcheck.cases import get_case
    from glmcheck.fitters import FitSettings, make_fitter
    from glmcheck.frontends import build
    from glmcheck.runner import FitRequest
    from glmcheck.stats.multiplicity import bonferroni_z

    crit = bonferroni_z(0.01, 5600)
    for stage in FIT_STAGES:
        (out / stage).mkdir(parents=True, exist_ok=True)
    for case_name in cases:
        base = get_case(case_name)
        reference = load_reference(base)
        settings = FitRequest(settings=FitSettings(**CHECK_SETTINGS)).settings_for(base)
        bsettings = check_settings(base)
        prior_var = base.prior_variance()
        truth = dict(base.true_params)
        plants = [p for p in P.catalogue([case_name])
                  if (p.kind in kinds or p.kind == "none") and p.kind != "stale"]

        def missing(plant) -> dict[str, set[int]]:
            return {stage: set(range(seeds)) - {r["seed"] for r in _read(
                out / stage / f"{plant.name}.jsonl")} for stage in FIT_STAGES}

        def write(plant, s, posts, exact, stages):
            result = _verdicts({k: v for k, v in posts.items()
                                if any(k in FIT_STAGES[st] for st in stages)},
                               exact, truth, prior_var, reference, crit)
            for stage in stages:
                keep = {k: v for k, v in result.items()
                        if (k == "baseline") == (stage == "baseline")}
                _append(out / stage / f"{plant.name}.jsonl", {"seed": s, **keep})

        # the correct model's fits serve the errors of the draws too
        draw_plants = [p for p in plants if p.kind in P.DRAW_KINDS]
        for plant in plants:
            if plant.kind in P.DRAW_KINDS:
                continue
            needs = missing(plant)
            if plant.kind == "none":
                for other in draw_plants:
                    for stage, todo in missing(other).items():
                        needs[stage] |= todo
            if not any(needs.values()):
                continue
            case = plant.planted_case()
            data = case.reference_data()
            exact = base.exact_posterior(data)
            pymc = make_fitter("nutpie", build(case, "pymc", data), settings)
            bambi = None
            if plant.kind in ("none", "simulator") and needs["fits"]:
                bambi = make_fitter("nutpie", build(case, "bambi", data), settings)
            for s in sorted(needs["fits"] | needs["baseline"]):
                posts = {}
                if s in needs["fits"]:
                    posts["pymc"] = pymc.fit(seed=SEED + s)
                    posts["bambi"] = (bambi.fit(seed=SEED + s) if bambi is not None
                                      else None)
                if s in needs["baseline"]:
                    posts["baseline"] = pymc.fit(reference.data[case.response].to_numpy(),
                                                 seed=SEED + s, settings=bsettings)
                if plant.kind == "none":
                    for other in draw_plants:
                        todo = missing(other)
                        stages = [st for st in FIT_STAGES if s in todo[st]]
                        if stages:
                            write(other, s, {k: P.plant_draws(v, other.kind, other.size)
                                             for k, v in posts.items()}, exact, stages)
                elif "pymc" in posts and posts["bambi"] is None:
                    posts["bambi"] = _null_bambi(case_name, s, data, settings)
                stages = [st for st in FIT_STAGES if s in missing(plant)[st]]
                if stages:
                    write(plant, s, posts, exact, stages)
            print(f"fits: {plant.name} done", flush=True)


_NULL_BAMBI: dict = {}


def _null_bambi(case_name: str, s: int, data, settings):
    """The correct Bambi model's fit of the reference data at seed s (compiled once)."""
    from glmcheck.cases import get_case
    from glmcheck.fitters import make_fitter
    from glmcheck.frontends import build

    if case_name not in _NULL_BAMBI:
        _NULL_BAMBI.clear()
        _NULL_BAMBI[case_name] = make_fitter(
            "nutpie", build(get_case(case_name), "bambi", data), settings)
    return _NULL_BAMBI[case_name].fit(seed=SEED + s)


# -- the coverage check before this version, for comparison -------------------------------------
def old_coverage_failed(posteriors, truth, alpha: float = 1e-4, prob: float = 0.9) -> bool:
    """The coverage check glmcheck had until 2026-12-02: central 90 % intervals over K data
    sets simulated at the case's fixed true parameters, each element failing when P(X <=
    covered | K, 0.9) <= alpha / elements (one-sided binomial)."""
    from scipy import stats

    from glmcheck.checks.recovery import covered, truth_elements

    true = truth_elements(truth, posteriors[0])
    hits = dict.fromkeys(true, 0)
    for post in posteriors:
        for label, inside in covered(post, true, prob).items():
            hits[label] += inside
    level = alpha / len(true)
    return any(stats.binom.cdf(k, len(posteriors), prob) <= level for k in hits.values())


def stage_old_coverage(cases, seeds: int, out: Path, kinds, k_sets: int = COVERAGE_K) -> None:
    """The old coverage check of every plant that changes fits (and, from the correct model's
    fits, of the errors of the draws), as ``glmcheck check --seed 8927 + s`` ran it."""
    from glmcheck.cases import get_case
    from glmcheck.fitters import FitSettings, make_fitter
    from glmcheck.frontends import build
    from glmcheck.runner import FitRequest

    (out / "oldcov").mkdir(parents=True, exist_ok=True)
    for case_name in cases:
        base = get_case(case_name)
        settings = FitRequest(settings=FitSettings(**CHECK_SETTINGS)).settings_for(base)
        truth = dict(base.true_params)
        plants = [p for p in P.catalogue([case_name]) if p.kind in kinds or p.kind == "none"]
        draw_plants = [p for p in plants if p.kind in P.DRAW_KINDS]
        for plant in plants:
            if plant.kind in P.DRAW_KINDS:
                continue
            path = out / "oldcov" / f"{plant.name}.jsonl"
            done = {r["seed"] for r in _read(path)}
            if len(done) >= seeds:
                continue
            case = plant.planted_case()
            data = case.reference_data()
            cls = (P.planted_fitter("stale", plant.size) if plant.kind == "stale" else None)
            spec = build(case, "pymc", data)
            fitter = cls(spec, settings) if cls else make_fitter("nutpie", spec, settings)
            design = data[list(case.predictors)]
            for s in range(seeds):
                if s in done:
                    continue
                fitter.__dict__.pop("_previous", None)
                rng = np.random.default_rng(SEED + s)
                posts, seconds = [], 0.0
                for k in range(k_sets):
                    post = fitter.fit(case.simulate(truth, design, rng), seed=SEED + s + 1 + k)
                    seconds += post.timing.fit
                    posts.append(post)
                _append(path, {"seed": s, "failed": old_coverage_failed(posts, truth),
                               "seconds": seconds})
                if plant.kind == "none":
                    for other in draw_plants:
                        _append(out / "oldcov" / f"{other.name}.jsonl", {
                            "seed": s, "seconds": seconds, "failed": old_coverage_failed(
                                [P.plant_draws(p, other.kind, other.size) for p in posts],
                                truth)})
            print(f"old coverage: {plant.name} done", flush=True)


# -- stage sims ---------------------------------------------------------------------------------
_WORKER: dict = {}


def _variants(plant) -> list[tuple[str, float]]:
    if plant.kind != "none":
        return [(plant.kind, plant.size)]
    return [("none", 0.0)] + [(k, s) for k in P.DRAW_KINDS for s in P.SIZES[k]]


def _simulate(index: int) -> dict:
    from glmcheck.errors import FitError, UsageError
    from glmcheck.sbc import _Failed, simulation_ranks, simulation_seeds

    case, fitter, plant, labels = (_WORKER[k] for k in ("case", "fitter", "plant", "labels"))
    sim_rng, fit_seed, rank_rng = simulation_seeds(SBC_SEED, index)
    theta = case.draw_params(sim_rng)
    design = _WORKER["design"]
    y = case.simulate(theta, design, sim_rng)
    start = time.perf_counter()
    variants = {}
    try:
        post = fitter.fit(y, seed=fit_seed)
    except FitError as exc:
        post, error = None, str(exc).splitlines()[0]
    seconds = time.perf_counter() - start
    for j, (kind, size) in enumerate(_variants(plant)):
        name = "none" if kind == "none" else P.Plant(plant.case, kind, size).name
        if post is None:
            variants[name] = {"ok": False, "error": error}
            continue
        planted = post if kind in ("none", "stale") or plant.kind != "none" else (
            P.plant_draws(post, kind, size))
        rng = rank_rng if j == 0 else np.random.default_rng([SBC_SEED, index, j])
        try:
            variants[name] = simulation_ranks(case, design, theta, y, planted,
                                              thin=10, rng=rng, labels=labels)
        except (_Failed, UsageError) as exc:
            variants[name] = {"ok": False, "error": str(exc)}
    return {"index": index, "seconds": seconds, "variants": variants}


def _init_worker():
    _WORKER["fitter"].threads = 1
    warnings.simplefilter("ignore")


def stage_sims(cases, n_sims: int, out: Path, kinds, workers: int) -> None:
    from glmcheck.fitters import FitSettings
    from glmcheck.fitters.nutpie import NutpieFitter
    from glmcheck.frontends import build
    from glmcheck.sbc import DEFAULT_FIT, element_labels

    (out / "sims").mkdir(parents=True, exist_ok=True)
    for case_name in cases:
        for plant in P.catalogue([case_name]):
            if plant.kind not in kinds or plant.kind in P.DRAW_KINDS:
                continue
            path = out / "sims" / f"{plant.name}.jsonl"
            done = {r["index"] for r in _read(path)}
            todo = [i for i in range(n_sims) if i not in done]
            if not todo:
                continue
            case = plant.planted_case()
            design = case.design()
            data = case.simulate_data(dict(case.true_params), np.random.default_rng(0), design)
            cls = P.planted_fitter("stale", plant.size) if plant.kind == "stale" else NutpieFitter
            fitter = cls(build(case, "pymc", data), FitSettings(**DEFAULT_FIT))
            probe = fitter.fit(seed=0)
            _WORKER.update(case=case, fitter=fitter, plant=plant, design=design,
                           labels=element_labels(case, probe))
            if hasattr(fitter, "_previous"):
                del fitter._previous
            start = time.perf_counter()
            with mp.get_context("fork").Pool(workers, initializer=_init_worker) as pool:
                for record in pool.imap(_simulate, todo, chunksize=8):
                    _append(path, record)
            print(f"sims: {plant.name} +{len(todo)} in {time.perf_counter() - start:.0f} s",
                  flush=True)


# -- costs, on a quiet machine --------------------------------------------------------------------
def stage_costs(cases, out: Path, repeats: int = 3) -> None:
    """What each default verdict of the correct model costs as its command pays it: the
    check's fits with their chains on every core, coverage in the check's process, SBC on 2
    worker processes (start-up included), the baseline check's fit. Medians of ``repeats``;
    run it with nothing else on the machine."""
    import tempfile

    from glmcheck.baseline import check_settings, load_reference
    from glmcheck.cases import get_case
    from glmcheck.checks import check_agreement, check_convergence, check_exact, check_recovery
    from glmcheck.fitters import FitSettings, make_fitter
    from glmcheck.frontends import build
    from glmcheck.results import summarize
    from glmcheck.runner import CheckRequest, FitOutcome, FitRequest, _coverage
    path = out / "costs.json"
    costs = json.loads(path.read_text()) if path.exists() else {}
    for case_name in cases:
        if case_name in costs:
            continue
        case = get_case(case_name)
        data = case.reference_data()
        settings = FitRequest(settings=FitSettings(**CHECK_SETTINGS)).settings_for(case)
        fitters = {fe: make_fitter("nutpie", build(case, fe, data), settings)
                   for fe in ("pymc", "bambi")}
        exact = case.exact_posterior(data)
        reference = load_reference(case)
        times = defaultdict(list)
        for r in range(repeats):
            posts = {}
            for fe, fitter in fitters.items():
                start = time.perf_counter()
                posts[fe] = fitter.fit(seed=SEED + r)
                times["fit"].append(time.perf_counter() - start)
            post = posts["pymc"]
            for name, run in (("convergence", lambda: check_convergence(post)),
                              ("recovery", lambda: check_recovery(post, case.true_params)),
                              ("agreement", lambda: check_agreement(post, posts["bambi"])),
                              ("exact", lambda: exact and check_exact(post, exact))):
                start = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - start)
            outcome = FitOutcome(case=case, data=data, truth=dict(case.true_params),
                                 spec=fitters["pymc"].spec, fitter=fitters["pymc"],
                                 posterior=post, result=summarize(post, {}))
            start = time.perf_counter()
            list(_coverage(CheckRequest(cases=[case], seed=SEED + r), outcome,
                           lambda *a: None))
            times["coverage"].append(time.perf_counter() - start)
            start = time.perf_counter()
            fitters["pymc"].fit(reference.data[case.response].to_numpy(), seed=SEED + r,
                                settings=check_settings(case))
            times["baseline"].append(time.perf_counter() - start)
        with tempfile.TemporaryDirectory() as tmp:  # the command, in a fresh process
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "glmcheck", "sbc", "-c", case_name, "-f",
                            "pymc", "-n", str(SBC_SIZE), "--stores", tmp, "--out", tmp,
                            "--no-figures"], check=False, capture_output=True)
            wall = time.perf_counter() - start
            record = json.loads(next(Path(tmp).glob("run-*/results.json")).read_text())
        entry = {k: float(np.median(v)) for k, v in times.items()}
        entry.update(sbc=wall, sbc_startup=wall - record["timings"]["loop_s"],
                     compile=fitters["pymc"].compile_seconds)
        costs[case_name] = entry
        path.write_text(json.dumps(costs, indent=1) + "\n")
        print(f"costs: {case_name} {entry}", flush=True)


# -- report -------------------------------------------------------------------------------------
def _interval(k: int, n: int) -> tuple[float, float]:
    from glmcheck.stats.multiplicity import beta_interval

    return beta_interval(k, n, 0.95)


def _coverage_groups(records: list[dict], variant: str, k: int = COVERAGE_K, *,
                     case: str, alpha: float | None = None) -> list[dict]:
    """The coverage check's verdict on disjoint groups of ``k`` simulations (at ``alpha``, or
    its default)."""
    from glmcheck.checks import ALPHA, check_coverage

    by_index = {r["index"]: r["variants"][variant] for r in records if variant in r["variants"]}
    seconds = {r["index"]: r["seconds"] for r in records}
    out = []
    for g in range(len(by_index) // k):
        idx = range(g * k, (g + 1) * k)
        if not all(i in by_index for i in idx):
            break
        result = check_coverage([by_index[i] for i in idx], case=case, frontend="pymc",
                                sampler="nutpie", seed=SBC_SEED + g,
                                alpha=ALPHA if alpha is None else alpha)
        out.append({"failed": not result.passed, "seconds": sum(seconds[i] for i in idx)})
    return out


def _sbc_groups(records: list[dict], variant: str, n: int, case: str, *,
                looks: tuple[int, ...] = (), moments: bool = False,
                family: float | None = None) -> list[dict]:
    """SBC's verdict on disjoint groups of ``n`` simulations. ``looks``: a sequential design
    that stops at the first look (a prefix of the group) whose verdict fails at alpha / len(looks)
    (Bonferroni over looks keeps the family rate); ``moments``: the ECDF verdict at alpha / 2 or
    the coverage check's moment test at alpha / 2."""
    from glmcheck.checks import check_coverage
    from glmcheck.sbc import SBC_ALPHA, SBCConfig, SBCRun, analyse

    by_index = {r["index"]: r for r in records if variant in r["variants"]}
    out = []
    for g in range(len(by_index) // n):
        idx = range(g * n, (g + 1) * n)
        if not all(i in by_index for i in idx):
            break
        recs = [{**by_index[i]["variants"][variant], "seconds": by_index[i]["seconds"]}
                for i in idx]
        alpha = (SBC_ALPHA if family is None else family) / (len(looks) or 1) / (
            2 if moments else 1)
        failed, used = False, n
        for look in looks or (n,):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result, _ = analyse(SBCRun(config=SBCConfig(case=case, seed=SBC_SEED + g),
                                           records=recs[:look], computed=0, seconds=0),
                                    alpha=alpha)
            failed = not result.passed
            if moments and not failed:
                failed = not check_coverage(recs[:look], case=case, frontend="pymc",
                                            sampler="nutpie", seed=SBC_SEED + g,
                                            alpha=alpha).passed
            used = look
            if failed:
                break
        out.append({"failed": failed, "sims": used,
                    "seconds": sum(r["seconds"] for r in recs[:used])})
    return out


def collect(out: Path, cases, seeds: int, k: int = COVERAGE_K, n_sbc: int = SBC_SIZE) -> dict:
    """Per plant and verdict: [{"failed", "seconds"}] per seed (as many as were run)."""
    table = {}
    for case in cases:
        plants = P.catalogue([case])
        null_sims = _read(out / "sims" / f"{case}__none.jsonl")
        for plant in plants:
            fits = _read(out / "fits" / f"{plant.name}.jsonl")[:seeds]
            fits += _read(out / "baseline" / f"{plant.name}.jsonl")[:seeds]
            row = {v: [r[v] for r in fits if v in r] for v in (*CHECK_VERDICTS, "baseline")}
            if plant.kind in P.DRAW_KINDS:
                sims, variant = null_sims, plant.name
            else:
                sims = _read(out / "sims" / f"{plant.name}.jsonl")
                variant = "none" if plant.kind == "none" else plant.name
            row["coverage"] = _coverage_groups(sims, variant, k, case=case)
            row["sbc"] = _sbc_groups(sims, variant, n_sbc, case=case)
            if plant.kind == "stale":  # the check's own fits are first fits: nothing is stale
                row.update({v: "n/a" for v in (*CHECK_VERDICTS, "baseline")})
            row["coverage_before"] = _read(out / "oldcov" / f"{plant.name}.jsonl")[:seeds]
            per_fit = [row[v] for v in CHECK_VERDICTS if isinstance(row[v], list) and row[v]]
            for name, cover in (("check", row["coverage"]), ("check_before",
                                                             row["coverage_before"])):
                combined = []
                if plant.kind == "stale":
                    combined = cover
                elif cover:
                    for s in range(min([len(cover)] + [len(v) for v in per_fit])):
                        parts = [v[s] for v in per_fit] + [cover[s]]
                        combined.append({"failed": any(p["failed"] for p in parts),
                                         "seconds": sum(p["seconds"] for p in parts)})
                row[name] = combined
            table[plant.name] = {"plant": plant, **row}
    return table


def summary(table: dict) -> dict:
    out = {}
    for name, entry in table.items():
        plant = entry["plant"]
        row = {"case": plant.case, "kind": plant.kind, "size": plant.size, "verdicts": {}}
        for verdict in VERDICTS:
            runs = entry.get(verdict)
            if not isinstance(runs, list) or not runs:
                row["verdicts"][verdict] = runs if runs == "n/a" else None
                continue
            k, n = sum(r["failed"] for r in runs), len(runs)
            row["verdicts"][verdict] = {
                "detected": k, "runs": n, "rate": k / n, "rate_95": list(_interval(k, n)),
                "median_seconds": float(np.median([r["seconds"] for r in runs]))}
        out[name] = row
    return out


def _cell(runs) -> str:
    if runs == "n/a":
        return "n/a"
    if not runs:
        return "—"
    k = sum(r["failed"] for r in runs)
    return f"{k}/{len(runs)}"


def markdown(table: dict, cases, seeds: int = 20) -> str:
    """One row per kind and size; each cell the detections per case, in the order of ``cases``
    (a bare count is out of ``seeds`` runs; ``·``: the kind does not apply to the case)."""
    def cell(runs) -> str:
        text = _cell(runs)
        return text[:-len(f"/{seeds}")] if text.endswith(f"/{seeds}") else text

    lines = ["| error | size | " + " | ".join(VERDICTS) + " |",
             "|---|---|" + "---|" * len(VERDICTS)]
    rows = defaultdict(dict)
    for entry in table.values():
        plant = entry["plant"]
        rows[(plant.kind, plant.size)][plant.case] = entry
    order = [("none", 0.0)] + [(k, s) for k, sizes in P.SIZES.items() for s in sizes]
    for key in order:
        if key not in rows:
            continue
        kind, size = key
        cells = [" ".join(cell(rows[key][c][verdict]) if c in rows[key] else "·" for c in cases)
                 for verdict in VERDICTS]
        label = "none (false alarms)" if kind == "none" else kind
        lines.append(f"| {label} | {'' if kind == 'none' else f'{size:g}'} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines)


def costs(out: Path, cases) -> str:
    """The cost table of ``--stage costs`` (seconds, medians, quiet machine)."""
    path = out / "costs.json"
    if not path.exists():
        return "(run --stage costs on a quiet machine)"
    data = json.loads(path.read_text())
    rows = [("compile (once per case × frontend)", "compile"), ("a check fit (4 chains)", "fit"),
            ("convergence", "convergence"), ("exact", "exact"), ("recovery", "recovery"),
            ("agreement", "agreement"), ("coverage (K = 20)", "coverage"),
            ("baseline check fit (4 × 4000 draws)", "baseline"),
            ("glmcheck sbc, 200 simulations (start-up: imports, compile, workers)", "sbc")]
    lines = ["| | " + " | ".join(c for c in cases if c in data) + " |",
             "|---|" + "---|" * sum(c in data for c in cases)]
    for title, key in rows:
        cells = []
        for case in cases:
            if case not in data:
                continue
            value = data[case].get(key)
            if key == "exact" and case not in ("linear", "polynomial"):
                cells.append("—")
            elif key == "sbc":
                cells.append(f"{value:.1f} s ({data[case]['sbc_startup']:.1f} s)")
            else:
                cells.append(f"{value:.2f} s" if value is not None else "—")
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def sizes_table(out: Path, cases, seeds: int) -> str:
    """How the size of coverage (K) and of SBC (n) change detection, per plant; and two
    variants of SBC at 200: sequential (looks at 50, 100, 200) and with the moment test."""
    from functools import partial

    columns = [(f"coverage K={k}", partial(_coverage_groups, k=k)) for k in (10, 20, 40)]
    columns += [(f"SBC n={n}", partial(_sbc_groups, n=n)) for n in (100, 200, 400)]
    columns += [("SBC sequential 50/100/200", partial(_sbc_groups, n=200, looks=(50, 100, 200))),
                ("SBC 200 + moments", partial(_sbc_groups, n=200, moments=True))]
    lines = ["| error | size | " + " | ".join(c for c, _ in columns) + " |",
             "|---|---|" + "---|" * len(columns)]
    for kind, sizes in [("none", (0.0,))] + list(P.SIZES.items()):
        for size in sizes:
            cells = []
            for title, fn in columns:
                parts = []
                for case in cases:
                    plant = P.Plant(case, kind, size)
                    if kind != "none" and case not in P.APPLIES.get(kind, (case,)):
                        parts.append("·")
                        continue
                    src = f"{case}__none" if kind in P.DRAW_KINDS else plant.name
                    variant = "none" if kind == "none" else plant.name
                    runs = fn(_read(out / "sims" / f"{src}.jsonl"), variant, case=case)
                    cell = _cell(runs)
                    if "sequential" in title and runs:
                        cell += f" ({np.mean([r['sims'] for r in runs]):.0f})"
                    parts.append(cell)
                cells.append(" · ".join(parts))
            label = "none" if kind == "none" else kind
            lines.append(f"| {label} | {'' if kind == 'none' else f'{size:g}'} | "
                         + " | ".join(cells) + " |")
    return "\n".join(lines)


def null_table(out: Path, cases) -> str:
    """False alarms of coverage and SBC on the correct models' simulations: failures at the
    default alpha and at looser ones (where a rate can be measured), over disjoint groups."""
    loose = (0.1, 0.01, 0.001)
    lines = ["| case | simulations | coverage runs (K = 20) | fail at α = " +
             " / ".join(f"{a:g}" for a in loose) + " | at 1e-4 | SBC runs (200) | fail at "
             "α = 0.1 / 0.01 |", "|---|---|---|---|---|---|---|"]
    for case in cases:
        records = _read(out / "sims" / f"{case}__none.jsonl")
        cov = {a: _coverage_groups(records, "none", case=case, alpha=a)
               for a in (*loose, 1e-4)}
        sbc = {a: _sbc_groups(records, "none", SBC_SIZE, case, family=a) for a in (0.1, 0.01)}
        def failures(runs):
            return sum(r["failed"] for r in runs)

        lines.append(f"| {case} | {len(records)} | {len(cov[0.1])} | "
                     + " / ".join(str(failures(cov[a])) for a in loose)
                     + f" | {failures(cov[1e-4])} | {len(sbc[0.1])} | "
                     f"{failures(sbc[0.1])} / {failures(sbc[0.01])} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(P.CASES))
    parser.add_argument("--kinds", default="none," + ",".join(P.SIZES),
                        help="kinds of error (none: the correct model and the errors of draws)")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--sims", type=int, default=COVERAGE_K * 20,
                        help="simulations per pool (400: coverage; 4000: SBC at 200 × 20 seeds)")
    parser.add_argument("--stage", choices=("fits", "sims", "oldcov", "costs"), action="append",
                        default=[])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, default=Path("power-out"))
    parser.add_argument("--report", action="store_true")
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--json", type=Path, help="per plant and verdict: detections, runs, "
                        "rate, 95 %% interval, median seconds")
    args = parser.parse_args(argv)
    cases = args.cases.split(",")
    kinds = set(args.kinds.split(","))
    if "none" in kinds:
        kinds |= set(P.DRAW_KINDS)
    warnings.simplefilter("ignore")
    if "fits" in args.stage:
        stage_fits(cases, args.seeds, args.out, kinds)
    if "costs" in args.stage:
        stage_costs(cases, args.out)
    if "oldcov" in args.stage:
        stage_old_coverage(cases, args.seeds, args.out, kinds)
    if "sims" in args.stage:
        stage_sims(cases, args.sims, args.out, kinds, args.workers)
    if args.report:
        table = collect(args.out, cases, args.seeds)
        text = ("Detections per case (" + ", ".join(cases) + "), out of the seeds run\n\n"
                + markdown(table, cases) + "\n\nWhat each verdict costs (medians, quiet "
                "machine; correct model)\n\n" + costs(args.out, cases)
                + "\n\nSizes of coverage and SBC\n\n" + sizes_table(args.out, cases, args.seeds)
                + "\n\nFalse alarms of coverage and SBC (correct models)\n\n"
                + null_table(args.out, cases))
        print(text)
        if args.json:
            args.json.write_text(json.dumps(summary(table), indent=1) + "\n")
        if args.markdown:
            args.markdown.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
