"""nutpie: compiled once with ``compile_pymc_model``, refit with ``with_data``."""

from __future__ import annotations

import os

import numpy as np

from glmcheck import compat
from glmcheck.fitters.base import Fitter, RawSample, standard_stats
from glmcheck.frontends import RESPONSE_DATA
from glmcheck.posterior import STAT_NAMES


#: nutpie's default ``maxdepth``, passed explicitly: what ran does not hang on nutpie's default
MAX_TREE_DEPTH = 10


class NutpieFitter(Fitter):
    name = "nutpie"
    requires = ("nutpie",)
    max_tree_depth = MAX_TREE_DEPTH

    def _compile(self) -> None:
        import nutpie

        self._compiled = nutpie.compile_pymc_model(
            self.spec.model, var_names=self.spec.native_params
        )
        # The first sample call pays one-off JIT and thread-pool start-up: pay it here.
        nutpie.sample(self._compiled, chains=1, tune=5, draws=5, progress_bar=False)

    def _sample(self, y: np.ndarray, seed: int) -> RawSample:
        import nutpie

        s = self.settings
        trace = nutpie.sample(
            self._compiled.with_data(**{RESPONSE_DATA: y}),
            chains=s.chains,
            tune=s.tune,
            draws=s.draws,
            target_accept=s.target_accept,
            maxdepth=self.max_tree_depth,
            seed=seed,
            cores=min(s.chains, os.cpu_count() or 1),
            progress_bar=False,
            save_warmup=False,
        )
        raw_stats = compat.group(trace, "sample_stats")
        stats = standard_stats(raw_stats, {"logp": "lp"})
        stats["tree_depth"] = started_doublings(raw_stats["depth"], raw_stats["n_steps"])
        return RawSample(
            posterior=compat.group(trace, "posterior"),
            stats=stats[[n for n in STAT_NAMES if n in stats]],
            settings={"tune": s.tune, "target_accept": float(s.target_accept),
                      "max_tree_depth": self.max_tree_depth},
        )


def started_doublings(depth, n_steps):
    """nutpie's ``depth`` in glmcheck's convention (:data:`~glmcheck.posterior.STAT_NAMES`).

    nutpie counts the doublings it completed and merged (Stan's convention); a doubling cut
    short inside by a U-turn or a divergence is not counted, though its leapfrog steps are:
    such a draw took more than ``2**depth - 1`` steps and started ``depth + 1`` doublings.
    """
    # on the arrays: xarray's arithmetic aligns coordinates, 9 ms of a 60 ms fit of linear
    d = np.asarray(depth.values, dtype="int64")
    n = np.asarray(n_steps.values, dtype="int64")
    return depth.copy(deep=False, data=d + (n > 2**d - 1))
