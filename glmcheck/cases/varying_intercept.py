"""``varying_intercept``: one intercept per group, partially pooled, written non-centered.

    Intercept ~ Normal(0, 2.5);  slope ~ Normal(0, 2.5);  group_sd ~ Gamma(2, rate=5)
    group_offset[g] ~ Normal(0, 1), g = g01..g20;  sigma ~ Gamma(4, rate=2)
    y ~ Normal(Intercept + slope * x + group_sd * group_offset[group], sigma),  n = 200

This is Bambi's ``"y ~ x + (1|group)"`` with ``"1|group": Normal(0, Gamma(2, 5))`` and its
default ``noncentered=True``, which builds the free variables ``1|group_sigma`` and
``1|group_offset`` (dim ``group__factor_dim``) and the deterministic ``1|group`` = offset × sigma.
The hand-written model has the same free variables under canonical names (``group_sd``,
``group_offset`` over the dim ``group``), with the group levels in the same (sorted) order, so
the two log densities agree point by point.

The design is fixed: 20 groups of 10 rows and ``x`` a standard-normal draw
(``numpy.random.default_rng(8503)``) standardized to mean 0 and sd 1.

The priors keep the model in the regime where the non-centered form samples well, over the whole
prior (which SBC needs), not only at the true values (group sd 0.6, noise sd 1.5):

* where the groups' data dominate (``group_sd`` above about ``sigma``; a group mean's standard
  error is ``sigma / sqrt(10)``), ``Intercept`` and ``group_sd`` are pinned only through all 20
  offsets at once, a ridge a diagonal mass matrix cannot follow: with ``group_sd ~
  HalfNormal(1)`` and ``sigma ~ HalfNormal(2)`` (29 % of that prior has ``group_sd > sigma``)
  nutpie reached R-hat > 1.01 on 46 of 55 such SBC fits (2 × 1000 draws), and the centered
  form failed there as well (53 of 64);
* near ``group_sd = 0`` a HalfNormal prior leaves a long tail in log ``group_sd`` that gave
  1-3 divergent transitions in 29 of 200 fits; the boundary-avoiding Gamma(2, ·) prior
  (Chung et al. 2013) has density 0 at 0 and removed nearly all of them.

With these priors 5-15 of 200 prior-SBC fits (2 × 1000 draws; nutpie, PyMC, numpyro and blackjax,
both frontends) had R-hat > 1.01 or a divergence, against the 10 % SBC allows.
"""

import numpy as np
import pandas as pd
from scipy import stats

from glmcheck.cases.base import Case, Params, per_draw
from glmcheck.errors import UsageError

_GROUP_SIZES = (10,) * 20
_LEVELS = tuple(f"g{k:02d}" for k in range(1, len(_GROUP_SIZES) + 1))


class VaryingIntercept(Case):
    name = "varying_intercept"
    title = "varying-intercept (random-intercept) regression, non-centered (y ~ x + (1|group))"
    family = "gaussian"
    formula = "y ~ x + (1|group)"
    predictors = ("x", "group")
    params = ("Intercept", "slope", "group_sd", "group_offset", "sigma")
    bambi_names = {"slope": "x", "group_sd": "1|group_sigma", "group_offset": "1|group_offset"}
    reference_seed = 8505
    true_params = {
        "Intercept": 1.0,
        "slope": 0.8,
        "group_sd": 0.6,
        "group_offset": np.array([
            0.08, -0.46, 0.05, 0.69, -1.76, 1.68, -0.46, -0.6, -1.05, 0.93, 0.67, 1.24, 0.89,
            0.26, 0.33, 0.94, -0.88, -0.05, 0.38, -0.45,
        ]),
        "sigma": 1.5,
    }
    plot_x = "x"
    curve_note = "population line, group effect 0"
    #: Bambi's default, stated: the hand-written model is non-centered too.
    bambi_options = {"noncentered": True}
    #: ``group_sd`` mixes slowly (bulk ESS about 1000 of 4 × 1000 draws) and NUTS at
    #: target_accept 0.8 diverges about once per million draws: see the module docstring.
    fit_settings = {"draws": 2000, "target_accept": 0.95}
    group = "group"
    #: dim of ``group_offset`` in the canonical posterior
    dim = "group"
    design_seed = 8503
    coef_sd = 2.5
    #: group_sd ~ Gamma(group_sd_shape, rate=group_sd_rate)
    group_sd_shape = 2.0
    group_sd_rate = 5.0
    #: sigma ~ Gamma(sigma_shape, rate=sigma_rate)
    sigma_shape = 4.0
    sigma_rate = 2.0
    expected_broadcasts = True

    def design(self) -> pd.DataFrame:
        size = sum(_GROUP_SIZES)
        x = np.random.default_rng(self.design_seed).normal(size=size)
        return pd.DataFrame({
            "x": (x - x.mean()) / x.std(),
            self.group: np.repeat(_LEVELS, _GROUP_SIZES),
        })

    @staticmethod
    def levels(column: pd.Series) -> tuple[np.ndarray, pd.Index]:
        """Integer code per row and the levels, in the order formulae/Bambi use (sorted)."""
        categorical = pd.Categorical(column)
        return categorical.codes.astype(np.int64), categorical.categories

    def draw_params(self, rng: np.random.Generator) -> Params:
        return {
            "Intercept": rng.normal(0.0, self.coef_sd),
            "slope": rng.normal(0.0, self.coef_sd),
            "group_sd": stats.gamma(self.group_sd_shape, scale=1 / self.group_sd_rate).rvs(
                random_state=rng
            ),
            "group_offset": rng.normal(size=len(_LEVELS)),
            "sigma": stats.gamma(self.sigma_shape, scale=1 / self.sigma_rate).rvs(random_state=rng),
        }

    def expected(self, params: Params, design: pd.DataFrame) -> np.ndarray:
        codes, levels = self.levels(design[self.group])
        offset = np.asarray(params["group_offset"], dtype=float)
        if offset.shape[-1:] != (len(levels),):
            raise UsageError(
                f"case {self.name!r}: group_offset has shape {offset.shape} but the design has "
                f"{len(levels)} groups"
            )
        group_effect = per_draw(params["group_sd"]) * offset
        return (
            per_draw(params["Intercept"]) + per_draw(params["slope"]) * design["x"].to_numpy(float)
            + group_effect[..., codes]
        )

    def curve(self, params: Params, grid: np.ndarray, data: pd.DataFrame) -> np.ndarray:
        """The population line (group effect zero) along ``grid``."""
        return params["Intercept"] + params["slope"] * np.asarray(grid, dtype=float)

    def simulate(self, params: Params, design: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
        mu = self.expected(params, design)
        return mu + rng.normal(scale=params["sigma"], size=len(mu))

    def pymc_model(self, data: pd.DataFrame):
        import pymc as pm

        codes, levels = self.levels(data[self.group])
        with pm.Model(coords={self.dim: list(levels)}) as model:
            x = pm.Data("x", data["x"].to_numpy(float))
            group_idx = pm.Data("group_idx", codes)
            sigma = pm.Gamma("sigma", alpha=self.sigma_shape, beta=self.sigma_rate)
            intercept = pm.Normal("Intercept", 0.0, sigma=self.coef_sd)
            slope = pm.Normal("slope", 0.0, sigma=self.coef_sd)
            group_sd = pm.Gamma("group_sd", alpha=self.group_sd_shape, beta=self.group_sd_rate)
            group_offset = pm.Normal("group_offset", 0.0, sigma=1.0, dims=self.dim)
            group_effect = group_sd * group_offset
            mu = intercept + slope * x + group_effect[group_idx]
            pm.Normal("y", mu=mu, sigma=sigma, observed=data["y"].to_numpy(float))
        return model

    def bambi_priors(self) -> dict:
        import bambi as bmb

        return {
            "Intercept": bmb.Prior("Normal", mu=0, sigma=self.coef_sd),
            "x": bmb.Prior("Normal", mu=0, sigma=self.coef_sd),
            "1|group": bmb.Prior(
                "Normal",
                mu=0,
                sigma=bmb.Prior("Gamma", alpha=self.group_sd_shape, beta=self.group_sd_rate),
            ),
            "sigma": bmb.Prior("Gamma", alpha=self.sigma_shape, beta=self.sigma_rate),
        }

    def from_bambi(self, posterior):
        to_canonical = {bambi: canon for canon, bambi in self.bambi_names.items()}
        out = posterior[[self.bambi_name(p) for p in self.params]].rename(to_canonical)
        # Bambi's dim is ``group__factor_dim`` (coords: the levels); a sampler that ignores model
        # dims may call it something else: rename whatever the one non-sample dim is.
        (dim,) = [d for d in out["group_offset"].dims if d not in ("chain", "draw")]
        return out.rename({dim: self.dim})

    # -- validation ------------------------------------------------------------------------
    def _is_grouping(self, column: str) -> bool:
        return column == self.group

    def validate_data(self, data: pd.DataFrame, source: str = "data") -> pd.DataFrame:
        data = super().validate_data(data, source)
        column = data[self.group]
        if isinstance(column.dtype, pd.CategoricalDtype):
            unused = [c for c in column.cat.categories if c not in set(column)]
            if unused:
                raise UsageError(
                    f"{source}: the group column {self.group!r} has levels with no rows "
                    f"{unused[:5]}; remove them (Series.cat.remove_unused_categories())"
                )
        n_levels = column.nunique()
        if n_levels < 2:
            raise UsageError(
                f"{source}: the group column {self.group!r} needs at least 2 groups but has {n_levels}"
            )
        return data


CASE = VaryingIntercept()
