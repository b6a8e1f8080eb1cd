"""A user's samplers and case that keep or break glmcheck's plugin contract (used by the tests).

No real sampling: the "draws" are independent numpy normals of the right shape, which is all
the contract is about. Each class is defined here, outside ``glmcheck``, so glmcheck treats it
as a user's plugin: a broken contract is a PluginError (exit 4).

- ``NumpySampler``: keeps the contract (parameters × chain × draw, statistics on that grid).
- ``ReportingSampler``: hard-codes target_accept 0.95 and a maximum tree depth of 6, says so in
  ``RawSample.settings``, thins its draws by 2, and reports ``tree_depth`` reaching 6 on
  ``saturate`` draws of chain 0 (a planted tree-depth saturation).
- ``SelfRecordingSampler``: says nothing in ``RawSample.settings`` but, like nutpie 0.16.11,
  keeps a record of its settings in its statistics' attributes (target_accept 0.9, maximum
  tree depth 8), and claims target_accept 0.85 in ``RawSample.settings``: the record wins.
- ``NoChainDim``, ``MissingParameter``, ``StatsOffGrid``, ``NotARawSample``,
  ``BadSettings``: one broken promise each.
- ``MisnamedBambi``: a case whose ``from_bambi`` forgets Bambi's name for the slope.
"""

import numpy as np
import xarray as xr

from glmcheck.cases.linear import Linear
from glmcheck.fitters import Fitter, RawSample


class NumpySampler(Fitter):
    name = "numpy-fake"

    def _compile(self):
        pass

    def _shape(self):
        return self.settings.chains, self.settings.draws

    def _draws(self, rng) -> xr.Dataset:
        return xr.Dataset({
            p: (("chain", "draw"), np.abs(rng.normal(size=self._shape())) if p == "sigma"
                else rng.normal(size=self._shape()))
            for p in self.spec.native_params
        })

    def _stats(self, rng) -> xr.Dataset:
        shape = self._shape()
        return xr.Dataset({
            "diverging": (("chain", "draw"), np.zeros(shape, bool)),
            "energy": (("chain", "draw"), rng.normal(size=shape)),
            "tree_depth": (("chain", "draw"), np.full(shape, 2)),
        })

    def _sample(self, y, seed):
        rng = np.random.default_rng(seed)
        return RawSample(posterior=self._draws(rng), stats=self._stats(rng))


class ReportingSampler(NumpySampler):
    name = "numpy-reporting"
    target_accept = 0.95
    depth_limit = 6
    saturate = 3

    def _shape(self):
        return self.settings.chains, self.settings.draws // 2  # thinned by 2

    def _stats(self, rng):
        stats = super()._stats(rng)
        stats["tree_depth"].values[0, : self.saturate] = self.depth_limit
        return stats

    def _sample(self, y, seed):
        raw = super()._sample(y, seed)
        raw.settings = {"target_accept": self.target_accept, "max_tree_depth": self.depth_limit,
                        "adaptation": "diag"}
        return raw


class SelfRecordingSampler(NumpySampler):
    name = "numpy-self-recording"

    def _sample(self, y, seed):
        import json

        raw = super()._sample(y, seed)
        record = {"sampler": "nuts", "settings": {
            "num_tune": self.settings.tune, "num_draws": self.settings.draws, "maxdepth": 8,
            "adapt_options": {"step_size_settings": {"target_accept": 0.9}},
        }}
        raw.stats.attrs.update(inference_library="nutpie",
                               inference_library_settings=json.dumps(record))
        raw.settings = {"target_accept": 0.85}
        return raw


class NoChainDim(NumpySampler):
    name = "numpy-no-chain"

    def _sample(self, y, seed):
        raw = super()._sample(y, seed)
        raw.posterior = raw.posterior.isel(chain=0)  # drops the chain dim
        return raw


class MissingParameter(NumpySampler):
    name = "numpy-missing"

    def _sample(self, y, seed):
        raw = super()._sample(y, seed)
        raw.posterior = raw.posterior.drop_vars("sigma")
        return raw


class StatsOffGrid(NumpySampler):
    name = "numpy-stats-off-grid"

    def _sample(self, y, seed):
        raw = super()._sample(y, seed)
        raw.stats = raw.stats.isel(draw=slice(0, 10))
        return raw


class NotARawSample(NumpySampler):
    name = "numpy-dict"

    def _sample(self, y, seed):
        raw = super()._sample(y, seed)
        return {"posterior": raw.posterior, "stats": raw.stats}


class BadSettings(NumpySampler):
    name = "numpy-bad-settings"

    def _sample(self, y, seed):
        raw = super()._sample(y, seed)
        raw.settings = {"target_accept": 95}  # a percentage, not a probability
        return raw


class MisnamedBambi(Linear):
    """The linear case, a user's copy whose ``from_bambi`` forgets that Bambi calls the slope
    ``x``."""

    name = "misnamed_bambi"

    def from_bambi(self, posterior):
        return posterior[list(self.params)]
