"""Benchmarks: how long each sampler takes, and how much precision it buys per second and per
gradient evaluation, for every case × frontend × sampler × route asked for.

A benchmark compiles each configuration once (the ``public`` route compiles inside every fit,
as users experience it) and fits it once to warm up, then runs ``repeats`` repeats on the
case's reference data; the configurations take turns (repeat 1 of every configuration, then
repeat 2, …), so a slow spell of the machine falls on all of them alike. A repeat is a block of
fits that lasts at least ``min_time`` seconds (one fit of a slow configuration, several of a
fast one: timer noise averages out within a block, as asv and pytest-benchmark calibrate their
rounds), fit j of repeat k with seed ``seed + 1000 k + j``. Each repeat yields the
:data:`METRICS`. Two of them do not depend on the machine: ESS per gradient evaluation and
gradient evaluations per draw (with ESS itself and divergences) are the figures to compare
across machines; times compare only within one run, or between runs of one machine.

:func:`compare_bench` is the rule that flags a change between two benchmark records: a metric
changed when the ratio of its medians is beyond ``factor`` (default 1.1) *and* a two-sided
Mann-Whitney U test over the repeats gives p < ``alpha`` (default 0.002), the rule asv uses;
the ratio's 95 % bootstrap interval is reported beside it. Times are judged only between the
two sides of one interleaved run (``glmcheck bench --env A --env B``): between runs made at
different times a shared machine drifts by more than any useful factor. The machine-independent
metrics are judged between any two runs. With n repeats per side the test
cannot go below p = 2 / C(2n, n), so a comparison whose repeats cannot reach ``alpha`` is
refused rather than read as "no change" (the default 15 repeats reach 1.3e-8).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from math import comb

import numpy as np

from glmcheck.errors import FitError, UsageError
from glmcheck.fitters.base import FitSettings
from glmcheck.runner import FitFailure, FitRequest

__all__ = [
    "Metric", "METRICS", "BY_KEY", "REPEATS", "FACTOR", "ALPHA", "SETTINGS", "BenchRequest",
    "BenchSession", "fit_metrics", "run_bench", "summarize_bench", "compare_bench",
    "BenchComparison", "MetricChange", "min_p", "bench_configs", "pytest_benchmark_json",
]

#: repeats per configuration: enough for the Mann-Whitney test to reach ALPHA (15 per side
#: reach 2 / C(30, 15) = 1.3e-8) and to flag a 25 % slowdown between two interleaved stacks
#: in at least 19 of 20 trials with the measured noise (10 repeats flagged 18 of 20)
REPEATS = 15
#: a change smaller than this ratio of medians is never flagged, however significant
FACTOR = 1.1
#: the Mann-Whitney U p-value below which a change beyond FACTOR is flagged (per metric)
ALPHA = 0.002
#: the settings of every benchmark fit unless a case or the user asks for others
SETTINGS = FitSettings(chains=2, tune=1000, draws=1000)
#: a repeat fits a configuration as many times as it takes to last this many seconds (at least
#: once), timed from a warm-up fit: one fit of linear (65 ms) varies by 8 % from the next,
#: a block of eight by 3 %
MIN_TIME = 0.5
#: fit j of repeat k has seed ``seed + SEED_STRIDE * k + j``
SEED_STRIDE = 1000
#: confidence of the ratio's bootstrap interval
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    #: ``"higher"`` or ``"lower"`` is better
    better: str
    #: the same on any machine (given the versions and seeds)
    portable: bool
    #: compared over repeats by :func:`compare_bench` (else shown only)
    judged: bool
    help: str = ""


#: what a benchmark measures per fit, in the order tables show it
METRICS: tuple[Metric, ...] = (
    Metric("compile_s", "compile s", "lower", False, False,
           help="compiling the model once (compiled route; the public route compiles inside "
                "every fit); one measurement per run, shown and not judged"),
    Metric("warmup_s", "warm-up s", "lower", False, True,
           help="warm-up (tuning) time, where the sampler times it apart from the draws "
                "(PyMC's NUTS and the JAX samplers on the compiled route); n/a for nutpie, "
                "which does not time its phases, and on the public route"),
    Metric("sampling_s", "sampling s", "lower", False, True, help="time of the kept draws"),
    Metric("fit_s", "fit s", "lower", False, True,
           help="the whole fit call: warm-up and draws (public route: build and compile too)"),
    Metric("ess_bulk", "ESS bulk", "higher", True, False,
           help="smallest bulk ESS over parameter elements"),
    Metric("ess_tail", "ESS tail", "higher", True, False,
           help="smallest tail ESS over parameter elements"),
    Metric("ess_per_s", "ESS/s", "higher", False, True,
           help="smallest bulk ESS per second of sampling (n/a where sampling is not timed)"),
    Metric("ess_per_s_total", "ESS/s total", "higher", False, True,
           help="smallest bulk ESS per second of the whole fit"),
    Metric("ess_per_grad", "ESS/grad", "higher", True, True,
           help="smallest bulk ESS per gradient evaluation of the kept draws"),
    Metric("grad_per_draw", "grad/draw", "lower", True, True,
           help="gradient evaluations (leapfrog steps) per kept draw"),
    Metric("us_per_grad", "µs/grad", "lower", False, True,
           help="sampling time per gradient evaluation, in microseconds"),
    Metric("divergences", "divergences", "lower", True, False,
           help="divergent transitions among the kept draws"),
)
#: the metrics by key
BY_KEY = {m.key: m for m in METRICS}


def min_p(n_a: int, n_b: int) -> float:
    """The smallest two-sided p-value an exact Mann-Whitney U test of n_a and n_b values can
    give: 2 / C(n_a + n_b, n_a) (every value of one side below every value of the other)."""
    return min(1.0, 2 / comb(n_a + n_b, n_a))


# -- one repeat -------------------------------------------------------------------------------
def fit_metrics(posterior, compile_s: float | None = None) -> dict:
    """The :data:`METRICS` of one fit (None where the sampler does not report what one needs)."""
    return {"compile_s": compile_s, **block_metrics([posterior])}


def block_metrics(posteriors: list) -> dict:
    """The :data:`METRICS` of a repeat's fits: times and ESS are means per fit; ESS/s, ESS per
    gradient, gradients per draw and time per gradient are ratios of the block's sums. ESS is
    ArviZ's rank-normalized bulk and tail ESS, the smallest over parameter elements."""
    from glmcheck import compat

    def smallest(post, method: str) -> float:
        ess = compat.ess(post.draws, method=method)
        return float(min(np.min(np.asarray(v.values)) for v in ess.data_vars.values()))

    def total(values):
        values = list(values)
        return None if any(v is None for v in values) else float(sum(values))

    n = len(posteriors)
    bulk = total(smallest(p, "bulk") for p in posteriors)
    tail = total(smallest(p, "tail") for p in posteriors)
    warmup = total(p.timing.warmup for p in posteriors)
    sampling = total(p.timing.sampling for p in posteriors)
    fit = total(p.timing.fit for p in posteriors)
    grads = total(p.gradient_evals for p in posteriors)
    draws = total(p.chains * p.n_draws for p in posteriors)
    divergences = total(p.divergences for p in posteriors)

    def per(num, den, scale=1.0):
        return None if num is None or not den else scale * num / den

    def mean(value):
        return None if value is None else value / n

    return {
        "warmup_s": mean(warmup),
        "sampling_s": mean(sampling),
        "fit_s": mean(fit),
        "ess_bulk": mean(bulk),
        "ess_tail": mean(tail),
        "ess_per_s": per(bulk, sampling),
        "ess_per_s_total": per(bulk, fit),
        "ess_per_grad": per(bulk, grads),
        "grad_per_draw": per(grads, draws),
        "us_per_grad": per(sampling, grads, 1e6),
        "divergences": None if divergences is None else int(divergences),
    }


# -- a benchmark run --------------------------------------------------------------------------
@dataclass(kw_only=True)
class BenchRequest(FitRequest):
    """What to benchmark: :class:`~glmcheck.runner.FitRequest` plus ``repeats``."""

    cases: tuple = ("linear",)
    settings: FitSettings = SETTINGS
    repeats: int = REPEATS
    #: seconds each repeat lasts at least (its fits are a block; :data:`MIN_TIME`)
    min_time: float = MIN_TIME

    def resolve(self):
        repeats = self.repeats
        if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
            raise UsageError(f"expected repeats >= 1 but got repeats={repeats!r}")
        if not 0 <= self.min_time <= 60:
            raise UsageError(f"expected 0 <= min-time <= 60 s but got {self.min_time!r}")
        from glmcheck.runner import SEED_MAX

        if isinstance(self.seed, int) and self.seed + SEED_STRIDE * repeats > SEED_MAX:
            raise UsageError(f"seed {self.seed} is too large for {repeats} repeats: repeat k "
                             f"uses seeds from seed + {SEED_STRIDE}·k, at most {SEED_MAX}")
        if self.data is not None:
            raise UsageError("a benchmark fits each case's reference data; it takes no data set")
        return super().resolve()

    def to_dict(self) -> dict:
        return {
            "cases": [c if isinstance(c, str) else c.name for c in self.cases],
            "frontends": list(self.frontends), "samplers": list(self.samplers),
            "routes": list(self.routes), "repeats": self.repeats, "seed": self.seed,
            "min_time": self.min_time, "settings": self.settings.to_dict(),
            "explicit": sorted(self.explicit),
        }

    @classmethod
    def from_dict(cls, d: dict) -> BenchRequest:
        return cls(cases=tuple(d["cases"]), frontends=tuple(d["frontends"]),
                   samplers=tuple(d["samplers"]), routes=tuple(d["routes"]),
                   repeats=int(d["repeats"]), seed=int(d["seed"]),
                   min_time=float(d.get("min_time", MIN_TIME)),
                   settings=FitSettings(**d["settings"]), explicit=frozenset(d["explicit"]))


def bench_configs(request: BenchRequest) -> list[dict]:
    """Every case × frontend × sampler × route of the request, in the order they run."""
    cases, fitters = request.resolve()
    return [{"case": case.name, "frontend": frontend, "sampler": cls.name, "route": cls.route}
            for case in cases for frontend in request.frontends for cls in fitters]


@dataclass
class BenchSession:
    """One benchmark in one process: :meth:`prepare` builds, compiles and calibrates every
    configuration, :meth:`step` runs one repeat (a block of fits) of one of them. :func:`run_bench` drives it in this process; a worker in
    another environment drives the same steps when two stacks are interleaved."""

    request: BenchRequest
    configs: list[dict] = field(default_factory=list)
    _fitters: list = field(default_factory=list)

    def prepare(self, progress: Callable[[str], None] | None = None) -> list[dict]:
        """Build and compile every configuration; a failure is recorded on its configuration
        (``failure``) and the others go on."""
        from glmcheck.frontends import build
        from glmcheck.posterior import fit_label

        cases, fitters = self.request.resolve()
        say = progress or (lambda text: None)
        for case in cases:
            data = case.reference_data()
            settings = self.request.settings_for(case)
            for frontend in self.request.frontends:
                spec, error = None, None
                try:
                    spec = build(case, frontend, data)
                except FitError as exc:
                    error = ("build", str(exc))
                for cls in fitters:
                    config = {"case": case.name, "frontend": frontend, "sampler": cls.name,
                              "route": cls.route, "asked": settings.to_dict(),
                              "compile_s": None, "fits_per_repeat": None, "failure": None,
                              "runs": []}
                    fitter = None
                    if error is None:
                        say(f"{fit_label(case.name, frontend, cls.name, cls.route)}: compiling")
                        stage = "compile"
                        try:
                            fitter = cls(spec, settings)
                            if cls.route == "compiled":
                                config["compile_s"] = fitter.compile_seconds
                            stage = "warm-up fit"
                            config["fits_per_repeat"] = self._calibrate(fitter)
                        except FitError as exc:
                            config["failure"] = {"stage": stage, "error": str(exc)}
                    else:
                        config["failure"] = {"stage": error[0], "error": error[1]}
                    self.configs.append(config)
                    self._fitters.append(fitter)
        return self.configs

    def _calibrate(self, fitter) -> int:
        """Fit once, untimed for the record (first-call costs stay out of the repeats), and
        return how many fits make a repeat last ``min_time``."""
        from time import perf_counter

        start = perf_counter()
        fitter.fit(seed=self.request.seed + SEED_STRIDE * self.request.repeats)
        elapsed = perf_counter() - start
        return int(min(SEED_STRIDE, max(1, math.ceil(self.request.min_time / elapsed))))

    def step(self, index: int, repeat: int, fits: int | None = None) -> dict:
        """Repeat ``repeat`` of configuration ``index``: ``fits`` fits (default: its
        calibrated ``fits_per_repeat``) with seeds ``seed + 1000·repeat + j``; their metrics,
        or the failure that ends this configuration's repeats."""
        config, fitter = self.configs[index], self._fitters[index]
        if config["failure"] is not None:
            return {"skipped": True}
        fits = fits or config["fits_per_repeat"]
        seeds = [self.request.seed + SEED_STRIDE * repeat + j for j in range(fits)]
        posteriors = []
        try:
            for seed in seeds:
                posteriors.append(fitter.fit(seed=seed))
        except FitError as exc:
            config["failure"] = {"stage": f"sample (repeat {repeat + 1}, seed {seed})",
                                 "error": str(exc)}
            return {"failure": config["failure"]}
        run = {"repeat": repeat, "seeds": seeds, **block_metrics(posteriors)}
        posterior = posteriors[0]
        config.setdefault("settings", dict(posterior.settings or {}))
        config["runs"].append(run)
        return {"run": run}


def run_bench(request: BenchRequest, progress: Callable[[str, int, int], None] | None = None
              ) -> dict:
    """Benchmark ``request`` in this process; returns the ``bench`` part of its record.

    ``progress(text, done, total)`` is called before each compile and after each repeat."""
    session = BenchSession(request)
    configs = bench_configs(request)
    total = len(configs) * request.repeats
    say = progress or (lambda text, done, total: None)
    session.prepare(lambda text: say(text, 0, total))
    order = []
    done = 0
    for repeat in range(request.repeats):
        for index in range(len(session.configs)):
            outcome = session.step(index, repeat)
            done += 1
            if "skipped" not in outcome:
                order.append(["A", index, repeat])
            say(_config_label(session.configs[index]), done, total)
    return bench_body(session.configs, order)


def bench_body(configs: list[dict], order: list, window: str | None = None) -> dict:
    """The ``bench`` part of a record: the configurations with their runs, the order in which
    the repeats ran (``[side, configuration index, repeat]``, and the worker process as a fourth
    item in an interleaved run; side ``"A"``, or ``"B"`` for the second environment) and the
    time window's id (shared by the two sides
    of an interleaved run, its own for every other run)."""
    import uuid

    return {"configs": configs, "order": order, "window": window or uuid.uuid4().hex,
            "metrics": {m.key: {"label": m.label, "better": m.better, "portable": m.portable,
                                "judged": m.judged, "help": m.help} for m in METRICS}}


def failures(body: dict) -> list[FitFailure]:
    """The fits of a benchmark that failed, as :class:`~glmcheck.runner.FitFailure`."""
    return [FitFailure(case=c["case"], frontend=c["frontend"], sampler=c["sampler"],
                       route=c["route"], stage=c["failure"]["stage"],
                       error=c["failure"]["error"])
            for c in body["configs"] if c.get("failure")]


def _config_label(config: dict) -> str:
    from glmcheck.posterior import fit_label

    return fit_label(config["case"], config["frontend"], config["sampler"], config["route"])


def _key(config: dict) -> tuple:
    return config["case"], config["frontend"], config["sampler"], config["route"]


def _values(config: dict, key: str) -> np.ndarray | None:
    """One metric over the repeats; None when any repeat lacks it (not available)."""
    if key == "compile_s":
        value = config.get("compile_s")
        return None if value is None else np.array([float(value)])
    values = [r.get(key) for r in config["runs"]]
    if not values or any(v is None for v in values):
        return None
    return np.asarray(values, dtype=float)


# -- summaries --------------------------------------------------------------------------------
@dataclass(kw_only=True)
class Summary:
    """One configuration: median and quartiles of every metric over its repeats."""

    label: str
    key: tuple
    repeats: int
    median: dict[str, float | None]
    q25: dict[str, float | None]
    q75: dict[str, float | None]
    #: this configuration's median ESS/s (total) and ESS/grad over the best sampler's of the
    #: same case, frontend and route (1 for the best)
    vs_best: dict[str, float | None]
    failure: dict | None = None

    def spread(self, key: str) -> float | None:
        """Half the interquartile range over the median (a robust coefficient of variation)."""
        m, lo, hi = self.median.get(key), self.q25.get(key), self.q75.get(key)
        if m is None or lo is None or hi is None or m == 0:
            return None
        return (hi - lo) / 2 / abs(m)


def summarize_bench(body: dict) -> list[Summary]:
    out = []
    for config in body["configs"]:
        med, q25, q75 = {}, {}, {}
        for m in METRICS:
            v = _values(config, m.key)
            if v is None:
                med[m.key] = q25[m.key] = q75[m.key] = None
            else:
                q25[m.key], med[m.key], q75[m.key] = (float(x) for x in np.percentile(v, [25, 50, 75]))
        out.append(Summary(label=_config_label(config), key=_key(config),
                           repeats=len(config["runs"]), median=med, q25=q25, q75=q75,
                           vs_best={}, failure=config.get("failure")))
    for metric in ("ess_per_s_total", "ess_per_grad"):
        groups: dict = {}
        for s in out:
            groups.setdefault((s.key[0], s.key[1], s.key[3]), []).append(s)
        for group in groups.values():
            values = [s.median[metric] for s in group if s.median[metric] is not None]
            best = max(values, default=None)
            for s in group:
                value = s.median[metric]
                s.vs_best[metric] = None if value is None or not best else value / best
    return out


# -- comparing two benchmark records ----------------------------------------------------------
@dataclass(kw_only=True)
class MetricChange:
    """One metric of one configuration, A → B."""

    label: str
    metric: str
    median_a: float | None
    median_b: float | None
    #: B's median over A's
    ratio: float | None
    #: the 95 % bootstrap interval of the ratio
    low: float | None
    high: float | None
    #: two-sided Mann-Whitney U p-value over the repeats
    p: float | None
    #: regressed, improved, not significant (beyond the factor, p >= alpha), no change,
    #: not judged (shown only), n/a (a side lacks the metric)
    status: str

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(kw_only=True)
class BenchComparison:
    sources: tuple[str, str]
    stacks: tuple[dict, dict]
    versions: list
    factor: float
    alpha: float
    changes: list[MetricChange]
    only_a: list[str]
    only_b: list[str]
    failed_b: list[str]
    #: whether times were judged (the runs shared a time window, or the user asked)
    times_judged: bool = False
    order: list | None = None

    @property
    def regressions(self) -> list[MetricChange]:
        return [c for c in self.changes if c.status == "regressed"]

    @property
    def exit_code(self) -> int:
        from glmcheck.errors import EXIT_FAILED, EXIT_FIT, EXIT_OK

        if self.failed_b:
            return EXIT_FIT
        return EXIT_FAILED if self.regressions else EXIT_OK

    def to_dict(self) -> dict:
        return {
            "sources": list(self.sources), "stacks": list(self.stacks),
            "versions": [v.__dict__ for v in self.versions], "factor": self.factor,
            "alpha": self.alpha, "changes": [c.to_dict() for c in self.changes],
            "only_a": self.only_a, "only_b": self.only_b, "failed_b": self.failed_b,
            "times_judged": self.times_judged, "order": self.order,
            "exit_code": self.exit_code,
        }


def _ratio_interval(a: np.ndarray, b: np.ndarray, seed: int) -> tuple[float, float]:
    """The percentile bootstrap interval of median(b) / median(a) (SciPy's bootstrap)."""
    from scipy import stats

    if np.ptp(a) == 0 and np.ptp(b) == 0:
        r = float(np.median(b) / np.median(a))
        return r, r
    res = stats.bootstrap(
        (a, b), lambda x, y, axis=-1: np.median(y, axis=axis) / np.median(x, axis=axis),
        vectorized=True, paired=False, confidence_level=CONFIDENCE, n_resamples=2000,
        method="percentile", rng=np.random.default_rng(seed),
    )
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def _mann_whitney(a: np.ndarray, b: np.ndarray) -> float:
    from scipy import stats

    if np.ptp(np.concatenate([a, b])) == 0:
        return 1.0
    return float(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue)


def judge(metric: Metric, a: np.ndarray | None, b: np.ndarray | None, *, factor: float,
          alpha: float, label: str, seed: int = 0, judged: bool = True) -> MetricChange:
    """The rule for one metric: regressed or improved when the ratio of medians is beyond
    ``factor`` in that direction and the Mann-Whitney p < ``alpha``. ``judged=False`` shows the
    ratio without a verdict."""
    if a is None or b is None:
        return MetricChange(label=label, metric=metric.key, median_a=_med(a), median_b=_med(b),
                            ratio=None, low=None, high=None, p=None, status="n/a")
    ma, mb = float(np.median(a)), float(np.median(b))
    ratio = mb / ma if ma else math.nan
    if not (judged and metric.judged) or len(a) < 2 or len(b) < 2:
        return MetricChange(label=label, metric=metric.key, median_a=ma, median_b=mb,
                            ratio=ratio, low=None, high=None, p=None, status="not judged")
    low, high = _ratio_interval(a, b, seed) if ma else (math.nan, math.nan)
    p = _mann_whitney(a, b)
    worse = ratio if metric.better == "lower" else (1 / ratio if ratio else math.inf)
    if not np.isfinite(worse):
        status = "n/a"
    elif worse > factor:
        status = "regressed" if p < alpha else "not significant"
    elif worse < 1 / factor:
        status = "improved" if p < alpha else "not significant"
    else:
        status = "no change"
    return MetricChange(label=label, metric=metric.key, median_a=ma, median_b=mb, ratio=ratio,
                        low=low, high=high, p=p, status=status)


def _med(v) -> float | None:
    return None if v is None else float(np.median(v))


def _settings_of(config: dict) -> dict:
    ran = config.get("settings") or config.get("asked") or {}
    return {k: ran.get(k) for k in ("chains", "tune", "draws", "target_accept")}


def stack_line(record: dict) -> str:
    """``python 3.12.3 · pymc 6.4.0 · bambi 0.21.0 · …``: which stack a record ran."""
    env = record.get("environment") or {}
    versions = env.get("versions") or {}
    names = ("pymc", "bambi", "pytensor", "nutpie", "numpyro", "blackjax", "arviz")
    parts = [f"python {env.get('python', '?')}"]
    parts += [f"{n} {versions[n]}" for n in names if versions.get(n)]
    return " · ".join(parts)


def same_window(a: dict, b: dict) -> bool:
    """Whether two benchmark records ran interleaved in one time window (``--env A --env B``)."""
    wa, wb = a["bench"].get("window"), b["bench"].get("window")
    return wa is not None and wa == wb


def compare_bench(a: dict, b: dict, *, factor: float = FACTOR, alpha: float = ALPHA,
                  sources: tuple[str, str] = ("A", "B"), judge_times: bool | None = None
                  ) -> BenchComparison:
    """Compare benchmark record ``b`` (after) with ``a`` (before), configuration by
    configuration. Runs of different cases or settings, or too few repeats for the test to
    reach ``alpha``, are a UsageError: nothing could be judged, and that is not a pass.

    Times are judged only between runs interleaved in one time window (``judge_times=None``:
    decide from the records), because a shared machine's speed drifts between runs far more
    than within one (on the 2-core machine this was built on, the median fit time of the same
    benchmark moved between 57 and 89 ms from one run to the next, while two interleaved
    processes agreed within 4 %). The machine-independent metrics are always judged."""
    from glmcheck.comparison import _versions

    if not factor > 1:
        raise UsageError(f"expected factor > 1 but got factor={factor}")
    if not 0 < alpha < 1:
        raise UsageError(f"expected 0 < alpha < 1 but got alpha={alpha}")
    for name, record in zip(sources, (a, b)):
        if record.get("kind") != "bench" or not isinstance(record.get("bench"), dict):
            raise UsageError(
                f"record {name!r} is a {record.get('kind')!r} record, not a benchmark: "
                f"compare runs of glmcheck bench (glmcheck compare compares other runs)"
            )
    configs_a = {_key(c): c for c in a["bench"]["configs"]}
    configs_b = {_key(c): c for c in b["bench"]["configs"]}
    common = [k for k in configs_a if k in configs_b]
    if not common:
        raise UsageError(
            f"the two benchmarks share no case × frontend × sampler × route "
            f"(A: {_some(configs_a)}; B: {_some(configs_b)}): compare runs of the same cases"
        )
    for k in common:
        sa, sb = _settings_of(configs_a[k]), _settings_of(configs_b[k])
        if sa != sb:
            raise UsageError(
                f"{_config_label(configs_a[k])} ran with different settings (A {_fmt_settings(sa)}, "
                f"B {_fmt_settings(sb)}): compare runs of the same settings"
            )
    usable = [k for k in common if configs_a[k]["runs"] and configs_b[k]["runs"]]
    if usable:
        n_a = min(len(configs_a[k]["runs"]) for k in usable)
        n_b = min(len(configs_b[k]["runs"]) for k in usable)
        if min_p(n_a, n_b) >= alpha:
            raise UsageError(
                f"with {n_a} and {n_b} repeats the Mann-Whitney test cannot go below "
                f"p = {min_p(n_a, n_b):.2g}, so no change could reach alpha {alpha:g}: rerun "
                f"with more repeats (--repeats {_repeats_for(alpha)} reaches it)"
            )
    times = same_window(a, b) if judge_times is None else judge_times
    changes = []
    failed_b = []
    for index, k in enumerate(common):
        ca, cb = configs_a[k], configs_b[k]
        label = _config_label(ca)
        if cb.get("failure") and not ca.get("failure"):
            failed_b.append(f"{label}: {cb['failure']['error']}")
        for m in METRICS:
            changes.append(judge(m, _values(ca, m.key), _values(cb, m.key), factor=factor,
                                 alpha=alpha, label=label, seed=index,
                                 judged=m.portable or times))
    return BenchComparison(
        sources=sources, stacks=(_stack(a), _stack(b)),
        versions=_versions(a.get("environment") or {}, b.get("environment") or {}),
        factor=factor, alpha=alpha, changes=changes,
        only_a=[_config_label(configs_a[k]) for k in configs_a if k not in configs_b],
        only_b=[_config_label(configs_b[k]) for k in configs_b if k not in configs_a],
        failed_b=failed_b, times_judged=times,
    )


def _stack(record: dict) -> dict:
    return {"stack": stack_line(record), "label": (record.get("request") or {}).get("env"),
            "created": record.get("created")}


def _repeats_for(alpha: float) -> int:
    n = 2
    while min_p(n, n) >= alpha:
        n += 1
    return n


def _some(configs: dict, limit: int = 3) -> str:
    labels = [_config_label(c) for c in configs.values()]
    more = f" and {len(labels) - limit} more" if len(labels) > limit else ""
    return ", ".join(labels[:limit]) + more


def _fmt_settings(s: dict) -> str:
    return (f"{s.get('chains')} chains × ({s.get('tune')} + {s.get('draws')}), "
            f"target_accept {s.get('target_accept')}")


# -- pytest-benchmark's JSON ------------------------------------------------------------------
def pytest_benchmark_json(record: dict) -> dict:
    """The fit times of a benchmark record in pytest-benchmark's saved format, so that
    ``pytest-benchmark compare`` lines them up with ``benchmarks/test_fit_speed.py``'s
    ``test_refit`` (same names) and with other runs of ``glmcheck bench``. Every metric's
    median is in each entry's ``extra_info``."""
    import platform

    env = record.get("environment") or {}
    entries = []
    for config, summary in zip(record["bench"]["configs"], summarize_bench(record["bench"])):
        times = _values(config, "fit_s")
        if times is None:
            continue
        case, frontend, sampler, route = _key(config)
        param = f"{case}-{frontend}-{sampler}" + ("" if route == "compiled" else f"-{route}")
        name = f"test_refit[{param}]"
        q1, q3 = np.percentile(times, [25, 75])
        iqr = float(q3 - q1)
        sd = float(np.std(times, ddof=1)) if len(times) > 1 else 0.0
        mean = float(times.mean())
        entries.append({
            "group": f"refit {case}",
            "name": name,
            "fullname": f"benchmarks/test_fit_speed.py::{name}",
            "params": {"case": case, "frontend": frontend, "sampler": sampler},
            "param": param,
            "extra_info": {"route": route, **summary.median},
            "options": {"disable_gc": False, "timer": "perf_counter", "min_rounds": len(times),
                        "max_time": 0.0, "min_time": 0.0, "warmup": False},
            "stats": {
                "min": float(times.min()), "max": float(times.max()), "mean": mean,
                "stddev": sd, "rounds": int(len(times)), "median": float(np.median(times)),
                "iqr": iqr, "q1": float(q1), "q3": float(q3),
                "iqr_outliers": int(np.sum((times < q1 - 1.5 * iqr) | (times > q3 + 1.5 * iqr))),
                "stddev_outliers": int(np.sum(np.abs(times - mean) > sd)) if sd else 0,
                "outliers": "0;0", "ld15iqr": float(times[times >= q1 - 1.5 * iqr].min()),
                "hd15iqr": float(times[times <= q3 + 1.5 * iqr].max()),
                "ops": 1 / mean if mean else 0.0, "total": float(times.sum()),
                "data": [float(t) for t in times], "iterations": 1,
            },
        })
    return {
        "machine_info": {"node": platform.node(), "processor": env.get("machine"),
                         "machine": env.get("machine"), "python_implementation":
                         env.get("implementation"), "python_version": env.get("python"),
                         "release": "", "system": "", "cpu": {"brand_raw": env.get("cpu_model"),
                                                              "count": env.get("cpu_count")}},
        "commit_info": {"id": None, "time": None, "author_time": None, "dirty": False,
                        "project": "glmcheck", "branch": None},
        "benchmarks": entries,
        "datetime": record.get("created"),
        "version": _pytest_benchmark_version(),
    }


def _pytest_benchmark_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pytest-benchmark")
    except PackageNotFoundError:
        return "5.0.0"
