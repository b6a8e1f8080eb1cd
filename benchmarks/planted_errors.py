"""A catalogue of planted errors: known-wrong models, simulators and samplers, at several sizes.

Each :class:`Plant` is one error of one kind and size on one built-in case. What it plants:

=============  ==========================================================  ===================
kind           the error                                                   sizes (gross → subtle)
=============  ==========================================================  ===================
likelihood     the hand-written model counts every observation ``w`` times  w = 2, 1.3, 1.1
               (its log-likelihood times ``w``: duplicated rows, wrong
               weights)
prior          the hand-written model's slope prior has ``s`` × the sd the  s = 0.1, 0.3, 0.7
               simulator draws from
link           the hand-written model's inverse link is ``(1 - λ)`` × the   λ = 1, 0.5, 0.2
               right one plus ``λ`` × a wrong one (logistic: probit's Φ;
               Poisson: softplus)
dispersion     the hand-written model's scale is raised to the power ``p``  p = 2, 1.3, 1.1
               (``p = 2``: the variance used as the sd; linear: ``sigma``,
               varying_intercept: ``group_sd``)
simulator      glmcheck's numpy simulator draws y with the slope × (1 + δ)  δ = 0.25, 0.05, 0.01
               while it reports the true slope
shrunk         the sampler's draws pulled toward their mean: × ``c``         c = 0.5, 0.8, 0.9
inflated       the sampler's draws pushed away from their mean: × ``c``      c = 2, 1.25, 1.1
shifted        the sampler's draws moved by ``δ`` posterior sds             δ = 1, 0.3, 0.1
stale          a refit keeps a fraction ``f`` of the previous data set's    f = 1, 0.5, 0.1
               responses (the data update did not reach the compiled
               model)
=============  ==========================================================  ===================

Model errors live in the hand-written PyMC model only (the Bambi model stays right, as when a
user's model is wrong, or one library is); errors of the draws and stale data live in the
sampler, so they hit both frontends (as when a sampler or the library under it is wrong).
Draws of a positive parameter (``sigma``, ``group_sd``) are moved on the log scale.

Use one as a user would use their own case or sampler::

    glmcheck check --case planted_errors:linear__likelihood__2 --frontend pymc
    glmcheck sbc   --case linear --sampler planted_errors:Nutpie__shrunk__0_8

(with ``benchmarks/`` on ``PYTHONPATH``); ``python benchmarks/power.py`` measures how often
each default verdict catches each of them.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace

import numpy as np

from glmcheck.cases import get_case
from glmcheck.fitters.nutpie import NutpieFitter

#: sizes of each kind, gross to subtle
SIZES = {
    "likelihood": (2.0, 1.3, 1.1),
    "prior": (0.1, 0.3, 0.7),
    "link": (1.0, 0.5, 0.2),
    "dispersion": (2.0, 1.3, 1.1),
    "simulator": (0.25, 0.05, 0.01),
    "shrunk": (0.5, 0.8, 0.9),
    "inflated": (2.0, 1.25, 1.1),
    "shifted": (1.0, 0.3, 0.1),
    "stale": (1.0, 0.5, 0.1),
}
#: what each size means, for tables
MEANING = {
    "likelihood": "log-likelihood × {}", "prior": "slope prior sd × {}",
    "link": "wrong inverse link weight {}", "dispersion": "scale ** {}",
    "simulator": "simulated slope × (1 + {})", "shrunk": "draws × {} around their mean",
    "inflated": "draws × {} around their mean", "shifted": "draws + {} posterior sd",
    "stale": "{} of the responses stale",
}
#: errors of the model (planted in the hand-written model)
MODEL_KINDS = ("likelihood", "prior", "link", "dispersion")
#: errors of the sampler's output, the same for any model
DRAW_KINDS = ("shrunk", "inflated", "shifted")
CASES = ("linear", "logistic", "poisson", "varying_intercept")
#: which kinds apply to which case
APPLIES = {
    "link": ("logistic", "poisson"),
    "dispersion": ("linear", "varying_intercept"),
}
#: parameters with positive support: their draws are planted on the log scale
POSITIVE = ("sigma", "group_sd")
#: the slope each case's prior and simulator errors act on
SLOPE = {"linear": "slope", "logistic": "slope_x1", "poisson": "slope",
         "varying_intercept": "slope"}


@dataclass(frozen=True)
class Plant:
    """One planted error: ``kind`` at ``size`` on ``case`` (kind ``none``: the correct model)."""

    case: str
    kind: str = "none"
    size: float = 0.0

    @property
    def name(self) -> str:
        if self.kind == "none":
            return f"{self.case}__none"
        return f"{self.case}__{self.kind}__{_token(self.size)}"

    @property
    def label(self) -> str:
        return "none" if self.kind == "none" else MEANING[self.kind].format(f"{self.size:g}")

    @property
    def needs_fits(self) -> bool:
        """Whether the plant changes the fits (else it transforms a correct fit's draws)."""
        return self.kind not in DRAW_KINDS

    def planted_case(self):
        """The case with this error in its hand-written model or its simulator."""
        base = get_case(self.case)
        if self.kind in MODEL_KINDS or self.kind == "simulator":
            return _PLANTED[self.case](base, self.kind, self.size)
        return base


def catalogue(cases=CASES) -> list[Plant]:
    """Every plant on ``cases``: the correct model first, then each kind gross to subtle."""
    plants = []
    for case in cases:
        plants.append(Plant(case))
        for kind, sizes in SIZES.items():
            if case in APPLIES.get(kind, (case,)):
                plants.extend(Plant(case, kind, size) for size in sizes)
    return plants


def _token(size: float) -> str:
    return f"{size:g}".replace(".", "_")


# -- errors of the sampler's draws ---------------------------------------------------------------
def plant_draws(posterior, kind: str, size: float):
    """``posterior`` with its draws shrunk, inflated or shifted (a new Posterior)."""
    if kind not in DRAW_KINDS:
        raise ValueError(f"not an error of the draws: {kind!r}")
    planted = posterior.draws.copy()
    for name, var in posterior.draws.data_vars.items():
        values = np.asarray(var.values, dtype=float)
        positive = name in POSITIVE
        x = np.log(values) if positive else values
        axes = (var.dims.index("chain"), var.dims.index("draw"))
        mean = x.mean(axis=axes, keepdims=True)
        if kind == "shifted":
            x = x + size * x.std(axis=axes, ddof=1, keepdims=True)
        else:
            x = mean + size * (x - mean)
        planted[name] = var.copy(data=np.exp(x) if positive else x)
    return replace(posterior, draws=planted)


class DrawsError:
    """Mixin for any fitter: every fit's draws shrunk, inflated or shifted (``kind``, ``size``)."""

    kind = "shrunk"
    size = 0.8

    def fit(self, y=None, *, seed, settings=None):
        return plant_draws(super().fit(y, seed=seed, settings=settings), self.kind, self.size)


class StaleError:
    """Mixin for any fitter: a refit keeps a fraction ``size`` of the previous data set's
    responses (the first rows), as a data update that did not fully reach the compiled model."""

    size = 1.0

    def fit(self, y=None, *, seed, settings=None):
        if y is None:
            return super().fit(y, seed=seed, settings=settings)
        y = np.asarray(y)
        used = y.copy()
        previous = getattr(self, "_previous", None)
        if previous is not None:
            stale = int(round(self.size * len(y)))
            used[:stale] = previous[:stale]
        self._previous = y
        return super().fit(used, seed=seed, settings=settings)


def planted_fitter(kind: str, size: float) -> type:
    """The fitter class of a sampler error (``shrunk``, ``inflated``, ``shifted``, ``stale``)."""
    if kind == "stale":
        return type(f"Nutpie__stale__{_token(size)}", (StaleError, NutpieFitter), {"size": size})
    return type(f"Nutpie__{kind}__{_token(size)}", (DrawsError, NutpieFitter),
                {"kind": kind, "size": size})


# -- errors of the model and of the simulator ---------------------------------------------------
def _observe(pm, dist, weight: float, observed, **params):
    """``y ~ dist(**params)``, its log-likelihood times ``weight`` when that is not 1."""
    if weight == 1:
        return dist("y", observed=observed, **params)

    def logp(value, *args):
        return weight * pm.logp(dist.dist(**dict(zip(params, args))), value)

    return pm.CustomDist("y", *params.values(), logp=logp, observed=observed,
                         dtype=str(np.asarray(observed).dtype))


class _Planted:
    """Mixin: knobs of the hand-written model and of the simulator, from (kind, size)."""

    def __init__(self, base, kind: str, size: float):
        self.__dict__.update(copy.copy(base.__dict__))
        self.plant_kind, self.plant_size = kind, size

    def knob(self, kind: str, default: float) -> float:
        return self.plant_size if self.plant_kind == kind else default

    def simulate(self, params, design, rng):
        if self.plant_kind == "simulator":
            slope = SLOPE[self.name]
            params = {**params, slope: params[slope] * (1 + self.plant_size)}
        return super().simulate(params, design, rng)


def _linear(base):
    class PlantedLinear(_Planted, type(base)):
        def pymc_model(self, data):
            import pymc as pm

            with pm.Model() as model:
                x = pm.Data("x", data["x"].to_numpy())
                sigma = pm.HalfCauchy("sigma", beta=self.sigma_scale)
                intercept = pm.Normal("Intercept", 0, sigma=self.coef_sd)
                slope = pm.Normal("slope", 0, sigma=self.coef_sd * self.knob("prior", 1))
                _observe(pm, pm.Normal, self.knob("likelihood", 1), data["y"].to_numpy(),
                         mu=intercept + slope * x, sigma=sigma ** self.knob("dispersion", 1))
            return model
    return PlantedLinear


def _logistic(base):
    class PlantedLogistic(_Planted, type(base)):
        def pymc_model(self, data):
            import pymc as pm

            with pm.Model() as model:
                x1 = pm.Data("x1", data["x1"].to_numpy(float))
                x2 = pm.Data("x2", data["x2"].to_numpy(float))
                intercept = pm.Normal("Intercept", 0.0, sigma=self.intercept_sd)
                slope_x1 = pm.Normal("slope_x1", 0.0, sigma=self.coef_sd * self.knob("prior", 1))
                slope_x2 = pm.Normal("slope_x2", 0.0, sigma=self.coef_sd)
                eta = intercept + slope_x1 * x1 + slope_x2 * x2
                mix = self.knob("link", 0)
                p = (1 - mix) * pm.math.invlogit(eta) + mix * pm.math.invprobit(eta)
                _observe(pm, pm.Bernoulli, self.knob("likelihood", 1),
                         data["y"].to_numpy(np.int64), p=p)
            return model
    return PlantedLogistic


def _poisson(base):
    class PlantedPoisson(_Planted, type(base)):
        def pymc_model(self, data):
            import pymc as pm

            with pm.Model() as model:
                x = pm.Data("x", data["x"].to_numpy(float))
                intercept = pm.Normal("Intercept", self.intercept_mu, sigma=self.intercept_sd)
                slope = pm.Normal("slope", 0.0, sigma=self.coef_sd * self.knob("prior", 1))
                eta = intercept + slope * x
                mix = self.knob("link", 0)
                mu = (1 - mix) * pm.math.exp(eta) + mix * pm.math.log1pexp(eta)  # softplus
                _observe(pm, pm.Poisson, self.knob("likelihood", 1),
                         data["y"].to_numpy(np.int64), mu=mu)
            return model
    return PlantedPoisson


def _varying_intercept(base):
    class PlantedVaryingIntercept(_Planted, type(base)):
        def pymc_model(self, data):
            import pymc as pm

            codes, levels = self.levels(data[self.group])
            with pm.Model(coords={self.dim: list(levels)}) as model:
                x = pm.Data("x", data["x"].to_numpy(float))
                group_idx = pm.Data("group_idx", codes)
                sigma = pm.Gamma("sigma", alpha=self.sigma_shape, beta=self.sigma_rate)
                intercept = pm.Normal("Intercept", 0.0, sigma=self.coef_sd)
                slope = pm.Normal("slope", 0.0, sigma=self.coef_sd * self.knob("prior", 1))
                group_sd = pm.Gamma("group_sd", alpha=self.group_sd_shape,
                                    beta=self.group_sd_rate)
                group_offset = pm.Normal("group_offset", 0.0, sigma=1.0, dims=self.dim)
                effect = group_sd ** self.knob("dispersion", 1) * group_offset
                _observe(pm, pm.Normal, self.knob("likelihood", 1), data["y"].to_numpy(float),
                         mu=intercept + slope * x + effect[group_idx], sigma=sigma)
            return model
    return PlantedVaryingIntercept


_FACTORIES = {"linear": _linear, "logistic": _logistic, "poisson": _poisson,
              "varying_intercept": _varying_intercept}
_PLANTED = {}


def _planted_class(case: str):
    def make(base, kind, size):
        if case not in _PLANTED_CLASSES:
            _PLANTED_CLASSES[case] = _FACTORIES[case](base)
        return _PLANTED_CLASSES[case](base, kind, size)
    return make


_PLANTED_CLASSES: dict = {}
_PLANTED.update({case: _planted_class(case) for case in _FACTORIES})


def __getattr__(name: str):
    """``planted_errors:linear__likelihood__2`` (a case) and ``planted_errors:Nutpie__shrunk__0_8`` (a sampler),
    for the command line."""
    parts = name.split("__")
    if len(parts) == 3 and parts[0] == "Nutpie":
        return planted_fitter(parts[1], float(parts[2].replace("_", ".")))
    if len(parts) == 3 and parts[0] in _FACTORIES:
        return Plant(parts[0], parts[1], float(parts[2].replace("_", "."))).planted_case()
    raise AttributeError(name)
