"""A user's own sampler, written against glmcheck's Fitter protocol: nutpie with its
low-rank mass-matrix adaptation. Named on the command line as ``lowrank_sampler:LowRankNutpie``.
"""

import numpy as np

from glmcheck.compat import group
from glmcheck.fitters import Fitter, RawSample
from glmcheck.frontends import RESPONSE_DATA


class LowRankNutpie(Fitter):
    name = "nutpie-lowrank"
    requires = ("nutpie",)

    def _compile(self):
        import nutpie

        self._compiled = nutpie.compile_pymc_model(self.spec.model, var_names=self.spec.native_params)

    def _sample(self, y: np.ndarray, seed: int) -> RawSample:
        import nutpie

        s = self.settings
        trace = nutpie.sample(
            self._compiled.with_data(**{RESPONSE_DATA: y}),
            chains=s.chains, tune=s.tune, draws=s.draws, seed=seed, cores=1,
            progress_bar=False, adaptation="low_rank",
        )
        stats = group(trace, "sample_stats")
        return RawSample(posterior=group(trace, "posterior"), stats=stats[["diverging", "n_steps"]])
