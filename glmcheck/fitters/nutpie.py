"""nutpie: compiled once with ``compile_pymc_model``, refit with ``with_data``."""

from __future__ import annotations

import os

import numpy as np

from glmcheck import compat
from glmcheck.fitters.base import Fitter, RawSample, standard_stats
from glmcheck.frontends import RESPONSE_DATA


class NutpieFitter(Fitter):
    name = "nutpie"
    requires = ("nutpie",)

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
            seed=seed,
            cores=min(s.chains, os.cpu_count() or 1),
            progress_bar=False,
            save_warmup=False,
        )
        stats = standard_stats(
            compat.group(trace, "sample_stats"), {"depth": "tree_depth", "logp": "lp"}
        )
        return RawSample(posterior=compat.group(trace, "posterior"), stats=stats)
