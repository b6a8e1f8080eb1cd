"""Simulation-based calibration: parallel, distributed, resumable.

Prior SBC (Talts et al. 2018): θ* from the case's own numpy/scipy prior simulator, y from its
own likelihood simulator, a fit by the compile-once fitter, and the rank of θ* among thinned
posterior draws — for every parameter element and for the log-likelihood of the simulated data
(Modrák et al. 2023). Posterior SBC (Säilynoja et al. 2025) draws θ* from the exact posterior of
the reference data set instead and fits the reference data plus the simulated data together.

:func:`run_many` runs several configurations as one job (:mod:`glmcheck.scheduler` says where
and how: forked or spawned local workers, or Dask), each into its own run store; :func:`run_sbc`
runs one. Every finished simulation is appended (and fsynced) to its run store; simulation ``i`` draws
everything from ``SeedSequence([seed, i])``, so a killed run resumes with only the missing
simulations. The store records everything that decides a simulation (the config, the library
versions and a hash of the source of every module involved, the case's and the sampler's
included) and refuses to mix runs that differ in any of them.

Determinism. On one machine and library stack, a resumed run, a run in local worker processes
and a run on a Dask cluster give bitwise the same draws and ranks: the model is compiled with
PyTensor's on-disk Numba cache off (:func:`_fresh_compile`), because code loaded from that cache
and freshly compiled code round differently (measured: a fresh machine's first run and its
rerun differed in the last bits of every draw, and so in some ranks). Numba compiles for the CPU
it runs on, so workers on machines with other CPUs draw differently: statistically equivalent
simulations, not identical ones.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import math
import os
import socket
import sys
import time
import warnings
from collections.abc import Callable
from contextlib import ExitStack, nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from glmcheck import __version__, compat
from glmcheck.checks.result import CheckResult
from glmcheck.errors import FitError, GlmcheckError, UsageError
from glmcheck.results import flat_elements
from glmcheck.scheduler import check_scheduler

__all__ = ["SBCConfig", "RunStore", "SBCWorker", "SBCRun", "SBCOutcome", "SBCJob", "run_sbc",
           "run_many", "validate", "analyse", "check_scheduler", "FORMAT_VERSION"]

#: 2: meta.json records the source hashes of the code (format 1 did not)
FORMAT_VERSION = 2
#: name of the log-likelihood test quantity
LOGLIK = "loglik"
#: at most this fraction of fits may fail (raise) before SBC fails
MAX_FAILED = 0.05
#: at most this fraction of fits may be unconverged (R-hat > 1.01, R-hat not computable
#: (NaN: e.g. constant draws), or divergences)
MAX_UNCONVERGED = 0.10
#: the R-hat gate of one fit
RHAT_MAX = 1.01
#: the fit settings and thinning of a simulation unless told otherwise (L = 2 × 100 = 200);
#: ``glmcheck check``'s coverage simulations use them too
DEFAULT_FIT = {"chains": 2, "tune": 1000, "draws": 1000}
DEFAULT_THIN = 10
#: default family false-alarm rate of one SBC run, Holm-corrected across its quantities
SBC_ALPHA = 0.01


@dataclass(frozen=True, kw_only=True)
class SBCConfig:
    """Everything that determines a simulation's outcome. A store holds one config only."""

    case: str
    frontend: str = "pymc"
    sampler: str = "nutpie"
    chains: int = DEFAULT_FIT["chains"]
    tune: int = DEFAULT_FIT["tune"]
    draws: int = DEFAULT_FIT["draws"]
    thin: int = DEFAULT_THIN
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
    """A folder with ``meta.json`` (format, config, library versions, source hashes) and
    ``sims.jsonl`` (one line per finished simulation, appended and fsynced as each finishes)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.meta_path = self.path / "meta.json"
        self.sims_path = self.path / "sims.jsonl"
        #: versions and source hashes of this run (set by :meth:`open`)
        self.identity: dict | None = None

    def open(self, config: SBCConfig) -> dict[int, dict]:
        """Create the store, or check that it belongs to this run; return its finished sims."""
        self.identity = identity = _identity(config)
        meta = {"format": FORMAT_VERSION, "config": config.to_dict(), **identity}
        if self.meta_path.exists():
            stored = self._read_meta()
            for key in ("config", "versions"):
                if stored[key] != meta[key]:
                    diff = _diff(stored[key], meta[key])
                    raise UsageError(
                        f"store {str(self.path)!r} belongs to a different run ({key} differ: "
                        f"{diff}); use another --store or the same settings"
                    )
            if stored["sources"] != meta["sources"]:
                raise UsageError(
                    f"store {str(self.path)!r} was made by other code: the source of "
                    f"{_changed_sources(stored['sources'], meta['sources'])} changed since; "
                    "use another --store, or restore that code to resume"
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
        """meta.json, checked: anything malformed is refused in one line, never overwritten."""

        def corrupt(why) -> UsageError:
            return UsageError(
                f"store {str(self.path)!r} is corrupt (meta.json: {_one_line(why)}); "
                "use another --store"
            )

        try:
            meta = json.loads(self.meta_path.read_text())
        except (ValueError, OSError) as exc:
            raise corrupt(exc) from None
        if not isinstance(meta, dict):
            raise corrupt(f"expected a JSON object but got {type(meta).__name__}")
        version = meta.get("format")
        if isinstance(version, bool) or not isinstance(version, int):
            raise corrupt(f"expected 'format' to be a whole number but got {_short(version)}")
        if version > FORMAT_VERSION:
            raise UsageError(
                f"store {str(self.path)!r} has format {version}, newer than this glmcheck "
                f"reads ({FORMAT_VERSION}); upgrade glmcheck or use another --store"
            )
        if version < FORMAT_VERSION:
            raise UsageError(
                f"store {str(self.path)!r} was made by an older glmcheck (store format "
                f"{version}, this one writes {FORMAT_VERSION}) that did not record the code "
                "behind its simulations, so it cannot be resumed safely; use another --store"
            )
        for key in ("config", "versions", "sources"):
            if not isinstance(meta.get(key), dict):
                raise corrupt(f"expected {key!r} to be an object but got {_short(meta.get(key))}")
        return meta

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
                index = _checked_record(record)
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


def _checked_record(record) -> int:
    """The index of a stored simulation record; ValueError when it is malformed."""
    def whole(value) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    if not isinstance(record, dict) or not whole(record.get("index")) or record["index"] < 0:
        raise ValueError("no index")
    if not isinstance(record.get("ok"), bool):
        raise ValueError("no ok")
    if record["ok"]:
        ranks, rhat = record.get("ranks"), record.get("max_rhat")
        number = isinstance(rhat, int | float) and not isinstance(rhat, bool)
        if not (isinstance(ranks, dict) and ranks and all(whole(r) for r in ranks.values())
                and whole(record.get("L")) and whole(record.get("divergences"))
                and (rhat is None or number)):
            raise ValueError("malformed")
    return record["index"]


#: libraries whose version can change a simulation's record (draws, ranks or R-hat)
_STACK = ("python", "pymc", "pytensor", "numba", "bambi", "formulae", "nutpie", "numpyro", "jax",
          "jaxlib", "blackjax", "numpy", "scipy", "xarray", "arviz", "arviz-stats")


def _stack_versions() -> dict:
    versions = compat.versions()
    return {name: versions[name] for name in _STACK}


#: glmcheck's modules whose code decides a simulation's record: what :meth:`SBCWorker.simulate`
#: runs (besides the case's and the sampler's own modules, which :func:`_sources` adds)
_DECISIVE = (
    "glmcheck.sbc", "glmcheck.stats.sbc", "glmcheck.stats.exact", "glmcheck.frontends",
    "glmcheck.cases.base", "glmcheck.fitters.base", "glmcheck.posterior", "glmcheck.results",
    "glmcheck.compat",
)


def _identity(config: SBCConfig) -> dict:
    """What a store must agree on, besides the config: library versions and source hashes."""
    return {"versions": _stack_versions(), "sources": _sources(config)}


def _sources(config: SBCConfig) -> dict[str, str | None]:
    """A hash of the source of every module whose code decides a simulation: glmcheck's own
    (:data:`_DECISIVE`), and the modules that define the case's and the sampler's classes and
    their bases (a user's ``package.module:attribute`` included). The version string alone
    does not change when the code does (an editable install, a user's case)."""
    from glmcheck.cases import get_case
    from glmcheck.fitters import get_fitter

    modules = set(_DECISIVE)
    for ref, obj in ((config.case, get_case(config.case)),
                     (config.sampler, get_fitter(config.sampler))):
        cls = obj if isinstance(obj, type) else type(obj)
        modules.update(k.__module__ for k in cls.__mro__ if k.__module__ != "builtins")
        if ":" in ref:
            modules.add(ref.partition(":")[0])
    return {name: _source_hash(name) for name in sorted(modules)}


def _module_file(name: str) -> str | None:
    try:
        module = sys.modules.get(name) or importlib.import_module(name)
        return inspect.getsourcefile(module) or module.__file__
    except Exception:  # no importable module, or one without a file (built in memory)
        return None


def _source_hash(name: str) -> str | None:
    path = _module_file(name)
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16] if path else None
    except OSError:
        return None


def _changed_sources(stored: dict, current: dict) -> str:
    changed = sorted(k for k in set(stored) | set(current) if stored.get(k) != current.get(k))
    described = [
        f"{name} ({_module_file(name) or 'no source file'})" if name in current
        else f"{name} (no longer used)"
        for name in changed[:4]
    ]
    more = f" and {len(changed) - 4} more" if len(changed) > 4 else ""
    return ", ".join(described) + more


def _one_line(value) -> str:
    return " ".join(str(value).split())


def _short(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


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
        with _fresh_compile():
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
        """Simulation ``index``: ``{"ok": True, "ranks": ...}``, or ``{"ok": False, "error":
        ...}`` when the fit failed or gave numbers that cannot be ranked (a non-finite
        log-likelihood, a true value the posterior lacks). That is a finding about this
        simulation, counted by :func:`analyse`; an unexpected exception in the case's own code
        (a bug in it) propagates."""
        config = self.config
        sim_rng, fit_seed, rank_rng = simulation_seeds(config.seed, index)
        theta, y = self._draw_truth(sim_rng)
        start = time.perf_counter()
        try:
            with _fresh_compile():
                post = self.fitter.fit(y, seed=fit_seed)
            outcome = self._outcome(theta, y, post, rank_rng)
        except (FitError, UsageError, _Failed) as exc:
            outcome = {"ok": False, "error": _one_line(exc)}
        return {"index": index, **outcome, "seconds": time.perf_counter() - start}

    def use_threads(self, threads: int) -> None:
        """Run each fit's chains on ``threads`` threads (where the sampler can choose): the
        draws do not depend on it, only the time does."""
        self.fitter.threads = threads

    def _outcome(self, theta: dict, y: np.ndarray, post, rng: np.random.Generator) -> dict:
        return simulation_ranks(self.case, self.design, theta, y, post, thin=self.config.thin,
                                labels=self._element_labels(post), rng=rng)

    def _element_labels(self, post) -> dict[str, list[str]]:
        """The same for every fit of one model, so worked out once."""
        if getattr(self, "_labels", None) is None:
            self._labels = element_labels(self.case, post)
        return self._labels


def simulation_seeds(seed: int, index: int) -> tuple[np.random.Generator, int, np.random.Generator]:
    """Simulation ``index`` of a run seeded ``seed`` draws θ* and y from the first generator,
    fits with the seed in the middle and breaks rank ties with the last: everything from
    ``SeedSequence([seed, index])``, so any simulation can be rerun on its own."""
    sim_ss, fit_ss, rank_ss = np.random.SeedSequence([seed, index]).spawn(3)
    return (np.random.default_rng(sim_ss), int(fit_ss.generate_state(1)[0] % 2**31),
            np.random.default_rng(rank_ss))


def simulation_ranks(case, design: pd.DataFrame, theta: dict, y: np.ndarray, post, *,
                     thin: int, rng: np.random.Generator, labels: dict | None = None) -> dict:
    """The outcome of one simulation whose fit is ``post``: the rank of every true value among
    the draws thinned by ``thin``, and of the log-likelihood of the simulated data among its
    values at those draws; divergences and the largest R-hat. Computed in numpy on the draws'
    arrays (xarray's per-call overhead was a third of a simulation of ``linear``). Raises
    :class:`_Failed` where the numbers cannot be ranked (a non-finite log-likelihood)."""
    full = {name: np.asarray(var.transpose("chain", "draw", ...).values)
            for name, var in post.draws.data_vars.items()}
    thinned = {name: a[:, ::thin].reshape(-1, *a.shape[2:]) for name, a in full.items()}
    if labels is None:
        labels = element_labels(case, post)
    ranks = {}
    for name, values in thinned.items():
        true = np.atleast_1d(np.asarray(theta[name], dtype=float)).ravel()
        if true.size != len(labels[name]):
            raise UsageError(
                f"true value of {name!r} has {true.size} elements but the posterior has "
                f"{len(labels[name])}"
            )
        columns = values.reshape(len(values), -1)
        for j, label in enumerate(labels[name]):
            ranks[label] = _rank(true[j], columns[:, j], rng)
    data = design.copy()
    data[case.response] = y
    with np.errstate(all="ignore"):  # a non-finite log-likelihood is a finding: see below
        logliks = np.asarray(case.loglik_draws(thinned, data), dtype=float)
        true_loglik = float(case.loglik(theta, data))
    if not math.isfinite(true_loglik):
        raise _Failed(f"the log-likelihood of the true parameters is {true_loglik}")
    bad = int(np.count_nonzero(~np.isfinite(logliks)))
    if bad:
        raise _Failed(
            f"the log-likelihood is not finite at {bad} of {len(logliks)} posterior draws"
        )
    ranks[LOGLIK] = _rank(true_loglik, logliks, rng)
    return {
        "ok": True,
        "L": len(logliks),
        "ranks": ranks,
        "divergences": post.divergences,
        "max_rhat": _max_rhat(full),
    }


def element_labels(case, post) -> dict[str, list[str]]:
    """Every parameter's element labels (``u[a]``), in the C order of its array."""
    missing = [n for n in post.draws.data_vars if n not in case.params]
    if missing:
        raise UsageError(f"no true value for parameter {missing[0]!r} of case {case.name!r}")
    return {name: [label for label, _ in flat_elements(post.draws, name)]
            for name in post.draws.data_vars}


class _Failed(Exception):
    """A simulation whose numbers cannot be ranked."""


def _fresh_compile():
    """A context in which PyTensor compiles (and samples) with its on-disk Numba cache off.

    Numba code loaded from that cache and the same graph compiled afresh round differently, so
    a process with a cold cache (a fresh machine, a new Dask worker's home) drew other values
    than one with a warm cache for the same seed. Off, every process compiles afresh: the same
    draws everywhere on one machine, for a few seconds more per worker.
    """
    try:
        from pytensor import config as pytensor_config
    except ImportError:  # a sampler without PyTensor
        return nullcontext()
    if not hasattr(pytensor_config, "numba__cache"):
        return nullcontext()
    return pytensor_config.change_flags(numba__cache=False)


def _max_rhat(draws: dict[str, np.ndarray]) -> float | None:
    """The largest R-hat over every parameter element (``draws``: chain × draw × ... arrays),
    or None (stored as JSON null) when any is not finite: a diagnostic that cannot be computed
    (constant draws give NaN) fails its gate, it does not pass it."""
    columns = [a.reshape(a.shape[0], a.shape[1], -1) for a in draws.values()]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        values = np.ravel(compat.rhat_array(np.concatenate(columns, axis=2)))
    if values.size == 0 or not np.isfinite(values).all():
        return None
    return float(values.max())


def converged(record: dict) -> bool:
    """Whether a simulation's fit passed SBC's convergence gate (R-hat, divergences)."""
    rhat = record.get("max_rhat")
    return (not record.get("divergences") and rhat is not None and math.isfinite(rhat)
            and rhat <= RHAT_MAX)


def _rank(true_value, draws, rng) -> int:
    from glmcheck.stats.sbc import rank

    return rank(float(true_value), draws, rng)


# -- the identity of a worker ------------------------------------------------------------------
def check_identity(config: SBCConfig, identity: dict) -> None:
    """Refuse to simulate where the code or libraries differ from what the run store records
    (a Dask worker on another machine, say)."""
    here = _identity(config)
    differ = [
        f"versions differ: {_diff(identity['versions'], here['versions'])}"
        if here["versions"] != identity["versions"] else "",
        f"the source of {_changed_sources(identity['sources'], here['sources'])} differs"
        if here["sources"] != identity["sources"] else "",
    ]
    if any(differ):
        raise UsageError(
            f"a worker on {socket.gethostname()} runs other code or libraries than the "
            f"run store records ({'; '.join(d for d in differ if d)}); give every worker "
            "the same code and libraries"
        )


# -- the run ---------------------------------------------------------------------------------
@dataclass(kw_only=True)
class SBCRun:
    """One configuration's simulations after a run: ``computed`` of them computed by this run,
    the rest reused from its store. ``seconds``: the wall time of the whole job it ran in."""

    config: SBCConfig
    records: list[dict]
    computed: int
    seconds: float
    store: Path | None = None
    #: a sequential run's looks (numbers of simulations at which it was judged), and the look
    #: whose verdict failed and stopped it (``records`` then holds that many)
    looks: tuple[int, ...] = ()
    stopped_at: int | None = None
    #: of ``records``, those read from the store rather than computed by this run
    reused: int | None = None


@dataclass(kw_only=True)
class SBCOutcome:
    """What became of one configuration of a job: its run, or the error that stopped it
    (its model did not build: none of its simulations ran)."""

    config: SBCConfig
    store: Path
    run: SBCRun | None = None
    error: GlmcheckError | None = None


@dataclass(kw_only=True)
class SBCJob:
    """Every configuration's outcome, in the order asked, and the job's times: ``startup``
    until the first simulation was handed to a worker (compiling, starting workers; None when
    nothing was computed), ``loop`` from then to the end, ``seconds`` the whole job."""

    outcomes: list[SBCOutcome]
    computed: int
    startup: float | None
    loop: float | None
    seconds: float


def validate(config: SBCConfig) -> None:
    """What can be known about a configuration without compiling it: the case exists (and has
    an exact posterior for posterior SBC), the frontend is known, the sampler is installed."""
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


def run_many(
    configs: list[SBCConfig],
    simulations: int,
    stores: list[Path],
    *,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    on_start: Callable[[], None] | None = None,
    looks: tuple[int, ...] = (),
    alpha: float = SBC_ALPHA,
) -> SBCJob:
    """Run (or resume) ``simulations`` simulations of every configuration, each into its own
    store, as one job on ``workers`` local processes or a Dask cluster (``scheduler``).

    Every input is checked, every store opened and the scheduler reached before ``on_start`` is
    called and the first simulation runs: bad input costs no work. A configuration whose model
    does not build is reported in its :class:`SBCOutcome` and the others go on.

    ``looks`` makes the run sequential: once the first n simulations of a configuration are in,
    for each look n, its verdict is taken on them at ``alpha / len(looks)`` (Bonferroni over
    the looks keeps the family rate at ``alpha``), and a configuration that fails a look
    before the last stops there. A verdict depends only on the first n simulations, so it is
    the same whatever order they finish in, resumed or not.
    """
    from glmcheck import scheduler as S

    if isinstance(simulations, bool) or not isinstance(simulations, int) or simulations < 1:
        raise UsageError(f"expected simulations >= 1 but got simulations={simulations!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise UsageError(f"expected workers >= 1 but got workers={workers!r}")
    if len(configs) != len(stores) or not configs:
        raise UsageError("expected one store per configuration, and at least one configuration")
    if len(set(configs)) != len(configs):
        raise UsageError("the same configuration is asked for twice")
    if len({Path(p).resolve() for p in stores}) != len(stores):
        raise UsageError("two configurations cannot share one store; give each its own")
    S.check_scheduler(scheduler)
    for config in configs:
        validate(config)
    opened = [RunStore(path) for path in stores]
    done = [store.open(config) for store, config in zip(opened, configs)]
    looks = _check_looks(looks, simulations)
    stopped: set[int] = set()
    stopped_at: dict[int, int] = {}
    judged = [0] * len(configs)  # looks taken per configuration

    def judge(k: int) -> None:
        """Take every look whose simulations are all in; stop the configuration at a fail."""
        while k not in stopped and judged[k] < len(looks) - 1:
            look = looks[judged[k]]
            if any(i not in done[k] for i in range(look)):
                return
            judged[k] += 1
            run = SBCRun(config=configs[k], records=[done[k][i] for i in range(look)],
                         computed=0, seconds=0.0, looks=looks)
            if not analyse(run, alpha=alpha)[0].passed:
                stopped.add(k)
                stopped_at[k] = look

    for k in range(len(configs)):
        judge(k)
    jobs = [S.Job(config, [] if k in stopped else
                  [i for i in range(simulations) if i not in finished], store.identity)
            for k, (config, finished, store) in enumerate(zip(configs, done, opened))]
    total = simulations * len(configs) - sum(simulations - stopped_at[k] for k in stopped)
    finished = total - sum(len(job.todo) for job in jobs)
    computed = [0] * len(jobs)
    dropped: list[set[int]] = [set() for _ in jobs]
    report = progress or (lambda finished, total: None)
    errors: dict[int, GlmcheckError] = {}
    startup = None
    with ExitStack() as stack:
        client = None
        if scheduler and any(job.todo for job in jobs):  # nothing to compute: no cluster
            client = stack.enter_context(S.dask_client(scheduler, workers))
        if on_start is not None:
            on_start()
        report(finished, total)
        start = time.perf_counter()
        events = (S.run_dask(client, jobs, stopped) if client is not None
                  else S.run_local(jobs, workers, stopped))
        for event in events:
            if isinstance(event, S.Dispatched):
                startup = time.perf_counter() - start
                continue
            if isinstance(event, S.Broken):
                errors[event.job] = event.error
                total -= len(jobs[event.job].todo)
                report(finished, total)
                continue
            record = event.record
            opened[event.job].append(record)
            done[event.job][record["index"]] = record
            finished += 1
            computed[event.job] += 1
            if record["index"] in dropped[event.job]:  # held by a worker when it stopped
                total += 1
            elif looks and event.job not in stopped:
                judge(event.job)
                if event.job in stopped:  # what it will not compute leaves the total
                    dropped[event.job] = {i for i in jobs[event.job].todo
                                          if i not in done[event.job]}
                    total -= len(dropped[event.job])
            report(finished, total)
        seconds = time.perf_counter() - start
    outcomes = []
    for k, (config, store) in enumerate(zip(configs, stores)):
        if k in errors:
            outcomes.append(SBCOutcome(config=config, store=Path(store), error=errors[k]))
            continue
        used = stopped_at.get(k, simulations)
        run = SBCRun(config=config, records=[done[k][i] for i in range(used)],
                     computed=computed[k], seconds=seconds, store=Path(store),
                     looks=looks, stopped_at=stopped_at.get(k),
                     reused=used - len(set(jobs[k].todo) & set(range(used))))
        outcomes.append(SBCOutcome(config=config, store=Path(store), run=run))
    return SBCJob(outcomes=outcomes, computed=sum(c for k, c in enumerate(computed)
                                                  if k not in errors),
                  startup=startup, loop=None if startup is None else seconds - startup,
                  seconds=seconds)


def _check_looks(looks, simulations: int) -> tuple[int, ...]:
    looks = tuple(sorted(set(looks)))
    if not looks:
        return ()
    if any(isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= simulations
           for n in looks) or looks[-1] != simulations:
        raise UsageError(f"expected looks between 1 and {simulations}, the last one "
                         f"{simulations}, but got {list(looks)}")
    return looks


def sequential_looks(simulations: int) -> tuple[int, ...]:
    """The looks of ``--sequential``: a quarter, half and all of the simulations."""
    return tuple(sorted({n for n in (simulations // 4, simulations // 2, simulations) if n}))


def run_sbc(
    config: SBCConfig,
    simulations: int,
    store: Path,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    on_start: Callable[[], None] | None = None,
) -> SBCRun:
    """Run (or resume) ``simulations`` simulations of one configuration into ``store``
    (:func:`run_many` for one); a model that does not build raises its error."""
    job = run_many([config], simulations, [store], workers=workers, scheduler=scheduler,
                   progress=progress, on_start=on_start)
    outcome = job.outcomes[0]
    if outcome.error is not None:
        raise outcome.error
    return outcome.run


# -- the verdict -----------------------------------------------------------------------------
def analyse(run: SBCRun, *, alpha: float = SBC_ALPHA) -> tuple[CheckResult, dict]:
    """Uniformity of every quantity's ranks; Holm across quantities at family ``alpha``.

    Returns the check result and, per quantity, the band-test results (for plotting).
    """
    from glmcheck.stats import sbc as S

    config, records = run.config, run.records
    family = alpha
    if run.looks:
        alpha = family / len(run.looks)
    ok = [r for r in records if r.get("ok")]
    failed = len(records) - len(ok)
    unconverged = sum(1 for r in ok if not converged(r))
    problems = []
    if failed > MAX_FAILED * len(records):
        first = next(str(r.get("error", "")) for r in records if not r.get("ok"))
        first = first if len(first) <= 160 else first[:157] + "..."
        problems.append(
            f"{failed} of {len(records)} fits failed (> {MAX_FAILED:.0%}; first: {first})"
        )
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
    if run.stopped_at is not None:
        problems.append(f"stopped at {run.stopped_at} of {run.looks[-1]} simulations "
                        "(sequential)")
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
                    f"{MAX_FAILED:.0%}, unconverged (R-hat > {RHAT_MAX} or NaN, or divergences) "
                    f"<= {MAX_UNCONVERGED:.0%}" + (
                        f"; sequential: judged at {', '.join(map(str, run.looks))} simulations, "
                        f"each at alpha={family:g}/{len(run.looks)} (Bonferroni over looks), "
                        "stopped at the first that fails" if run.looks else ""),
            "alpha": family,
            **({"looks": list(run.looks), "stopped_at": run.stopped_at} if run.looks else {}),
        },
        details={"simulations": len(records), "failed": failed, "unconverged": unconverged,
                 "L": config.n_ranked, "thin": config.thin, "config": config.to_dict(),
                 "seconds_per_simulation": float(np.median([r.get("seconds", 0) for r in records]))},
    )
    return result, bands


def _case_name(ref: str) -> str:
    from glmcheck.cases import get_case

    return get_case(ref).name
