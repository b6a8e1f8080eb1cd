"""The public routes: the samplers exactly as users call them, compile included on every fit.

A hand-written PyMC model is sampled with ``pm.sample(nuts_sampler=<name>)``; a Bambi formula
model is built from the case as a user builds it (``case.bambi_model(data)``) and fitted with
``bambi.Model.fit(inference_method=<name>)``. Nothing is compiled ahead: every call builds,
compiles and samples afresh, so ``compile_seconds`` is ~0 and the fit time is the whole call.
The sampler is always named explicitly (PyMC 6 silently picks nutpie when it is installed).

Each route keeps its own statistics; they are mapped to :data:`~glmcheck.posterior.STAT_NAMES`:

========  ===============================================================================
route     statistics (both stacks: pymc 6.4/bambi 0.21 and pymc 5.28/bambi 0.17)
========  ===============================================================================
pymc      ``diverging``, ``n_steps`` (float: cast), ``tree_depth``, ``energy``,
          ``step_size``, ``lp``: PyMC's NUTS, already in glmcheck's depth convention
nutpie    ``depth`` (completed doublings: converted with
          :func:`~glmcheck.fitters.nutpie.started_doublings`), ``n_steps``, ``diverging``,
          ``energy``, ``step_size`` (jittered per draw by nutpie), ``logp`` -> ``lp``
numpyro   ``diverging``, ``n_steps``, ``tree_depth`` (PyMC derives it from ``n_steps``:
          doublings started), ``energy``, ``step_size``, and ``lp``, which PyMC fills with
          NumPyro's *potential energy* (-log density): its sign is flipped here
blackjax  ``diverging``, ``n_steps``, ``tree_depth`` (``num_trajectory_expansions``:
          doublings started), ``energy``, ``lp``; PyMC records no ``step_size``
========  ===============================================================================

None of the routes is given a maximum tree depth: each runs with its library's default, 10
(PyMC's ``max_treedepth``, nutpie's ``maxdepth``, NumPyro's ``max_tree_depth``, BlackJAX's
``max_num_doublings``). nutpie records what it ran with (pymc 6.4 stack only), which
:func:`glmcheck.compat.sampler_settings` reads; every route records its ``tuning_steps``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from glmcheck import compat
from glmcheck.errors import FitError, GlmcheckError
from glmcheck.fitters.base import Fitter, RawSample, standard_stats
from glmcheck.posterior import STAT_NAMES

__all__ = ["PublicNutpieFitter", "PublicPymcFitter", "PublicNumpyroFitter", "PublicBlackjaxFitter"]

#: the libraries' default maximum tree depth (see the module docstring); no route is given one
MAX_TREE_DEPTH = 10

#: loggers that report progress and convergence warnings inside a sampling call
_LOGGERS = ("pymc", "bambi", "pytensor", "jax", "numpyro", "blackjax", "nutpie", "arviz")


@contextlib.contextmanager
def _quiet():
    """Silence the libraries' logging and warnings for one call, then restore both.

    Progress and convergence messages only: PyMC logs its convergence warnings (R-hat, ESS)
    at ERROR, which glmcheck's own checks judge. Import the libraries before entering: PyMC
    and Bambi set their loggers' levels on import, which leaving would undo.
    """
    loggers = [logging.getLogger(name) for name in _LOGGERS]
    levels = [logger.level for logger in loggers]
    try:
        for logger in loggers:
            logger.setLevel(logging.CRITICAL)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


class PublicFitter(Fitter):
    """Shared machinery: call the route, keep the model's parameters, map the statistics."""

    route = "public"
    max_tree_depth = MAX_TREE_DEPTH
    #: the sampler's own library (its version goes into error messages); None for PyMC's NUTS
    library: ClassVar[str | None] = None
    #: the route's statistic names -> glmcheck's (:data:`STAT_NAMES`)
    renames: ClassVar[dict[str, str]] = {}

    def _compile(self) -> None:
        """Nothing ahead of the call: the public route compiles inside every fit. Only the
        imports (cheap: building the spec imported them), so that :func:`_quiet` restores the
        levels the libraries set for their loggers when first imported."""
        import pymc  # noqa: F401

        if self.spec.frontend == "bambi":
            import bambi  # noqa: F401

    # -- the route -------------------------------------------------------------------------
    def _call(self, y: np.ndarray, seed: int) -> Any:
        s = self.settings
        common = dict(
            draws=s.draws, tune=s.tune, chains=s.chains, target_accept=s.target_accept,
            random_seed=seed, progressbar=False, cores=min(s.chains, os.cpu_count() or 1),
        )
        if self.spec.frontend == "bambi":
            case = self.spec.case
            data = self.spec.data.copy()
            data[case.response] = y
            model = case.bambi_model(data)
            # omit_offsets=False: a non-centered term's offsets are parameters of the case
            return model.fit(inference_method=self.name, omit_offsets=False, **common)
        import pymc as pm

        self.spec.response_data.set_value(y)
        with self.spec.model:
            return pm.sample(nuts_sampler=self.name, var_names=self.spec.native_params, **common)

    def _route_name(self) -> str:
        if self.spec.frontend == "bambi":
            return f"bambi.Model.fit(inference_method={self.name!r})"
        return f"pm.sample(nuts_sampler={self.name!r})"

    def _versions(self) -> str:
        found = compat.versions()
        names = ["bambi"] if self.spec.frontend == "bambi" else []
        names.append("pymc")
        names += ["pytensor"] if self.library is None else [self.library]
        names += [n for n in self.requires if n not in names]
        return ", ".join(f"{n} {found.get(n) or 'not installed'}" for n in names)

    def _sample(self, y: np.ndarray, seed: int) -> RawSample:
        try:
            with _quiet():
                trace = self._call(y, seed)
        except GlmcheckError:
            raise
        except Exception as exc:
            what = " ".join(str(exc).split())
            if len(what) > 400:
                what = what[:400] + " ..."
            raise FitError(
                f"{self.name} (public route) failed on the {self.spec.frontend} model of case "
                f"{self.spec.case.name!r}: {self._route_name()} raised {type(exc).__name__}: "
                f"{what} ({self._versions()})"
            ) from exc
        posterior = compat.group(trace, "posterior")
        raw_stats = compat.group(trace, "sample_stats")
        params = [p for p in self.spec.native_params if p in posterior]
        return RawSample(
            posterior=posterior[params],
            stats=self._stats(raw_stats),
            settings=self._settings(posterior),
        )

    # -- statistics and settings -----------------------------------------------------------
    def _stats(self, raw: xr.Dataset) -> xr.Dataset:
        stats = standard_stats(raw, self.renames)
        for name, dtype in (("n_steps", "int64"), ("tree_depth", "int64"), ("diverging", bool)):
            if name in stats:
                stats[name] = stats[name].astype(dtype)
        return stats

    def _settings(self, posterior: xr.Dataset) -> dict:
        """What ran: the ``tuning_steps`` every route records, and what the route was given."""
        s = self.settings
        tune = posterior.attrs.get("tuning_steps")
        return {
            "tune": s.tune if tune is None else int(tune),
            "target_accept": float(s.target_accept),
            "max_tree_depth": self.max_tree_depth,
        }


class PublicPymcFitter(PublicFitter):
    """PyMC's own NUTS: ``pm.sample(nuts_sampler="pymc")`` or ``fit(inference_method="pymc")``."""

    name = "pymc"
    requires = ("pymc",)


class PublicNutpieFitter(PublicFitter):
    name = "nutpie"
    requires = ("nutpie",)
    library = "nutpie"
    renames = {"logp": "lp"}

    def _stats(self, raw: xr.Dataset) -> xr.Dataset:
        from glmcheck.fitters.nutpie import started_doublings

        stats = super()._stats(raw)
        stats["tree_depth"] = started_doublings(raw["depth"], raw["n_steps"])
        # keep the order of STAT_NAMES (and the attrs holding nutpie's record of its settings)
        return stats[[n for n in STAT_NAMES if n in stats]]


class PublicNumpyroFitter(PublicFitter):
    name = "numpyro"
    requires = ("numpyro", "jax")
    library = "numpyro"

    def _stats(self, raw: xr.Dataset) -> xr.Dataset:
        stats = super()._stats(raw)
        # PyMC renames NumPyro's ``potential_energy`` (minus the log density) to ``lp`` without
        # flipping its sign (pymc 5.28 and 6.4; ArviZ fixed the same slip in from_numpyro).
        # tests/test_fitters_public.py checks ``lp`` against the model's log density.
        if "lp" in stats:
            stats["lp"] = -stats["lp"]
        return stats


class PublicBlackjaxFitter(PublicFitter):
    name = "blackjax"
    requires = ("blackjax", "jax")
    library = "blackjax"
