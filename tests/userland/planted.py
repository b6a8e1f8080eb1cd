"""Planted errors for the checks and SBC to catch (used by the tests).

- ``WideNoise``: the PyMC model's likelihood scale is 15 % wider than the simulator's.
- ``DispersedNutpie``: nutpie whose draws are stretched (factor > 1) or shrunk (< 1) around
  their mean, like a sampler with a broken mass matrix or step.
"""


from glmcheck.cases.linear import Linear
from glmcheck.fitters.nutpie import NutpieFitter


class WideNoise(Linear):
    name = "wide_noise"
    scale_error = 1.15

    def pymc_model(self, data):
        import pymc as pm

        with pm.Model() as model:
            x = pm.Data("x", data["x"].to_numpy())
            sigma = pm.HalfCauchy("sigma", beta=self.sigma_scale)
            intercept = pm.Normal("Intercept", 0, sigma=self.coef_sd)
            slope = pm.Normal("slope", 0, sigma=self.coef_sd)
            pm.Normal("y", mu=intercept + slope * x, sigma=sigma * self.scale_error,
                      observed=data["y"].to_numpy())
        return model


class DispersedNutpie(NutpieFitter):
    name = "nutpie-dispersed"
    factor = 1.3

    def _sample(self, y, seed):
        raw = super()._sample(y, seed)
        posterior = raw.posterior.copy()
        for name in self.spec.native_params:
            var = posterior[name]
            posterior[name] = var.mean(("chain", "draw")) + self.factor * (var - var.mean(("chain", "draw")))
        raw.posterior = posterior
        return raw


class ShrunkNutpie(DispersedNutpie):
    name = "nutpie-shrunk"
    factor = 0.7


WIDE_NOISE = WideNoise()
