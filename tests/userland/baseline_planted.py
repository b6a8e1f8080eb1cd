"""Planted regressions for the baseline check to catch (used by tests/test_baseline.py).

- :func:`shift_mean`: a posterior whose draws of one parameter are moved by a fraction of its
  posterior sd (a biased sampler or a changed model default).
- :func:`inflate_sd`: draws of one parameter stretched around their mean (a broken mass matrix).
- ``LazyAdaptationNutpie``: nutpie whose step-size adaptation silently aims at an acceptance
  rate of 0.995 while reporting the 0.8 it was asked for: smaller steps, more gradient
  evaluations per draw, less ESS per gradient — what a worse adaptation looks like.
"""

from dataclasses import replace

from glmcheck.fitters.base import FitSettings
from glmcheck.fitters.nutpie import NutpieFitter


def shift_mean(posterior, param: str, fraction: float):
    draws = posterior.draws.copy()
    draws[param] = draws[param] + fraction * float(draws[param].std())
    return replace(posterior, draws=draws)


def inflate_sd(posterior, param: str, factor: float):
    draws = posterior.draws.copy()
    var = draws[param]
    centre = var.mean(("chain", "draw"))
    draws[param] = centre + factor * (var - centre)
    return replace(posterior, draws=draws)


class LazyAdaptationNutpie(NutpieFitter):
    name = "nutpie"

    def _sample(self, y, seed):
        asked = self.settings
        self.settings = FitSettings(chains=asked.chains, tune=asked.tune, draws=asked.draws,
                                    target_accept=0.995)
        try:
            raw = super()._sample(y, seed)
        finally:
            self.settings = asked
        raw.settings = {**(raw.settings or {}), "target_accept": asked.target_accept}
        return raw
