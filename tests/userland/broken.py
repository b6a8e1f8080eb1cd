"""User plugins with bugs of their own, for the exit-code tests (4: a plugin's bug).

- ``RAISES_IN_MODEL``: a case whose ``pymc_model`` raises.
- ``FailingOnBambi``: a sampler that fails to fit the Bambi model only (a failed fit, code 3,
  while the PyMC model's fit goes on).
"""

from through_origin import ThroughOrigin

from glmcheck.errors import FitError
from glmcheck.fitters.nutpie import NutpieFitter


class RaisesInModel(ThroughOrigin):
    name = "raises_in_model"

    def pymc_model(self, data):
        raise RuntimeError("the plugin author forgot a prior")


class FailingOnBambi(NutpieFitter):
    name = "nutpie-fails-on-bambi"

    def _sample(self, y, seed):
        if self.spec.frontend == "bambi":
            raise FitError("planted: the sampler gave up on the Bambi model")
        return super()._sample(y, seed)


RAISES_IN_MODEL = RaisesInModel()
