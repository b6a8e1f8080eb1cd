"""``shrinkage``: eight predictors, most with no effect, under a hierarchical shrinkage prior.

    Intercept ~ Normal(0, 2);  tau ~ HalfNormal(1);  beta[j] ~ Normal(0, tau), j = x1..x8
    sigma ~ HalfNormal(1);  y ~ Normal(Intercept + X @ beta, sigma),  n = 1000

The eight slopes are ONE vector parameter ``beta`` over the dim ``predictor`` (coords
``x1``..``x8``) sharing ONE scale ``tau``. The design is fixed: ``X`` holds standard-normal
draws (``numpy.random.default_rng(7403)``), each column standardized to mean 0 and sd 1.

The model is written centered, and n and the noise prior are chosen so that it samples well over
its whole prior, which SBC needs. Centered ``beta ~ Normal(0, tau)`` has a funnel where the data
say less about each slope than ``tau`` does: nutpie diverged or reached R-hat > 1.01 on 25 of 31
prior draws with ``tau < 0.1 sigma`` at n = 200 and ``sigma ~ HalfNormal(2)`` (a slope's standard
error is ``sigma / sqrt(n)``), 15 % of the prior, while a non-centered form fails in the far
larger region where the data dominate. At n = 1000 and ``sigma ~ HalfNormal(1)`` the funnel
region (``tau < 0.045 sigma``) holds about 3 % of the prior, and 3-14 of 200 prior-SBC fits
(nutpie, PyMC, numpyro and blackjax, both frontends) were unconverged, against the 10 % SBC allows.

Bambi cannot put a hyperprior on a common term ("Can't set a hyperprior on common effects"), and
``y ~ x1 + ... + x8`` would make eight terms anyway; a group-specific construction gives one
scale per expression column, also a different model. So the Bambi formula makes the predictors
ONE matrix term, ``cbind(x1, ..., x8)`` (``cbind`` = ``numpy.column_stack``, passed through
``extra_namespace``), aliased ``beta``, and its prior is a Bambi ``Prior`` with a custom ``dist``
that builds ``tau`` and ``beta ~ Normal(0, tau)``: Bambi still builds the design matrix, the
linear predictor, the intercept, ``sigma`` and the likelihood. Bambi names the vector's dim
``beta_dim`` with coords 0..7; :meth:`Shrinkage.from_bambi` renames it.
"""

import numpy as np
import pandas as pd
from scipy import stats

from glmcheck.cases.base import Case, Params, per_draw

_PREDICTORS = tuple(f"x{j}" for j in range(1, 9))
_MATRIX_TERM = f"cbind({', '.join(_PREDICTORS)})"


def _cbind(*columns):
    """The formula's ``cbind``: stack the predictor columns into one matrix term."""
    return np.column_stack(columns)


class Shrinkage(Case):
    name = "shrinkage"
    title = "Gaussian regression on 8 predictors with a hierarchical shrinkage prior"
    family = "gaussian"
    formula = f"y ~ {_MATRIX_TERM}"
    predictors = _PREDICTORS
    params = ("Intercept", "beta", "tau", "sigma")
    reference_seed = 7401
    true_params = {
        "Intercept": 0.5,
        "beta": np.array([1.0, -0.7, 0.4, 0.0, 0.0, 0.0, 0.0, 0.0]),
        "tau": 0.6,
        "sigma": 1.0,
    }
    plot_x = "x1"
    curve_note = "other predictors at their means"
    #: dim of ``beta`` in the canonical posterior
    dim = "predictor"
    size = 1000
    design_seed = 7403
    intercept_sd = 2.0
    tau_scale = 1.0
    sigma_scale = 1.0
    expected_broadcasts = True

    def design(self) -> pd.DataFrame:
        x = np.random.default_rng(self.design_seed).normal(size=(self.size, len(self.predictors)))
        x = (x - x.mean(axis=0)) / x.std(axis=0)
        return pd.DataFrame(x, columns=list(self.predictors))

    def draw_params(self, rng: np.random.Generator) -> Params:
        intercept = rng.normal(0.0, self.intercept_sd)
        tau = stats.halfnorm(scale=self.tau_scale).rvs(random_state=rng)
        beta = rng.normal(0.0, tau, size=len(self.predictors))
        sigma = stats.halfnorm(scale=self.sigma_scale).rvs(random_state=rng)
        return {"Intercept": intercept, "beta": beta, "tau": tau, "sigma": sigma}

    def expected(self, params: Params, design: pd.DataFrame) -> np.ndarray:
        x = design[list(self.predictors)].to_numpy(float)
        # beta as a column (a stack of columns for draws): one matrix-vector product per draw,
        # the same numbers as ``x @ beta`` draw by draw
        beta = np.asarray(params["beta"], dtype=float)[..., None]
        return per_draw(params["Intercept"]) + (x @ beta)[..., 0]

    def simulate(self, params: Params, design: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
        mu = self.expected(params, design)
        return mu + rng.normal(scale=params["sigma"], size=len(mu))

    def pymc_model(self, data: pd.DataFrame):
        import pymc as pm

        with pm.Model(coords={self.dim: list(self.predictors)}) as model:
            x = pm.Data("X", data[list(self.predictors)].to_numpy(float))
            sigma = pm.HalfNormal("sigma", sigma=self.sigma_scale)
            intercept = pm.Normal("Intercept", 0.0, sigma=self.intercept_sd)
            tau = pm.HalfNormal("tau", sigma=self.tau_scale)
            beta = pm.Normal("beta", 0.0, sigma=tau, dims=self.dim)
            pm.Normal("y", mu=intercept + pm.math.dot(x, beta), sigma=sigma,
                      observed=data["y"].to_numpy(float))
        return model

    def _shrinkage_prior(self, name, dims=None, **_):
        """Bambi ``Prior(dist=...)``: ``tau ~ HalfNormal``, then the vector ``beta ~ Normal(0, tau)``."""
        import pymc as pm

        tau = pm.HalfNormal("tau", sigma=self.tau_scale)
        return pm.Normal(name, mu=0.0, sigma=tau, dims=dims)

    def bambi_priors(self) -> dict:
        import bambi as bmb

        return {
            "Intercept": bmb.Prior("Normal", mu=0, sigma=self.intercept_sd),
            _MATRIX_TERM: bmb.Prior("Normal", dist=self._shrinkage_prior),
            "sigma": bmb.Prior("HalfNormal", sigma=self.sigma_scale),
        }

    def bambi_model(self, data: pd.DataFrame):
        import bambi as bmb

        model = bmb.Model(
            self.formula,
            data,
            family=self.family,
            priors=self.bambi_priors(),
            center_predictors=False,
            extra_namespace={"cbind": _cbind},
        )
        model.set_alias({_MATRIX_TERM: "beta"})
        return model

    def from_bambi(self, posterior):
        out = posterior[list(self.params)]
        # Bambi's dim is ``beta_dim`` (coords 0..7); a sampler that ignores model dims may call it
        # something else: rename whatever the one non-sample dim of ``beta`` is.
        (dim,) = [d for d in out["beta"].dims if d not in ("chain", "draw")]
        return out.rename({dim: self.dim}).assign_coords({self.dim: list(self.predictors)})


CASE = Shrinkage()
