"""``logistic``: Bernoulli outcome, logit link, two standardized predictors.

    Intercept ~ Normal(0, 1.5);  slope_x1, slope_x2 ~ Normal(0, 1)
    y ~ Bernoulli(logit⁻¹(Intercept + slope_x1 * x1 + slope_x2 * x2)),  n = 250

The design is fixed: ``x1, x2`` are independent standard-normal draws
(``numpy.random.default_rng(4103)``), standardized to mean 0 and sd 1. On the logit scale a
Normal(0, 1) slope moves the probability from 0.5 to at most about 0.95 per predictor sd at two
prior sds, so prior-predictive data sets look like real binary data, not all-0/all-1 ones.
"""

import numpy as np
import pandas as pd
from scipy import special

from glmcheck.cases.base import Case, Params, per_draw


class Logistic(Case):
    name = "logistic"
    title = "logistic regression, Bernoulli outcome (y ~ x1 + x2)"
    family = "bernoulli"
    formula = "y ~ x1 + x2"
    predictors = ("x1", "x2")
    params = ("Intercept", "slope_x1", "slope_x2")
    bambi_names = {"slope_x1": "x1", "slope_x2": "x2"}
    reference_seed = 4101
    true_params = {"Intercept": -0.4, "slope_x1": 1.2, "slope_x2": -0.8}
    plot_x = "x1"
    curve_note = "other predictors at their means"
    size = 250
    design_seed = 4103
    intercept_sd = 1.5
    coef_sd = 1.0
    expected_broadcasts = True

    def design(self) -> pd.DataFrame:
        x = np.random.default_rng(self.design_seed).normal(size=(self.size, 2))
        x = (x - x.mean(axis=0)) / x.std(axis=0)
        return pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1]})

    def draw_params(self, rng: np.random.Generator) -> Params:
        return {
            "Intercept": rng.normal(0.0, self.intercept_sd),
            "slope_x1": rng.normal(0.0, self.coef_sd),
            "slope_x2": rng.normal(0.0, self.coef_sd),
        }

    def expected(self, params: Params, design: pd.DataFrame) -> np.ndarray:
        eta = (
            per_draw(params["Intercept"])
            + per_draw(params["slope_x1"]) * design["x1"].to_numpy()
            + per_draw(params["slope_x2"]) * design["x2"].to_numpy()
        )
        return special.expit(eta)

    def simulate(self, params: Params, design: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
        p = self.expected(params, design)
        return (rng.uniform(size=len(p)) < p).astype(np.int64)

    def pymc_model(self, data: pd.DataFrame):
        import pymc as pm

        with pm.Model() as model:
            x1 = pm.Data("x1", data["x1"].to_numpy(float))
            x2 = pm.Data("x2", data["x2"].to_numpy(float))
            intercept = pm.Normal("Intercept", 0.0, sigma=self.intercept_sd)
            slope_x1 = pm.Normal("slope_x1", 0.0, sigma=self.coef_sd)
            slope_x2 = pm.Normal("slope_x2", 0.0, sigma=self.coef_sd)
            eta = intercept + slope_x1 * x1 + slope_x2 * x2
            pm.Bernoulli("y", logit_p=eta, observed=data["y"].to_numpy(np.int64))
        return model

    def bambi_priors(self) -> dict:
        import bambi as bmb

        slope = bmb.Prior("Normal", mu=0, sigma=self.coef_sd)
        return {
            "Intercept": bmb.Prior("Normal", mu=0, sigma=self.intercept_sd),
            "x1": slope,
            "x2": slope,
        }


CASE = Logistic()
