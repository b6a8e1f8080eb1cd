"""The fitter protocol: compile a model once, refit it on new response vectors.

A fitter owns one sampler and one compiled model. ``Fitter(spec, settings)`` compiles;
``fit(y, seed=...)`` samples without compiling again and returns a
:class:`~glmcheck.posterior.Posterior`. Timing lives here, so benchmarks and checks measure the
same thing.

To plug in a sampler of your own, subclass :class:`Fitter`, set ``name`` (and ``requires``),
implement ``_compile`` and ``_sample``, and pass it as ``package.module:ClassName`` wherever a
sampler name is accepted.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from time import perf_counter
from typing import ClassVar

import numpy as np
import xarray as xr

from glmcheck.errors import FitError, GlmcheckError, MissingDependency, UsageError
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
    """What :meth:`Fitter._sample` returns: posterior in the model's own names."""

    posterior: xr.Dataset
    stats: xr.Dataset
    warmup: float | None = None
    sampling: float | None = None


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
    def fit(self, y: np.ndarray | None = None, *, seed: int) -> Posterior:
        """Fit the model to response ``y`` (default: the spec's data) with ``seed``."""
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
        draws = self.spec.canonical(raw.posterior)
        bad = [name for name, var in draws.data_vars.items() if not np.isfinite(var.values).all()]
        if bad:
            raise FitError(
                f"{self.name} returned NaN or infinite draws for {bad} "
                f"(case {self.spec.case.name!r}, {self.spec.frontend})"
            )
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
        )
