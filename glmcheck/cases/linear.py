"""``linear``: the straight line of PyMC's "Inference Button" GLM tutorial, exactly as the seed.

    sigma ~ HalfCauchy(10);  Intercept, slope ~ Normal(0, 20)
    y ~ Normal(Intercept + slope * x, sigma),  x = linspace(0, 1, 200)

The reference data set is the tutorial's: ``rng = numpy.random.default_rng(8927)``, true
intercept 1, slope 2, noise sd 0.5, ``y = 1 + 2 x + rng.normal(scale=0.5, size=200)``.
"""

import numpy as np
import pandas as pd
from scipy import stats

from glmcheck.cases.base import Case, Params, per_draw


class Linear(Case):
    name = "linear"
    title = "straight-line regression of the PyMC GLM tutorial (y ~ x)"
    family = "gaussian"
    formula = "y ~ x"
    predictors = ("x",)
    params = ("Intercept", "slope", "sigma")
    bambi_names = {"slope": "x"}
    reference_seed = 8927
    true_params = {"Intercept": 1.0, "slope": 2.0, "sigma": 0.5}
    size = 200
    coef_sd = 20.0
    sigma_scale = 10.0
    expected_broadcasts = True

    def design(self) -> pd.DataFrame:
        return pd.DataFrame({"x": np.linspace(0, 1, self.size)})

    def draw_params(self, rng: np.random.Generator) -> Params:
        return {
            "Intercept": rng.normal(0.0, self.coef_sd),
            "slope": rng.normal(0.0, self.coef_sd),
            "sigma": stats.halfcauchy(scale=self.sigma_scale).rvs(random_state=rng),
        }

    def expected(self, params: Params, design: pd.DataFrame) -> np.ndarray:
        return per_draw(params["Intercept"]) + per_draw(params["slope"]) * design["x"].to_numpy()

    def simulate(self, params: Params, design: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
        mu = self.expected(params, design)
        return mu + rng.normal(scale=params["sigma"], size=len(mu))

    def pymc_model(self, data: pd.DataFrame):
        import pymc as pm

        with pm.Model() as model:
            x = pm.Data("x", data["x"].to_numpy())
            sigma = pm.HalfCauchy("sigma", beta=self.sigma_scale)
            intercept = pm.Normal("Intercept", 0, sigma=self.coef_sd)
            slope = pm.Normal("slope", 0, sigma=self.coef_sd)
            pm.Normal("y", mu=intercept + slope * x, sigma=sigma, observed=data["y"].to_numpy())
        return model

    def exact_posterior(self, data: pd.DataFrame):
        """Exact by the conditionally conjugate grid (Normal coefficients, 1-D sigma prior)."""
        from glmcheck.stats import gaussian_linear_posterior

        x = data["x"].to_numpy(dtype=float)
        return gaussian_linear_posterior(
            np.column_stack([np.ones(len(x)), x]),
            data["y"].to_numpy(dtype=float),
            coef_names=("Intercept", "slope"),
            prior_sd=self.coef_sd,
            sigma_logpdf=stats.halfcauchy(scale=self.sigma_scale).logpdf,
        )

    def bambi_priors(self) -> dict:
        import bambi as bmb

        return {
            "Intercept": bmb.Prior("Normal", mu=0, sigma=self.coef_sd),
            "x": bmb.Prior("Normal", mu=0, sigma=self.coef_sd),
            "sigma": bmb.Prior("HalfCauchy", beta=self.sigma_scale),
        }


CASE = Linear()
