"""The output of a fit: draws in canonical names, sampler statistics, timings, provenance."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import xarray as xr

__all__ = ["Posterior", "Timing", "STAT_NAMES"]

#: Sampler statistics every fitter reports under these names where the sampler has them:
#: ``diverging`` (bool), ``n_steps`` (leapfrog steps per draw), ``tree_depth``, ``energy``,
#: ``step_size``, ``lp`` (log density).
STAT_NAMES = ("diverging", "n_steps", "tree_depth", "energy", "step_size", "lp")


@dataclass(kw_only=True, frozen=True)
class Timing:
    """Seconds spent; ``warmup`` and ``sampling`` are None where a sampler cannot split them."""

    compile: float
    fit: float
    warmup: float | None = None
    sampling: float | None = None

    def to_dict(self) -> dict:
        return {
            "compile_s": self.compile,
            "fit_s": self.fit,
            "warmup_s": self.warmup,
            "sampling_s": self.sampling,
        }


@dataclass(kw_only=True)
class Posterior:
    """Posterior draws of one case, frontend and sampler."""

    case: str
    frontend: str
    sampler: str
    seed: int
    #: dims ``chain``, ``draw`` (and parameter dims); canonical parameter names only
    draws: xr.Dataset
    #: dims ``chain``, ``draw``; names from :data:`STAT_NAMES`
    stats: xr.Dataset
    timing: Timing
    #: canonical parameter name -> name in the frontend's model (only where different)
    native_names: dict[str, str] = field(default_factory=dict)

    @property
    def chains(self) -> int:
        return self.draws.sizes["chain"]

    @property
    def n_draws(self) -> int:
        return self.draws.sizes["draw"]

    @property
    def divergences(self) -> int:
        if "diverging" not in self.stats:
            return 0
        return int(np.asarray(self.stats["diverging"]).sum())

    @property
    def gradient_evals(self) -> int | None:
        if "n_steps" not in self.stats:
            return None
        return int(np.asarray(self.stats["n_steps"]).sum())

    def label(self) -> str:
        return f"{self.case} · {self.frontend} · {self.sampler}"
