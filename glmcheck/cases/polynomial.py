"""``polynomial``: a quadratic trend, the tutorial's suggested ``"y ~ x + I(x ** 2)"``.

    sigma ~ HalfCauchy(10);  Intercept, slope, curvature ~ Normal(0, 20)
    y ~ Normal(Intercept + slope * x + curvature * x**2, sigma),  x = linspace(-1, 1, 200)
"""

import numpy as np
import pandas as pd
from scipy import stats

from glmcheck.cases.base import Case, Params, per_draw


class Polynomial(Case):
    name = "polynomial"
    title = "quadratic regression (y ~ x + I(x ** 2))"
    family = "gaussian"
    formula = "y ~ x + I(x ** 2)"
    predictors = ("x",)
    params = ("Intercept", "slope", "curvature", "sigma")
    bambi_names = {"slope": "x", "curvature": "I(x ** 2)"}
    reference_seed = 20261124
    true_params = {"Intercept": 0.5, "slope": 1.0, "curvature": -2.0, "sigma": 0.3}
    size = 200
    coef_sd = 20.0
    sigma_scale = 10.0
    expected_broadcasts = True

    def design(self) -> pd.DataFrame:
        return pd.DataFrame({"x": np.linspace(-1, 1, self.size)})

    def draw_params(self, rng: np.random.Generator) -> Params:
        return {
            "Intercept": rng.normal(0.0, self.coef_sd),
            "slope": rng.normal(0.0, self.coef_sd),
            "curvature": rng.normal(0.0, self.coef_sd),
            "sigma": stats.halfcauchy(scale=self.sigma_scale).rvs(random_state=rng),
        }

    def expected(self, params: Params, design: pd.DataFrame) -> np.ndarray:
        x = design["x"].to_numpy()
        return (
            per_draw(params["Intercept"]) + per_draw(params["slope"]) * x
            + per_draw(params["curvature"]) * x**2
        )

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
            curvature = pm.Normal("curvature", 0, sigma=self.coef_sd)
            mu = intercept + slope * x + curvature * x**2
            pm.Normal("y", mu=mu, sigma=sigma, observed=data["y"].to_numpy())
        return model

    def exact_posterior(self, data: pd.DataFrame):
        """Exact by the conditionally conjugate grid (Normal coefficients, 1-D sigma prior)."""
        from glmcheck.stats import gaussian_linear_posterior

        x = data["x"].to_numpy(dtype=float)
        return gaussian_linear_posterior(
            np.column_stack([np.ones(len(x)), x, x**2]),
            data["y"].to_numpy(dtype=float),
            coef_names=("Intercept", "slope", "curvature"),
            prior_sd=self.coef_sd,
            sigma_logpdf=stats.halfcauchy(scale=self.sigma_scale).logpdf,
        )

    def bambi_priors(self) -> dict:
        import bambi as bmb

        normal = bmb.Prior("Normal", mu=0, sigma=self.coef_sd)
        return {
            "Intercept": normal,
            "x": normal,
            "I(x ** 2)": normal,
            "sigma": bmb.Prior("HalfCauchy", beta=self.sigma_scale),
        }


CASE = Polynomial()
