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

SBC evaluates the log-likelihood at hundreds of posterior draws per simulation
(:meth:`Case.loglik_draws`). A case whose :meth:`Case.expected` also accepts parameters with a
leading draws axis (write each scalar parameter as :func:`per_draw` of it, index a vector
parameter as ``values[..., index]``) says so with :attr:`Case.expected_broadcasts` and gets all
draws in one numpy evaluation; any other case gets a loop over :meth:`Case.loglik`, as correct
and slower.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from glmcheck.errors import PluginError, UsageError

if TYPE_CHECKING:  # pragma: no cover
    import bambi as bmb
    import pymc as pm
    import xarray as xr

__all__ = ["Case", "Params", "per_draw"]

Params = dict[str, Any]
"""Parameter values by canonical name: floats, or numpy arrays for vector parameters."""

_FAMILIES = ("gaussian", "bernoulli", "poisson", "negativebinomial")


def per_draw(value: Any) -> np.ndarray:
    """A parameter's value with a trailing axis that broadcasts against the rows of a design.

    A scalar gives shape (1,), S draws of it (shape (S,)) give (S, 1): ``per_draw(p["a"]) +
    per_draw(p["b"]) * x`` is then ``a + b * x`` of shape (n,) for one draw and (S, n) for S,
    with the same numbers row by row.
    """
    return np.asarray(value, dtype=float)[..., None]


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
    #: Whether :meth:`expected` also accepts parameters with a leading draws axis (each
    #: parameter of shape (S, *its own shape)) and then returns shape (S, n), row s equal to
    #: its value at draw s. :meth:`loglik_draws` then evaluates all draws at once; otherwise it
    #: loops over them. A subclass that redefines :meth:`expected` must restate this in its own
    #: body, or it is reset to False there (see :meth:`__init_subclass__`).
    expected_broadcasts: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Keep a subclass from inheriting a vectorized path its own code no longer matches.

        A subclass that defines :meth:`expected` without stating :attr:`expected_broadcasts`
        in the same class body does not broadcast; one that defines :meth:`loglik` without
        :meth:`loglik_draws` gets the base :meth:`loglik_draws`, which then loops over its
        :meth:`loglik` (an inherited vectorized version would compute the parent's).
        """
        super().__init_subclass__(**kwargs)
        own = vars(cls)
        if "expected" in own and "expected_broadcasts" not in own:
            cls.expected_broadcasts = False
        if "loglik" in own and "loglik_draws" not in own:
            cls.loglik_draws = Case.loglik_draws

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
        """log p(y | params) in plain numpy (an SBC test quantity).

        Built from :meth:`expected` and the family: Gaussian cases need ``sigma``, negative
        binomial cases ``alpha`` (NB2: variance mu + mu²/alpha); override for anything else
        (and :meth:`loglik_draws` too, or SBC evaluates it draw by draw).
        """
        y = data[self.response].to_numpy(dtype=float)
        return float(self._family_loglik(params, y, self.expected(params, data)))

    def loglik_draws(self, draws: Mapping[str, np.ndarray], data: pd.DataFrame) -> np.ndarray:
        """log p(y | params) at S draws at once: ``draws[name]`` has a leading axis of length S
        followed by the parameter's own shape; returns shape (S,).

        Entry s equals :meth:`loglik` at draw s, non-finite where that is. With
        :attr:`expected_broadcasts` and the family log-likelihood of :meth:`loglik` (not an
        override) this is one numpy evaluation on an (S, n) array of means (on the built-in
        cases equal to the loop bit for bit with numpy 2.3 and 2.5; the tests ask for a relative
        1e-12); otherwise it calls :meth:`loglik` once per draw.
        Like :meth:`loglik`, it lets numpy warn about invalid values (wrap it in
        ``numpy.errstate`` to silence that).
        """
        arrays = {name: np.asarray(values) for name, values in draws.items()}
        sizes = {a.shape[0] if a.ndim else None for a in arrays.values()}
        if len(sizes) != 1 or None in sizes:
            shapes = {name: a.shape for name, a in arrays.items()}
            raise UsageError(
                f"case {self.name!r}: loglik_draws needs one or more parameters with the same "
                f"leading draws axis but got shapes {shapes}"
            )
        (n_draws,) = sizes
        if not self._vectorized_loglik():
            return np.array(
                [self.loglik(params, data) for params in _each_draw(arrays, n_draws)], dtype=float
            ).reshape(n_draws)
        y = data[self.response].to_numpy(dtype=float)
        mu = np.asarray(self.expected(arrays, data), dtype=float)
        if mu.shape != (n_draws, len(y)):
            raise PluginError(
                f"case {self.name!r} says its expected() broadcasts over draws "
                f"(expected_broadcasts = True) but at {n_draws} draws of {len(y)} rows it "
                f"returned shape {mu.shape}, not {(n_draws, len(y))}"
            )
        return self._family_loglik(arrays, y, mu)

    def _vectorized_loglik(self) -> bool:
        """Whether :meth:`loglik_draws` may evaluate all draws at once: :meth:`expected`
        broadcasts and :meth:`loglik` is the family one, on the class and on this instance."""
        own = getattr(self, "__dict__", {})  # a method patched onto the instance
        loglik = getattr(self.loglik, "__func__", None)
        return bool(self.expected_broadcasts) and loglik is Case.loglik and "expected" not in own

    def _family_loglik(
        self, params: Mapping[str, Any], y: np.ndarray, mu: np.ndarray
    ) -> np.ndarray | float:
        """The family's log-likelihood of ``y`` (shape (n,)) at means ``mu``, summed over the
        last axis: a scalar for one draw (``mu`` of shape (n,), scalar dispersion), shape (S,)
        for S (``mu`` of shape (S, n), dispersion of shape (S,)). Both :meth:`loglik` and
        :meth:`loglik_draws` use it, so they compute the same numbers elementwise and sum each
        draw's row alike."""
        from scipy.special import gammaln

        if self.family == "gaussian":
            sigma = per_draw(params["sigma"])
            return (
                -0.5 * np.sum(((y - mu) / sigma) ** 2, axis=-1)
                - len(y) * np.log(sigma[..., 0] * np.sqrt(2 * np.pi))
            )
        if self.family == "bernoulli":
            return np.sum(np.where(y == 1, np.log(mu), np.log1p(-mu)), axis=-1)
        if self.family == "poisson":
            return np.sum(y * np.log(mu) - mu - gammaln(y + 1), axis=-1)
        if self.family == "negativebinomial":
            a = per_draw(params["alpha"])
            return np.sum(
                gammaln(y + a) - gammaln(a) - gammaln(y + 1)
                + a * np.log(a / (a + mu)) + y * np.log(mu / (a + mu)),
                axis=-1,
            )
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


def _each_draw(arrays: Mapping[str, np.ndarray], n_draws: int):
    """One parameter dict per draw: scalar parameters as Python floats, vectors as arrays."""
    for i in range(n_draws):
        yield {name: (a[i].item() if a.ndim == 1 else a[i]) for name, a in arrays.items()}
