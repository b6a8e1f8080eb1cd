"""The case protocol: what every GLM of the zoo (and a user's own case) provides.

A case is one generative model written three times:

* an **independent numpy/scipy simulator** (:meth:`Case.draw_params`, :meth:`Case.simulate`),
  which SBC and the prior-predictive tests treat as the truth;
* a **hand-written PyMC model** (:meth:`Case.pymc_model`);
* a **Bambi formula model** (:attr:`Case.formula`, :meth:`Case.bambi_priors`) whose priors make it
  the *same* model.

Parameters have one canonical name each (the PyMC model's); :attr:`Case.bambi_names` maps a
canonical name to Bambi's where the two differ (the seed's ``slope`` is Bambi's ``x``).

The design (predictor columns) is fixed per case: refitting changes the response only, which is
what lets a model be compiled once and refit on many simulated data sets.

To add a case, write one module with a :class:`Case` subclass and an instance named ``CASE``;
put it in :mod:`glmcheck.cases` to make it built in, or anywhere importable and name it as
``package.module:CASE``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from glmcheck.errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    import bambi as bmb
    import pymc as pm
    import xarray as xr

__all__ = ["Case", "Params"]

Params = dict[str, Any]
"""Parameter values by canonical name: floats, or numpy arrays for vector parameters."""

_FAMILIES = ("gaussian", "bernoulli", "poisson", "negativebinomial")


class Case:
    """One GLM. Subclass it, set the class attributes, implement the four abstract methods."""

    #: Short name used on the command line.
    name: ClassVar[str]
    #: One line shown in listings and reports.
    title: ClassVar[str]
    #: Bambi family name; also selects how response values are validated.
    family: ClassVar[str] = "gaussian"
    #: Bambi formula of the same model.
    formula: ClassVar[str]
    #: Response column.
    response: ClassVar[str] = "y"
    #: Predictor columns (the fixed design).
    predictors: ClassVar[tuple[str, ...]] = ("x",)
    #: Canonical parameter names, in display order.
    params: ClassVar[tuple[str, ...]]
    #: Canonical name -> Bambi name, where they differ.
    bambi_names: ClassVar[Mapping[str, str]] = {}
    #: Seed of the reference data set.
    reference_seed: ClassVar[int]
    #: Parameter values the reference data set is simulated at.
    true_params: ClassVar[Mapping[str, Any]]
    #: Predictor drawn on the x-axis of figures.
    plot_x: ClassVar[str] = "x"
    #: Extra keyword arguments of ``bambi.Model`` (e.g. ``{"noncentered": True}``).
    bambi_options: ClassVar[Mapping[str, Any]] = {}
    #: What :meth:`curve` holds fixed, for figure legends ("" when nothing is).
    curve_note: ClassVar[str] = ""
    #: Fit settings (``draws``, ``tune``, ``chains``, ``target_accept``) this case needs to pass
    #: the convergence gates reliably; ``glmcheck run``/``check`` use them wherever the command
    #: line does not set them (:meth:`glmcheck.runner.FitRequest.settings_for`).
    fit_settings: ClassVar[Mapping[str, Any]] = {}

    # -- the independent simulator ---------------------------------------------------------
    def design(self) -> pd.DataFrame:
        """The fixed predictor columns of the reference data set."""
        raise NotImplementedError

    def draw_params(self, rng: np.random.Generator) -> Params:
        """One draw of every parameter from the prior, with numpy/scipy only."""
        raise NotImplementedError

    def expected(self, params: Params, design: pd.DataFrame) -> np.ndarray:
        """E[y | params, design] on the response scale."""
        raise NotImplementedError

    def simulate(
        self, params: Params, design: pd.DataFrame, rng: np.random.Generator
    ) -> np.ndarray:
        """Draw a response vector given parameters, with numpy/scipy only."""
        raise NotImplementedError

    # -- the two model frontends -----------------------------------------------------------
    def pymc_model(self, data: pd.DataFrame) -> pm.Model:
        """The hand-written PyMC model; its observed variable is named :attr:`response`."""
        raise NotImplementedError

    def bambi_priors(self) -> dict[str, Any]:
        """Explicit Bambi priors that make the formula model equal the hand-written one."""
        raise NotImplementedError

    def bambi_model(self, data: pd.DataFrame) -> bmb.Model:
        """The Bambi model. ``center_predictors=False`` keeps ``Intercept`` meaning the same."""
        import bambi as bmb

        return bmb.Model(
            self.formula,
            data,
            family=self.family,
            priors=self.bambi_priors(),
            center_predictors=False,
            **self.bambi_options,
        )

    def from_bambi(self, posterior: xr.Dataset) -> xr.Dataset:
        """Bambi's posterior in canonical names (override when more than a rename is needed)."""
        to_canonical = {bambi: canon for canon, bambi in self.bambi_names.items()}
        renamed = posterior.rename({k: v for k, v in to_canonical.items() if k in posterior})
        return renamed[list(self.params)]

    def exact_posterior(self, data: pd.DataFrame):
        """The exact reference posterior (:class:`glmcheck.stats.ExactPosterior`) of ``data``,
        or None where mathematics gives none (the default)."""
        return None

    # -- derived, shared by all cases ------------------------------------------------------
    def curve(self, params: Params, grid: np.ndarray, data: pd.DataFrame) -> np.ndarray:
        """E[y] along ``grid`` values of :attr:`plot_x`, the other predictors at their means.

        This is the regression curve of the figures; override it where a mean makes no sense
        (a grouping column).
        """
        design = pd.DataFrame(
            {c: np.full(len(grid), data[c].mean()) for c in self.predictors if c != self.plot_x}
        )
        design[self.plot_x] = grid
        return np.asarray(self.expected(params, design[list(self.predictors)]))

    def loglik(self, params: Params, data: pd.DataFrame) -> float:
        """log p(y | params) in plain numpy (an SBC test quantity, evaluated per draw).

        Built from :meth:`expected` and the family: Gaussian cases need ``sigma``, negative
        binomial cases ``alpha`` (NB2: variance mu + mu²/alpha); override for anything else.
        """
        from scipy.special import gammaln

        y = data[self.response].to_numpy(dtype=float)
        mu = np.asarray(self.expected(params, data), dtype=float)
        if self.family == "gaussian":
            sigma = params["sigma"]
            return float(-0.5 * np.sum(((y - mu) / sigma) ** 2) - len(y) * np.log(sigma * np.sqrt(2 * np.pi)))
        if self.family == "bernoulli":
            return float(np.sum(np.where(y == 1, np.log(mu), np.log1p(-mu))))
        if self.family == "poisson":
            return float(np.sum(y * np.log(mu) - mu - gammaln(y + 1)))
        if self.family == "negativebinomial":
            a = params["alpha"]
            return float(np.sum(
                gammaln(y + a) - gammaln(a) - gammaln(y + 1)
                + a * np.log(a / (a + mu)) + y * np.log(mu / (a + mu))
            ))
        raise NotImplementedError(f"case {self.name!r}: loglik for family {self.family!r}")

    def prior_variance(self, n: int = 4000, seed: int = 0) -> dict[str, np.ndarray]:
        """Prior variance of every parameter (elementwise), from the case's own simulator."""
        rng = np.random.default_rng(seed)
        draws = [self.draw_params(rng) for _ in range(n)]
        return {
            p: np.var(np.stack([np.asarray(d[p], dtype=float) for d in draws]), axis=0)
            for p in self.params
        }

    def bambi_name(self, param: str) -> str:
        return self.bambi_names.get(param, param)

    def simulate_data(
        self, params: Params, rng: np.random.Generator, design: pd.DataFrame | None = None
    ) -> pd.DataFrame:
        """A full data set (design plus simulated response) at the given parameters."""
        design = self.design() if design is None else design
        data = design.copy()
        data[self.response] = self.simulate(params, design, rng)
        return data

    def reference_data(self) -> pd.DataFrame:
        """The seeded reference data set, simulated at :attr:`true_params`."""
        return self.simulate_data(dict(self.true_params), np.random.default_rng(self.reference_seed))

    def validate_data(self, data: pd.DataFrame, source: str = "data") -> pd.DataFrame:
        """Return ``data`` if it fits this case; raise :class:`UsageError` saying why not."""
        if not isinstance(data, pd.DataFrame):
            raise UsageError(f"{source}: expected a pandas DataFrame but got {type(data).__name__}")
        needed = [*self.predictors, self.response]
        missing = [c for c in needed if c not in data.columns]
        if missing:
            raise UsageError(
                f"{source}: case {self.name!r} needs columns {needed}, missing {missing}"
            )
        if len(data) == 0:
            raise UsageError(f"{source}: the data set has no rows")
        for column in needed:
            values = data[column]
            if not pd.api.types.is_numeric_dtype(values) and not self._is_grouping(column):
                raise UsageError(
                    f"{source}: column {column!r} must be numeric but has dtype {values.dtype}"
                )
            if values.isna().any():
                rows = np.flatnonzero(values.isna().to_numpy())[:5].tolist()
                raise UsageError(f"{source}: column {column!r} has missing/NaN values (rows {rows})")
            if pd.api.types.is_numeric_dtype(values) and not np.isfinite(values.to_numpy(float)).all():
                rows = np.flatnonzero(~np.isfinite(values.to_numpy(float)))[:5].tolist()
                raise UsageError(f"{source}: column {column!r} has infinite values (rows {rows})")
        self._validate_response(data[self.response].to_numpy(), source)
        return data

    def _is_grouping(self, column: str) -> bool:
        """Whether a predictor column is categorical (override in grouped cases)."""
        return False

    def _validate_response(self, y: np.ndarray, source: str) -> None:
        family = self.family
        if family not in _FAMILIES:
            return
        if family == "bernoulli" and not np.isin(y, (0, 1)).all():
            raise UsageError(f"{source}: a Bernoulli response must be 0 or 1 only")
        if family in ("poisson", "negativebinomial"):
            if (y < 0).any() or not np.equal(np.mod(y, 1), 0).all():
                raise UsageError(f"{source}: a count response must be non-negative integers")

    def __repr__(self) -> str:
        return f"<Case {self.name}: {self.title}>"
