"""``negbinomial``: overdispersed counts, log link, a prior on the dispersion.

    Intercept ~ Normal(1, 1);  slope ~ Normal(0, 1);  alpha ~ Gamma(shape=2, rate=0.5)
    y ~ NegativeBinomial(mu=exp(Intercept + slope * x), alpha),  n = 250

Parameterization (PyMC's ``NegativeBinomial(mu=, alpha=)``, which Bambi's ``negativebinomial``
family uses as is in 0.17 and 0.21): E[y] = mu, Var[y] = mu + mu² / alpha; smaller alpha means
more overdispersion, alpha → ∞ is Poisson. The Gamma(2, 0.5) prior (mean 4, 90 % interval
0.7–9.5) keeps alpha away from 0, where prior draws would be almost all zeros plus a few huge
counts. ``x`` is ``linspace(0, 1, 250)`` standardized to mean 0 and sd 1.
"""

import numpy as np
import pandas as pd

from glmcheck.cases.base import Params
from glmcheck.cases.poisson import Poisson


class NegBinomial(Poisson):
    """Poisson's design, intercept and slope (and their priors), plus the dispersion alpha."""

    name = "negbinomial"
    title = "negative-binomial regression of overdispersed counts, log link (y ~ x)"
    family = "negativebinomial"
    params = ("Intercept", "slope", "alpha")
    reference_seed = 6301
    true_params = {"Intercept": 1.5, "slope": 0.7, "alpha": 2.0}
    size = 250
    alpha_shape = 2.0
    alpha_rate = 0.5

    def draw_params(self, rng: np.random.Generator) -> Params:
        return {
            **super().draw_params(rng),
            "alpha": rng.gamma(self.alpha_shape, 1.0 / self.alpha_rate),
        }

    def simulate(self, params: Params, design: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
        mu = self.expected(params, design)
        alpha = params["alpha"]
        # numpy's (n, p) form: n = alpha, p = alpha / (alpha + mu) gives mean mu, var mu + mu²/alpha
        return rng.negative_binomial(alpha, alpha / (alpha + mu)).astype(np.int64)

    def pymc_model(self, data: pd.DataFrame):
        import pymc as pm

        with pm.Model() as model:
            x = pm.Data("x", data["x"].to_numpy(float))
            intercept = pm.Normal("Intercept", self.intercept_mu, sigma=self.intercept_sd)
            slope = pm.Normal("slope", 0.0, sigma=self.coef_sd)
            alpha = pm.Gamma("alpha", alpha=self.alpha_shape, beta=self.alpha_rate)
            pm.NegativeBinomial(
                "y", mu=pm.math.exp(intercept + slope * x), alpha=alpha,
                observed=data["y"].to_numpy(np.int64),
            )
        return model

    def bambi_priors(self) -> dict:
        import bambi as bmb

        return {
            **super().bambi_priors(),
            "alpha": bmb.Prior("Gamma", alpha=self.alpha_shape, beta=self.alpha_rate),
        }


CASE = NegBinomial()
