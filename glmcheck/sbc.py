"""Simulation-based calibration: parallel, distributed, resumable.

Prior SBC (Talts et al. 2018): θ* from the case's own numpy/scipy prior simulator, y from its
own likelihood simulator, a fit by the compile-once fitter, and the rank of θ* among thinned
posterior draws — for every parameter element and for the log-likelihood of the simulated data
(Modrák et al. 2023). Posterior SBC (Säilynoja et al. 2025) draws θ* from the exact posterior of
the reference data set instead and fits the reference data plus the simulated data together.

Every finished simulation is appended (and fsynced) to a run store; simulation ``i`` draws
everything from ``SeedSequence([seed, i])``, so a killed run resumes with only the missing
simulations and ends with the same ranks as a run that never stopped.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from glmcheck import __version__, compat
from glmcheck.checks.recovery import truth_elements
from glmcheck.checks.result import CheckResult
from glmcheck.errors import FitError, GlmcheckError, UsageError
from glmcheck.results import flat_elements

__all__ = ["SBCConfig", "RunStore", "SBCWorker", "run_sbc", "analyse", "FORMAT_VERSION"]

FORMAT_VERSION = 1
#: name of the log-likelihood test quantity
LOGLIK = "loglik"
#: at most this fraction of fits may fail (raise) before SBC fails
MAX_FAILED = 0.05
#: at most this fraction of fits may be unconverged (R-hat > 1.01 or divergences)
MAX_UNCONVERGED = 0.10
#: default family false-alarm rate of one SBC run, Holm-corrected across its quantities
SBC_ALPHA = 0.01


@dataclass(frozen=True, kw_only=True)
class SBCConfig:
    """Everything that determines a simulation's outcome. A store holds one config only."""

    case: str
    frontend: str = "pymc"
    sampler: str = "nutpie"
    chains: int = 2
    tune: int = 1000
    draws: int = 1000
    thin: int = 10
    seed: int = 0
    mode: str = "prior"

    def __post_init__(self):
        from glmcheck.fitters import FitSettings

        FitSettings(chains=self.chains, tune=self.tune, draws=self.draws)  # validates
        if not isinstance(self.thin, int) or self.thin < 1:
            raise UsageError(f"expected thin >= 1 but got thin={self.thin!r}")
        if self.thin > self.draws:
            raise UsageError(f"expected thin <= draws but got thin={self.thin}, draws={self.draws}")
        if self.mode not in ("prior", "posterior"):
            raise UsageError(f"expected mode 'prior' or 'posterior' but got mode={self.mode!r}")

    @property
    def n_ranked(self) -> int:
        """L: posterior draws each true value is ranked among."""
        return self.chains * len(range(0, self.draws, self.thin))

    def to_dict(self) -> dict:
        return asdict(self)


# -- the run store ---------------------------------------------------------------------------
class RunStore:
    """A folder with ``meta.json`` (config, versions, format) and ``sims.jsonl`` (one line per
    finished simulation, appended and fsynced as each finishes)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.meta_path = self.path / "meta.json"
        self.sims_path = self.path / "sims.jsonl"

    def open(self, config: SBCConfig) -> dict[int, dict]:
        """Create the store, or check that it belongs to this run; return its finished sims."""
        meta = {
            "format": FORMAT_VERSION,
            "config": config.to_dict(),
            "versions": _stack_versions(),
        }
        if self.meta_path.exists():
            stored = self._read_meta()
            if stored.get("format", 0) > FORMAT_VERSION:
                raise UsageError(
                    f"store {str(self.path)!r} has format {stored['format']}, newer than this "
                    f"glmcheck reads ({FORMAT_VERSION}); upgrade glmcheck or use another --store"
                )
            for key in ("config", "versions"):
                if stored.get(key) != meta[key]:
                    diff = _diff(stored.get(key) or {}, meta[key])
                    raise UsageError(
                        f"store {str(self.path)!r} belongs to a different run ({key} differ: "
                        f"{diff}); use another --store or the same settings"
                    )
            return self.records()
        try:
            if self.path.exists() and any(self.path.iterdir()):
                raise UsageError(
                    f"{str(self.path)!r} exists and is not an SBC store; choose another --store"
                )
            self.path.mkdir(parents=True, exist_ok=True)
            _atomic_write(self.meta_path, json.dumps({**meta, "glmcheck": __version__}, indent=2))
            self.sims_path.touch()
        except OSError as exc:
            raise UsageError(f"cannot write store {str(self.path)!r}: {exc.strerror or exc}") from None
        return {}

    def _read_meta(self) -> dict:
        try:
            meta = json.loads(self.meta_path.read_text())
            if not isinstance(meta, dict):
                raise ValueError("not an object")
            return meta
        except (ValueError, OSError) as exc:
            raise UsageError(
                f"store {str(self.path)!r} is corrupt (meta.json: {exc}); use another --store"
            ) from None

    def records(self) -> dict[int, dict]:
        """Finished simulations by index. A torn last line (a killed write) is ignored."""
        if not self.sims_path.exists():
            return {}
        text = self.sims_path.read_text()
        lines = text.split("\n")
        complete, tail = lines[:-1], lines[-1]  # tail is "" when the file ends in a newline
        out: dict[int, dict] = {}
        for number, line in enumerate(complete, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                index = int(record["index"])
            except (ValueError, KeyError, TypeError):
                raise UsageError(
                    f"store {str(self.path)!r} is corrupt (sims.jsonl line {number}); "
                    "use another --store"
                ) from None
            out.setdefault(index, record)
        if tail.strip():  # killed mid-write: drop the fragment so appends stay line-aligned
            with open(self.sims_path, "r+") as fh:
                fh.truncate(len(text) - len(tail))
        return out

    def append(self, record: dict) -> None:
        line = json.dumps(record, separators=(",", ":")) + "\n"
        with open(self.sims_path, "a") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())


def _stack_versions() -> dict:
    v = compat.versions()
    return {k: v.get(k) for k in ("python", "pymc", "pytensor", "bambi", "nutpie", "numpyro",
                                  "jax", "blackjax", "numpy", "scipy")}


def _diff(a: dict, b: dict) -> str:
    keys = sorted(set(a) | set(b))
    return ", ".join(f"{k}: {a.get(k)!r} vs {b.get(k)!r}" for k in keys if a.get(k) != b.get(k))


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


# -- one simulation --------------------------------------------------------------------------
class SBCWorker:
    """Compiles the model once; :meth:`simulate` runs simulation ``index``."""

    def __init__(self, config: SBCConfig):
        from glmcheck.cases import get_case
        from glmcheck.fitters import FitSettings, make_fitter
        from glmcheck.frontends import build

        self.config = config
        self.case = case = get_case(config.case)
        reference = case.reference_data()
        if config.mode == "posterior":
            self.exact = case.exact_posterior(reference)
            if self.exact is None:
                raise UsageError(
                    f"posterior SBC draws θ* from an exact reference posterior, and case "
                    f"{case.name!r} has none; use prior SBC"
                )
            self.observed = reference
            self.design = pd.concat(
                [reference[list(case.predictors)]] * 2, ignore_index=True
            )
            data = pd.concat([reference, reference], ignore_index=True)
        else:
            self.design = case.design()
            data = case.simulate_data(dict(case.true_params), np.random.default_rng(0), self.design)
        spec = build(case, config.frontend, data)
        settings = FitSettings(chains=config.chains, tune=config.tune, draws=config.draws)
        self.fitter = make_fitter(config.sampler, spec, settings)

    def _draw_truth(self, rng: np.random.Generator) -> tuple[dict, np.ndarray]:
        case = self.case
        if self.config.mode == "prior":
            theta = case.draw_params(rng)
            return theta, case.simulate(theta, self.design, rng)
        draw = self.exact.draws(1, rng)
        theta = {k: float(np.asarray(v).ravel()[0]) for k, v in draw.items()}
        new = case.simulate(theta, self.observed[list(case.predictors)], rng)
        return theta, np.concatenate([self.observed[case.response].to_numpy(), new])

    def simulate(self, index: int) -> dict:
        config, case = self.config, self.case
        sim_ss, fit_ss, rank_ss = np.random.SeedSequence([config.seed, index]).spawn(3)
        theta, y = self._draw_truth(np.random.default_rng(sim_ss))
        start = time.perf_counter()
        record: dict = {"index": index}
        try:
            post = self.fitter.fit(y, seed=int(fit_ss.generate_state(1)[0] % 2**31))
        except (FitError, UsageError) as exc:
            return {**record, "ok": False, "error": str(exc), "seconds": time.perf_counter() - start}
        draws = post.draws.isel(draw=slice(None, None, config.thin))
        rng = np.random.default_rng(rank_ss)
        truth = truth_elements(theta, post)
        ranks = {}
        for name in draws.data_vars:
            for label, values in flat_elements(draws, name):
                ranks[label] = _rank(truth[label], np.asarray(values).ravel(), rng)
        data = self.design.copy()
        data[case.response] = y
        samples = _samples(draws)
        logliks = np.array([case.loglik(params, data) for params in samples])
        ranks[LOGLIK] = _rank(case.loglik(theta, data), logliks, rng)
        rhat = compat.rhat(post.draws)
        return {
            **record,
            "ok": True,
            "L": len(samples),
            "ranks": ranks,
            "divergences": post.divergences,
            "max_rhat": float(max(float(np.nanmax(v.values)) for v in rhat.data_vars.values())),
            "seconds": time.perf_counter() - start,
        }


def _rank(true_value, draws, rng) -> int:
    from glmcheck.stats.sbc import rank

    return rank(float(true_value), draws, rng)


def _samples(draws) -> list[dict]:
    """Posterior draws as one parameter dict per (chain, draw), in numpy (xarray is slow here)."""
    arrays = {}
    for name, var in draws.data_vars.items():
        values = np.asarray(var.transpose("chain", "draw", ...).values)
        arrays[name] = values.reshape(-1, *values.shape[2:])
    n = next(iter(arrays.values())).shape[0]
    return [
        {name: (a[i].item() if a.ndim == 1 else a[i]) for name, a in arrays.items()} for i in range(n)
    ]


# -- executors -------------------------------------------------------------------------------
_WORKER: dict = {}


def _worker_for(config: SBCConfig) -> SBCWorker:
    """One compiled worker per process and config (local processes and Dask workers alike)."""
    if _WORKER.get("config") != config:
        _WORKER.clear()
        _WORKER.update(config=config, worker=SBCWorker(config))
    return _WORKER["worker"]


def _task(config: SBCConfig, index: int) -> dict:
    return _worker_for(config).simulate(index)


def _local(config: SBCConfig, todo: list[int], workers: int) -> Iterable[dict]:
    if workers == 1:
        worker = _worker_for(config)
        for index in todo:
            yield worker.simulate(index)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [pool.submit(_task, config, index) for index in todo]
        try:
            for future in as_completed(futures):
                yield future.result()
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def _dask(config: SBCConfig, todo: list[int], scheduler: str, workers: int) -> Iterable[dict]:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        from glmcheck.errors import MissingDependency

        raise MissingDependency(
            "--scheduler needs dask distributed, which is not installed: pip install distributed"
        ) from None
    cluster = None
    try:
        if scheduler == "local":
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            client = Client(cluster)
        else:
            client = Client(scheduler, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise UsageError(f"cannot reach the Dask scheduler {scheduler!r}: {exc}") from None
    try:
        futures = client.map(_task, [config] * len(todo), todo, pure=False)
        for future in as_completed(futures):
            yield future.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# -- the run ---------------------------------------------------------------------------------
@dataclass(kw_only=True)
class SBCRun:
    config: SBCConfig
    records: list[dict]
    computed: int
    seconds: float


def run_sbc(
    config: SBCConfig,
    simulations: int,
    store: Path,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SBCRun:
    """Run (or resume) ``simulations`` simulations of ``config`` into ``store``."""
    if not isinstance(simulations, int) or simulations < 1:
        raise UsageError(f"expected simulations >= 1 but got simulations={simulations!r}")
    if workers < 1:
        raise UsageError(f"expected workers >= 1 but got workers={workers}")
    from glmcheck.cases import get_case
    from glmcheck.fitters import get_fitter, require
    from glmcheck.frontends import FRONTENDS

    case = get_case(config.case)
    if config.mode == "posterior" and case.exact_posterior(case.reference_data()) is None:
        raise UsageError(
            f"posterior SBC draws θ* from an exact reference posterior, and case "
            f"{case.name!r} has none; use prior SBC"
        )
    if config.frontend not in FRONTENDS:
        raise UsageError(f"unknown frontend {config.frontend!r}; choose from {', '.join(FRONTENDS)}")
    cls = get_fitter(config.sampler)
    require(cls.requires, cls.name)
    store = RunStore(store)
    done = store.open(config)
    todo = [i for i in range(simulations) if i not in done]
    report = progress or (lambda finished, total: None)
    finished = simulations - len(todo)
    report(finished, simulations)
    start = time.perf_counter()
    source = (
        _dask(config, todo, scheduler, workers) if scheduler else _local(config, todo, workers)
    )
    for record in source:
        store.append(record)
        done[record["index"]] = record
        finished += 1
        report(finished, simulations)
    records = [done[i] for i in range(simulations)]
    return SBCRun(config=config, records=records, computed=len(todo),
                  seconds=time.perf_counter() - start)


# -- the verdict -----------------------------------------------------------------------------
def analyse(run: SBCRun, *, alpha: float = SBC_ALPHA) -> tuple[CheckResult, dict]:
    """Uniformity of every quantity's ranks; Holm across quantities at family ``alpha``.

    Returns the check result and, per quantity, the band-test results (for plotting).
    """
    from glmcheck.stats import sbc as S

    config, records = run.config, run.records
    ok = [r for r in records if r.get("ok")]
    failed = len(records) - len(ok)
    unconverged = sum(1 for r in ok if r["divergences"] or r["max_rhat"] > 1.01)
    problems = []
    if failed > MAX_FAILED * len(records):
        problems.append(f"{failed} of {len(records)} fits failed (> {MAX_FAILED:.0%})")
    if unconverged > MAX_UNCONVERGED * len(records):
        problems.append(
            f"{unconverged} of {len(records)} fits did not converge (> {MAX_UNCONVERGED:.0%})"
        )
    bands, rows = {}, []
    if ok:
        quantities = list(ok[0]["ranks"])
        rng = np.random.default_rng(np.random.SeedSequence([config.seed, 2**31]))
        pvalues = []
        for q in quantities:
            r = np.array([rec["ranks"][q] for rec in ok])
            L = ok[0]["L"]
            u = S.pit(r, L, rng)
            band = S.ecdf_band_test(u, alpha=alpha)
            bands[q] = (band, r, L)
            pvalues.append(band.p_value)
            row = {"quantity": q, "n": len(r), "ecdf_p": band.p_value,
                   "chisq_p": S.chisq_test(r, L)}
            try:
                row["pot_c_p"] = S.uniformity_pvalue(u)
            except GlmcheckError:
                row["pot_c_p"] = None
            rows.append(row)
        rejected = S.holm(pvalues, alpha)
        for row, rej in zip(rows, rejected):
            row["passed"] = not rej
        bad = [row["quantity"] for row in rows if not row["passed"]]
        if bad:
            problems.append(f"ranks not uniform for {', '.join(bad)}")
    else:
        problems.append("no simulation finished")
    worst = min(rows, key=lambda row: row["ecdf_p"]) if rows else None
    message = "; ".join(problems) if problems else (
        f"ranks uniform for all {len(rows)} quantities over {len(ok)} simulations "
        f"(smallest ECDF-band p {worst['ecdf_p']:.3g}); {failed} failed, {unconverged} unconverged fits"
    )
    result = CheckResult(
        check="sbc" if config.mode == "prior" else "posterior-sbc",
        case=_case_name(config.case), frontends=[config.frontend], samplers=[config.sampler],
        passed=not problems, message=message, rows=rows,
        threshold={
            "rule": f"simultaneous ECDF band test per quantity (Säilynoja et al. 2022), Holm over "
                    f"{len(rows)} quantities at family alpha={alpha:g}; failed fits <= "
                    f"{MAX_FAILED:.0%}, unconverged <= {MAX_UNCONVERGED:.0%}",
            "alpha": alpha,
        },
        details={"simulations": len(records), "failed": failed, "unconverged": unconverged,
                 "L": config.n_ranked, "thin": config.thin, "config": config.to_dict(),
                 "seconds_per_simulation": float(np.median([r.get("seconds", 0) for r in records]))},
    )
    return result, bands


def _case_name(ref: str) -> str:
    from glmcheck.cases import get_case

    return get_case(ref).name
