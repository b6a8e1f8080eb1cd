"""The fitter protocol: compile a model once, refit it on new response vectors.

A fitter owns one sampler and one compiled model. ``Fitter(spec, settings)`` compiles;
``fit(y, seed=...)`` samples without compiling again and returns a
:class:`~glmcheck.posterior.Posterior`. Timing lives here, so benchmarks and checks measure the
same thing.

To plug in a sampler of your own, subclass :class:`Fitter`, set ``name`` (and ``requires``),
implement ``_compile`` and ``_sample``, and pass it as ``package.module:ClassName`` wherever a
sampler name is accepted. ``_sample`` returns a :class:`RawSample`; say in its ``settings``
whatever your sampler ran with that differs from what was asked (a hard-coded
``target_accept``, its maximum tree depth), so that results record what ran.

:meth:`Fitter.fit` holds what ``_sample`` returns to the contract: every parameter of the model,
with ``chain`` and ``draw`` dims, statistics on the same ``chain`` × ``draw`` grid, usable
settings. A fitter that breaks it raises :class:`~glmcheck.errors.PluginError` (exit 4) when it
is a user's (its class is not defined in a ``glmcheck.*`` module) and
:class:`~glmcheck.errors.FitError` (exit 3: a library changed under a built-in) otherwise.
A case's ``from_bambi`` that cannot find a parameter is judged the same way by the case's
module (``glmcheck.cases.*`` or not).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from time import perf_counter
from typing import ClassVar

import numpy as np
import xarray as xr

from glmcheck import compat
from glmcheck._loader import is_builtin
from glmcheck.errors import FitError, GlmcheckError, MissingDependency, PluginError, UsageError
from glmcheck.frontends import ModelSpec
from glmcheck.posterior import STAT_NAMES, Posterior, Timing

__all__ = ["FitSettings", "Fitter", "RawSample", "require"]


@dataclass(frozen=True, kw_only=True)
class FitSettings:
    """How to sample: ``chains`` × (``tune`` warm-up + ``draws``) iterations of NUTS whose step
    size is adapted to an average acceptance probability of ``target_accept``."""

    chains: int = 2
    tune: int = 1000
    draws: int = 1000
    target_accept: float = 0.8

    def __post_init__(self):
        for name in ("chains", "tune", "draws"):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or isinstance(value, bool):
                raise UsageError(f"expected {name} to be an integer but got {name}={value!r}")
            low = 0 if name == "tune" else 1
            if value < low:
                raise UsageError(f"expected {name} >= {low} but got {name}={value}")
        accept = self.target_accept
        if isinstance(accept, bool) or not isinstance(accept, int | float | np.number) or not (
            0 < accept < 1
        ):
            raise UsageError(f"expected 0 < target_accept < 1 but got target_accept={accept!r}")

    def to_dict(self) -> dict:
        return {"chains": self.chains, "tune": self.tune, "draws": self.draws,
                "target_accept": float(self.target_accept)}


@dataclass(kw_only=True)
class RawSample:
    """What :meth:`Fitter._sample` returns: posterior in the model's own names.

    ``posterior``: every parameter of the model (its own names), dims ``chain``, ``draw`` and
    any parameter dims. ``stats``: sampler statistics named as
    :data:`~glmcheck.posterior.STAT_NAMES`, dims ``chain`` and ``draw``. ``settings``: what the
    sampler ran with, where it differs from the fitter's :class:`FitSettings` or adds to them:
    ``tune``, ``target_accept``, ``max_tree_depth`` (the largest ``tree_depth`` it allows), and
    any other JSON-able setting; ``chains`` and ``draws`` are always read from the draws.
    """

    posterior: xr.Dataset
    stats: xr.Dataset
    warmup: float | None = None
    sampling: float | None = None
    settings: dict | None = None


def require(modules: tuple[str, ...], sampler: str) -> None:
    """Raise :class:`MissingDependency` naming what to install if a module is absent."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingDependency(
            f"sampler {sampler!r} needs {', '.join(missing)}, which is not installed: "
            f"pip install {' '.join(missing)}"
        )


def standard_stats(stats: xr.Dataset, renames: dict[str, str]) -> xr.Dataset:
    """Keep the statistics of :data:`STAT_NAMES`, renamed from the sampler's own names."""
    stats = stats.rename({k: v for k, v in renames.items() if k in stats})
    return stats[[name for name in STAT_NAMES if name in stats]]


class Fitter:
    """Base class of every sampler adapter."""

    #: Sampler name shown in every result.
    name: ClassVar[str] = "custom"
    #: Importable modules the sampler needs.
    requires: ClassVar[tuple[str, ...]] = ()
    #: The largest tree depth the sampler allows (:data:`~glmcheck.posterior.STAT_NAMES` says
    #: how depth counts); None where unknown. A ``max_tree_depth`` in
    #: :attr:`RawSample.settings`, or the sampler's own record, takes precedence.
    max_tree_depth: ClassVar[int | None] = None
    #: ``"compiled"``: compiles once and refits; ``"public"``: calls the library's own sampling
    #: route as a user does, compile included (:data:`~glmcheck.posterior.ROUTES`)
    route: ClassVar[str] = "compiled"
    #: Whether a process may fork after compiling this fitter and fit in the child (SBC's
    #: local workers then share one compile). False where the sampler's runtime keeps threads
    #: or state a fork breaks (JAX), and for a user's sampler unless it says so.
    fork_safe: ClassVar[bool] = False
    #: Whether :meth:`fit` may run one fit with other settings (``settings=``: chains, warm-up,
    #: draws) on the model compiled for these. False where the compiled program fixes them
    #: (JAX traces the number of chains and draws), and for a user's sampler unless it says so.
    refit_settings: ClassVar[bool] = False
    #: Threads to run the chains of one fit on, where the sampler can choose; None: one per
    #: chain up to the CPU count. SBC sets it so its workers' threads fill the cores exactly.
    threads: int | None = None

    def __init__(self, spec: ModelSpec, settings: FitSettings | None = None):
        require(self.requires, self.name)
        self.spec = spec
        self.settings = settings or FitSettings()
        start = perf_counter()
        try:
            self._compile()
        except GlmcheckError:
            raise
        except Exception as exc:
            raise FitError(
                f"{self.name} could not compile the {spec.frontend} model of case "
                f"{spec.case.name!r}: {type(exc).__name__}: {exc}"
            ) from exc
        self.compile_seconds = perf_counter() - start

    # -- to implement ----------------------------------------------------------------------
    def _compile(self) -> None:
        """Compile ``self.spec.model`` once."""
        raise NotImplementedError

    def _sample(self, y: np.ndarray, seed: int) -> RawSample:
        """Sample the compiled model with the response set to ``y``; must not recompile."""
        raise NotImplementedError

    # -- shared ----------------------------------------------------------------------------
    def fit(self, y: np.ndarray | None = None, *, seed: int,
            settings: FitSettings | None = None) -> Posterior:
        """Fit the model to response ``y`` (default: the spec's data) with ``seed``, and with
        ``settings`` instead of the fitter's own for this fit only (the compiled model is the
        same: chains, warm-up and draws are settings of sampling, not of the model)."""
        if settings is not None and settings != self.settings:
            if not self.refit_settings:
                raise UsageError(f"sampler {self.name!r} fits with the settings it was compiled "
                                 "for; compile another fitter for other settings")
            own, self.settings = self.settings, settings
            try:
                return self.fit(y, seed=seed)
            finally:
                self.settings = own
        y = self.spec.response_values(y)
        start = perf_counter()
        try:
            raw = self._sample(y, int(seed))
        except GlmcheckError:
            raise
        except Exception as exc:
            raise FitError(
                f"{self.name} failed to fit the {self.spec.frontend} model of case "
                f"{self.spec.case.name!r}: {type(exc).__name__}: {exc}"
            ) from exc
        elapsed = perf_counter() - start
        self._check_raw(raw)
        draws = self._canonical(raw.posterior)
        bad = [name for name, var in draws.data_vars.items() if not np.isfinite(var.values).all()]
        if bad:
            raise FitError(
                f"{self.name} returned NaN or infinite draws for {bad} "
                f"(case {self.spec.case.name!r}, {self.spec.frontend})"
            )
        settings, max_tree_depth = self._ran_with(raw, draws)
        return Posterior(
            case=self.spec.case.name,
            frontend=self.spec.frontend,
            sampler=self.name,
            seed=int(seed),
            draws=draws,
            stats=raw.stats,
            timing=Timing(
                compile=self.compile_seconds, fit=elapsed, warmup=raw.warmup, sampling=raw.sampling
            ),
            native_names=dict(self.spec.native_names),
            settings=settings,
            max_tree_depth=max_tree_depth,
            route=self.route,
        )

    # -- the contract of _sample -----------------------------------------------------------
    @classmethod
    def is_plugin(cls) -> bool:
        """Whether this fitter is a user's (defined outside glmcheck), not a built-in."""
        return not is_builtin(cls)

    def _broken(self, what: str) -> GlmcheckError:
        """The error for a ``_sample`` result that breaks the contract: one line, naming the
        sampler, the model and what is wrong."""
        cls = type(self)
        where = f"the {self.spec.frontend} model of case {self.spec.case.name!r}"
        if self.is_plugin():
            return PluginError(
                f"sampler {self.name!r} ({cls.__module__}:{cls.__qualname__}) broke the Fitter "
                f"contract on {where}: {what}"
            )
        return FitError(f"{self.name} returned unusable output for {where}: {what}")

    def _check_raw(self, raw) -> None:
        if not isinstance(raw, RawSample):
            raise self._broken(f"_sample returned {type(raw).__name__}, not a RawSample")
        post, stats = raw.posterior, raw.stats
        for field_name, value in (("posterior", post), ("stats", stats)):
            if not isinstance(value, xr.Dataset):
                raise self._broken(
                    f"RawSample.{field_name} is a {type(value).__name__}, not an xarray.Dataset"
                )
        wanted = self.spec.native_params
        missing = [p for p in wanted if p not in post.data_vars]
        if missing:
            raise self._broken(
                f"the draws have no parameter {', '.join(map(repr, missing))} "
                f"(it returned {sorted(map(str, post.data_vars))})"
            )
        for name in wanted:
            dims = post[name].dims
            lacking = [d for d in ("chain", "draw") if d not in dims]
            if lacking:
                raise self._broken(
                    f"draws of {name!r} have no {' or '.join(map(repr, lacking))} dimension "
                    f"(dims {dims})"
                )
        grid = {"chain": post.sizes["chain"], "draw": post.sizes["draw"]}
        if 0 in grid.values():
            raise self._broken(f"the draws are empty ({grid})")
        for name, var in stats.data_vars.items():
            sizes = {d: var.sizes.get(d) for d in grid}
            if sizes != grid:
                raise self._broken(
                    f"statistic {name!r} has dims {var.dims} with sizes {dict(var.sizes)}, not the "
                    f"draws' chain × draw grid {grid}"
                )
        if raw.settings is not None:
            if not isinstance(raw.settings, dict) or not all(
                isinstance(k, str) for k in raw.settings
            ):
                raise self._broken(
                    f"RawSample.settings must be a dict with str keys, not {raw.settings!r}"
                )
            problem = _bad_setting(raw.settings)
            if problem:
                raise self._broken(f"RawSample.settings: {problem}")

    def _canonical(self, posterior: xr.Dataset) -> xr.Dataset:
        """The draws in canonical names; a case that cannot find its parameters in draws that
        have them all is the case's bug: a user's (PluginError) or a regression (FitError)."""
        case = self.spec.case
        try:
            return self.spec.canonical(posterior)
        except GlmcheckError:
            raise
        except Exception as exc:
            cls = type(case)
            what = (f"could not map the {self.spec.frontend} posterior to its parameters "
                    f"{list(case.params)}: {type(exc).__name__}: {exc}")
            if not is_builtin(case):
                raise PluginError(
                    f"case {case.name!r} ({cls.__module__}:{cls.__qualname__}) {what}"
                ) from exc
            raise FitError(f"case {case.name!r} {what} (sampler {self.name})") from exc

    def _ran_with(self, raw: RawSample, draws: xr.Dataset) -> tuple[dict, int | None]:
        """(settings the sampler ran with, its maximum tree depth).

        Precedence: the draws themselves (chains, draws), then the sampler's own record in the
        statistics' attributes (nutpie keeps one), then what the fitter says in
        ``RawSample.settings``, then the :class:`FitSettings` it was given.
        """
        ran: dict = dict(self.settings.to_dict())
        ran.update(raw.settings or {})
        ran.update(compat.sampler_settings(raw.stats))
        max_tree_depth = ran.pop("max_tree_depth", None)
        if max_tree_depth is None:
            max_tree_depth = self.max_tree_depth
        ran = {k: v.item() if isinstance(v, np.generic) else v for k, v in ran.items()}
        ran["chains"] = int(draws.sizes["chain"])
        ran["draws"] = int(draws.sizes["draw"])
        if ran.get("target_accept") is not None:
            ran["target_accept"] = float(ran["target_accept"])
        return ran, None if max_tree_depth is None else int(max_tree_depth)


def _bad_setting(settings: dict) -> str | None:
    """What is wrong with a sampler's reported settings, or None."""
    for key in ("chains", "tune", "draws", "max_tree_depth"):
        if key in settings and settings[key] is not None:
            value = settings[key]
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < (
                0 if key == "tune" else 1
            ):
                return f"{key} must be a positive integer (tune: >= 0), not {value!r}"
    accept = settings.get("target_accept")
    if accept is not None and (
        isinstance(accept, bool) or not isinstance(accept, int | float | np.number)
        or not 0 < accept < 1
    ):
        return f"target_accept must be in (0, 1), not {accept!r}"
    return None
