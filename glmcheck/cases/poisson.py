"""``poisson``: counts with a log link.

    Intercept ~ Normal(1, 1);  slope ~ Normal(0, 1)
    y ~ Poisson(exp(Intercept + slope * x)),  n = 200

``x`` is ``linspace(0, 1, 200)`` standardized to mean 0 and sd 1 (range ±1.72). The prior puts
the typical rate near e ≈ 2.7 with a prior-predictive rate below ~150 in 95 % of draws: realistic
count data, no astronomically large counts.
"""

import numpy as np
import pandas as pd

from glmcheck.cases.base import Case, Params, per_draw


class Poisson(Case):
    name = "poisson"
    title = "Poisson regression of counts, log link (y ~ x)"
    family = "poisson"
    formula = "y ~ x"
    predictors = ("x",)
    params = ("Intercept", "slope")
    bambi_names = {"slope": "x"}
    reference_seed = 5201
    true_params = {"Intercept": 1.0, "slope": 0.5}
    size = 200
    intercept_mu = 1.0
    intercept_sd = 1.0
    coef_sd = 1.0
    expected_broadcasts = True

    def design(self) -> pd.DataFrame:
        x = np.linspace(0, 1, self.size)
        return pd.DataFrame({"x": (x - x.mean()) / x.std()})

    def draw_params(self, rng: np.random.Generator) -> Params:
        return {
            "Intercept": rng.normal(self.intercept_mu, self.intercept_sd),
            "slope": rng.normal(0.0, self.coef_sd),
        }

    def expected(self, params: Params, design: pd.DataFrame) -> np.ndarray:
        x = design["x"].to_numpy()
        return np.exp(per_draw(params["Intercept"]) + per_draw(params["slope"]) * x)

    def simulate(self, params: Params, design: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
        return rng.poisson(self.expected(params, design)).astype(np.int64)

    def pymc_model(self, data: pd.DataFrame):
        import pymc as pm

        with pm.Model() as model:
            x = pm.Data("x", data["x"].to_numpy(float))
            intercept = pm.Normal("Intercept", self.intercept_mu, sigma=self.intercept_sd)
            slope = pm.Normal("slope", 0.0, sigma=self.coef_sd)
            pm.Poisson("y", mu=pm.math.exp(intercept + slope * x), observed=data["y"].to_numpy(np.int64))
        return model

    def bambi_priors(self) -> dict:
        import bambi as bmb

        return {
            "Intercept": bmb.Prior("Normal", mu=self.intercept_mu, sigma=self.intercept_sd),
            "x": bmb.Prior("Normal", mu=0, sigma=self.coef_sd),
        }


CASE = Poisson()
