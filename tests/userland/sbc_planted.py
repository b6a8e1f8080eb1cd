"""Planted samplers and cases for SBC tests that must not depend on MCMC draws.

``ExactSampler`` draws independently from the case's exact posterior (``linear`` and
``polynomial`` have one): SBC's ideal sampler. It compiles nothing, so a simulation costs
milliseconds, and its ranks are uniform by construction, whatever the machine. The others plant
one error each into it:

- ``ShiftedSampler``: every draw moved up by 3 posterior sds. The truth then ranks near 0 in
  almost every simulation: SBC must fail whatever the seed.
- ``FrozenSampler``: sigma's draws are all equal to their mean; R-hat of sigma is NaN.
- ``ZeroSigmaSampler``: the first draw of chain 0 has sigma = 0 (exp of an underflowed log
  sigma): finite draws whose Gaussian log-likelihood is not finite.
- ``NanLoglik``: the ``linear`` case whose log-likelihood is NaN everywhere.
"""

import numpy as np
import xarray as xr

from glmcheck.cases.linear import Linear
from glmcheck.errors import UsageError
from glmcheck.fitters import Fitter, RawSample


class ExactSampler(Fitter):
    name = "exact"

    def _compile(self) -> None:
        if self.spec.case.exact_posterior(self.spec.data) is None:
            raise UsageError(f"case {self.spec.case.name!r} has no exact posterior")

    def _draws(self, y, seed) -> dict[str, np.ndarray]:
        case, s = self.spec.case, self.settings
        data = self.spec.data.copy()
        data[case.response] = y
        draws = case.exact_posterior(data).draws(s.chains * s.draws, np.random.default_rng(seed))
        shape = (s.chains, s.draws)
        return {p: np.asarray(draws[p], dtype=float).reshape(shape) for p in case.params}

    def _sample(self, y, seed) -> RawSample:
        draws = self._draws(y, seed)
        names = self.spec.native_names
        posterior = xr.Dataset(
            {names.get(p, p): (("chain", "draw"), v) for p, v in draws.items()}
        )
        shape = next(iter(draws.values())).shape
        stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros(shape, dtype=bool))})
        return RawSample(posterior=posterior, stats=stats)


class ShiftedSampler(ExactSampler):
    name = "exact-shifted"

    def _draws(self, y, seed):
        return {p: v + 3 * v.std() for p, v in super()._draws(y, seed).items()}


class FrozenSampler(ExactSampler):
    name = "exact-frozen"

    def _draws(self, y, seed):
        draws = super()._draws(y, seed)
        draws["sigma"] = np.full_like(draws["sigma"], draws["sigma"].mean())
        return draws


class ZeroSigmaSampler(ExactSampler):
    name = "exact-zero-sigma"

    def _draws(self, y, seed):
        draws = super()._draws(y, seed)
        draws["sigma"][0, 0] = 0.0
        return draws


class NanLoglik(Linear):
    name = "nan_loglik"

    def loglik(self, params, data) -> float:
        return float("nan")


NAN_LOGLIK = NanLoglik()


class ForkedExactSampler(ExactSampler):
    """The exact sampler, declared fork-safe: SBC's local workers are forked from the process
    that built it (the route of nutpie and PyMC) instead of spawned."""

    name = "exact-forked"
    fork_safe = True


class UnbuildableSampler(ExactSampler):
    """A sampler whose model never builds: a failed fit of every simulation (exit 3)."""

    name = "exact-unbuildable"
    fork_safe = True

    def _compile(self) -> None:
        raise RuntimeError("planted: this model does not compile")


class DyingSampler(ForkedExactSampler):
    """Its worker process dies (as a segfault would kill it) at simulation 3 of any run."""

    name = "exact-dying"

    def fit(self, y=None, *, seed):
        if seed == DYING_SEED:
            import os

            os._exit(7)
        return super().fit(y, seed=seed)


#: the fit seed of simulation 3 at run seed 5 (SBCWorker.simulate's SeedSequence)
DYING_SEED = int(np.random.SeedSequence([5, 3]).spawn(3)[1].generate_state(1)[0] % 2**31)
