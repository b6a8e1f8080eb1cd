"""A user's own sampler, written against glmcheck's Fitter protocol: nutpie tuned for a
higher acceptance rate (target_accept 0.95, smaller steps). Named on the command line as
``careful_sampler:CarefulNutpie``.

(Its first version used nutpie's low-rank mass-matrix adaptation, which nutpie 0.16.8 on the
previous stack does not have: a user sampler is held to the same two stacks as the built-ins.)

It runs with target_accept 0.95 whatever was asked, and says so in ``RawSample.settings``, so
results record 0.95, with the asked-for value under ``requested``. It returns only the
``diverging`` and ``n_steps`` statistics: the convergence check lists E-BFMI and tree depth as
not available for it (neither passed nor failed).
"""

import numpy as np

from glmcheck.compat import group
from glmcheck.fitters import Fitter, RawSample
from glmcheck.frontends import RESPONSE_DATA


class CarefulNutpie(Fitter):
    name = "nutpie-careful"
    requires = ("nutpie",)
    target_accept = 0.95

    def _compile(self):
        import nutpie

        self._compiled = nutpie.compile_pymc_model(self.spec.model, var_names=self.spec.native_params)

    def _sample(self, y: np.ndarray, seed: int) -> RawSample:
        import nutpie

        s = self.settings
        trace = nutpie.sample(
            self._compiled.with_data(**{RESPONSE_DATA: y}),
            chains=s.chains, tune=s.tune, draws=s.draws, seed=seed, cores=1,
            progress_bar=False, target_accept=self.target_accept,
        )
        stats = group(trace, "sample_stats")
        return RawSample(
            posterior=group(trace, "posterior"),
            stats=stats[["diverging", "n_steps"]],
            settings={"tune": s.tune, "target_accept": self.target_accept},
        )
