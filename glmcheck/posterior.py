"""The output of a fit: draws in canonical names, sampler statistics, timings, provenance."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import xarray as xr

__all__ = ["Posterior", "Timing", "STAT_NAMES", "ROUTES", "fit_label"]

#: how a sampler is called: glmcheck's compile-once adapter, or the public route users call
ROUTES = ("compiled", "public")

#: Sampler statistics every fitter reports under these names where the sampler has them:
#: ``diverging`` (bool), ``n_steps`` (leapfrog steps per draw), ``tree_depth``, ``energy``,
#: ``step_size``, ``lp`` (log density).
#:
#: ``tree_depth`` has one convention for every sampler: the number of trajectory doublings NUTS
#: *started* for the draw, the last one included even when a U-turn or a divergence inside it
#: cut it short. A draw of depth d took 2**(d-1) <= n_steps <= 2**d - 1 leapfrog steps, and
#: ``tree_depth == max_tree_depth`` means the sampler began the last doubling it was allowed.
#: PyMC's ``depth``, BlackJAX's ``num_trajectory_expansions`` and NumPyro's depth derived from
#: its step count already count this way; nutpie's ``depth`` (Stan's convention) counts only
#: completed doublings, and its fitter adds the one cut short.
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
    #: the settings the sampler ran with (``chains``, ``tune``, ``draws``, ``target_accept``, and
    #: anything else a user's sampler reports): ``chains`` and ``draws`` from the draws
    #: themselves, the rest from the sampler's own record where it keeps one, else from what the
    #: fitter passed to it. None where unknown (a posterior built by hand).
    settings: dict | None = None
    #: the largest tree depth the sampler allowed (``tree_depth`` convention of
    #: :data:`STAT_NAMES`); None where the sampler does not say
    max_tree_depth: int | None = None
    #: how the sampler was called: ``"compiled"`` (glmcheck's compile-once adapter) or
    #: ``"public"`` (the route users call: ``pm.sample`` or Bambi's ``fit``, compile included)
    route: str = "compiled"

    @property
    def chains(self) -> int:
        return self.draws.sizes["chain"]

    @property
    def n_draws(self) -> int:
        return self.draws.sizes["draw"]

    @property
    def divergences(self) -> int | None:
        """Divergent transitions; None where the sampler reports no ``diverging`` statistic
        (not available is not zero). A NaN flag counts as divergent."""
        if "diverging" not in self.stats:
            return None
        flags = np.asarray(self.stats["diverging"].values, dtype=float)
        return int(np.count_nonzero(flags != 0))  # NaN != 0

    @property
    def saturated_draws(self) -> int | None:
        """Draws whose ``tree_depth`` reached :attr:`max_tree_depth` (a NaN depth counts);
        None where either is not available."""
        if "tree_depth" not in self.stats or self.max_tree_depth is None:
            return None
        depth = np.asarray(self.stats["tree_depth"].values, dtype=float)
        return int(np.count_nonzero(~(depth < self.max_tree_depth)))

    @property
    def gradient_evals(self) -> int | None:
        if "n_steps" not in self.stats:
            return None
        return int(np.asarray(self.stats["n_steps"]).sum())

    def label(self) -> str:
        return fit_label(self.case, self.frontend, self.sampler, self.route)


def fit_label(case: str, frontend: str, sampler: str, route: str = "compiled") -> str:
    """``case · frontend · sampler``, with `` · public`` for the public route."""
    return f"{case} · {frontend} · {sampler}" + ("" if route == "compiled" else f" · {route}")
