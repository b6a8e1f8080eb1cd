"""A user's own case, kept outside glmcheck: a regression line through the origin.

Used by the tests as ``through_origin:CASE`` (with this folder on PYTHONPATH), exactly as a
user would name their own case on the command line.
"""

import numpy as np
import pandas as pd

from glmcheck.cases import Case


class ThroughOrigin(Case):
    name = "through_origin"
    title = "a line through the origin (y ~ 0 + x)"
    formula = "y ~ 0 + x"
    params = ("slope", "sigma")
    bambi_names = {"slope": "x"}
    reference_seed = 7
    true_params = {"slope": 1.5, "sigma": 0.4}

    def design(self):
        return pd.DataFrame({"x": np.linspace(-1, 1, 60)})

    def draw_params(self, rng):
        return {"slope": rng.normal(0, 2), "sigma": abs(rng.normal(0, 1))}

    def expected(self, params, design):
        return params["slope"] * design["x"].to_numpy()

    def simulate(self, params, design, rng):
        mu = self.expected(params, design)
        return mu + rng.normal(scale=params["sigma"], size=len(mu))

    def pymc_model(self, data):
        import pymc as pm

        with pm.Model() as model:
            slope = pm.Normal("slope", 0, 2)
            sigma = pm.HalfNormal("sigma", 1)
            pm.Normal("y", slope * data["x"].to_numpy(), sigma, observed=data["y"].to_numpy())
        return model

    def bambi_priors(self):
        import bambi as bmb

        return {"x": bmb.Prior("Normal", mu=0, sigma=2), "sigma": bmb.Prior("HalfNormal", sigma=1)}


class BadFormula(ThroughOrigin):
    name = "bad_formula"
    formula = "y ~ x +"


CASE = ThroughOrigin()
BAD_FORMULA = BadFormula()
NOT_A_CASE = 42
