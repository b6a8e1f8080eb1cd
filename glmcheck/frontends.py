"""Frontends turn a case and a data set into a PyMC model; nothing downstream knows which.

Both frontends end in the same shape: a plain ``pymc.Model`` whose observed response is held
in a shared data container named :data:`RESPONSE_DATA`, so a fitter can compile the model once
and refit it on new response vectors (the design stays fixed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from glmcheck._loader import is_builtin
from glmcheck.cases import Case, get_case
from glmcheck.errors import FitError, GlmcheckError, PluginError, UsageError

if TYPE_CHECKING:  # pragma: no cover
    import pymc as pm
    import xarray as xr

__all__ = ["FRONTENDS", "RESPONSE_DATA", "ModelSpec", "build"]

FRONTENDS = ("pymc", "bambi")
#: Name of the shared variable holding the observed response in every built model.
RESPONSE_DATA = "glmcheck_y"


@dataclass(kw_only=True)
class ModelSpec:
    """A built model plus what a fitter needs to refit it and name its parameters."""

    case: Case
    frontend: str
    model: pm.Model
    data: pd.DataFrame
    #: canonical parameter name -> name in :attr:`model`
    native_names: dict[str, str] = field(default_factory=dict)
    response_dtype: np.dtype = np.dtype(float)
    #: the shared variable named :data:`RESPONSE_DATA` inside :attr:`model`
    response_data: Any = None

    @property
    def native_params(self) -> list[str]:
        return [self.native_names.get(p, p) for p in self.case.params]

    def response_values(self, y: np.ndarray | pd.Series | None) -> np.ndarray:
        """Validate a new response vector against the fixed design; return it as stored."""
        if y is None:
            y = self.data[self.case.response]
        y = np.asarray(y)
        if y.shape != (len(self.data),):
            raise UsageError(
                f"response for case {self.case.name!r} must have shape ({len(self.data)},) "
                f"but has shape {y.shape}"
            )
        if not np.isfinite(y.astype(float)).all():
            raise UsageError(f"response for case {self.case.name!r} has NaN or infinite values")
        self.case._validate_response(y, "response")
        return y.astype(self.response_dtype)

    def canonical(self, posterior: xr.Dataset) -> xr.Dataset:
        """The posterior in canonical parameter names, parameters only."""
        if self.frontend == "bambi":
            return self.case.from_bambi(posterior)
        missing = [p for p in self.case.params if p not in posterior]
        if missing:
            raise UsageError(
                f"the {self.frontend} model of case {self.case.name!r} has no variables {missing}"
            )
        return posterior[list(self.case.params)]


def build(case: Case | str, frontend: str, data: pd.DataFrame | None = None) -> ModelSpec:
    """Build ``case`` with ``frontend`` (``"pymc"`` or ``"bambi"``) on ``data``.

    ``data`` defaults to the case's reference data set and is validated first.
    """
    case = get_case(case)
    if frontend not in FRONTENDS:
        raise UsageError(f"unknown frontend {frontend!r}; choose from {', '.join(FRONTENDS)}")
    data = case.reference_data() if data is None else data
    data = case.validate_data(data)
    if frontend == "pymc":
        model = _pymc_model(case, data)
        native = {}
    else:
        model = _bambi_model(case, data)
        native = {p: case.bambi_name(p) for p in case.params if case.bambi_name(p) != p}
    model, shared = _swappable_response(case, model, data)
    return ModelSpec(
        case=case, frontend=frontend, model=model, data=data, native_names=native,
        response_dtype=np.dtype(shared.dtype), response_data=shared,
    )


def _pymc_model(case: Case, data: pd.DataFrame):
    """The hand-written model. A built-in case that fails to build is a library regression (a
    failed fit); a user's case that raises is a bug in that plugin."""
    try:
        return case.pymc_model(data)
    except GlmcheckError:
        raise
    except Exception as exc:
        what = f"{type(exc).__name__}: {exc}"
        if is_builtin(case):
            raise FitError(f"PyMC could not build the model of case {case.name!r}: {what}") from exc
        raise PluginError(
            f"case {case.name!r} ({type(case).__module__}) raised in pymc_model: {what}"
        ) from exc


def _bambi_model(case: Case, data: pd.DataFrame):
    """Bambi's model. A built-in case's formula is known to be good, so a failure there is a
    library regression (a failed fit); a user's formula that Bambi rejects is bad input."""
    try:
        bambi_model = case.bambi_model(data)
        bambi_model.build()
    except GlmcheckError:
        raise
    except Exception as exc:
        what = (f"Bambi could not build case {case.name!r} from formula {case.formula!r}: "
                f"{type(exc).__name__}: {exc}")
        raise (FitError if is_builtin(case) else UsageError)(what) from exc
    return bambi_model.backend.model


def _swappable_response(case: Case, model, data: pd.DataFrame):
    """Replace the observed response's constant by a shared variable (same values)."""
    import pymc as pm
    import pytensor
    from pytensor.compile.sharedvalue import SharedVariable

    try:
        from pytensor.graph.traversal import graph_inputs
    except ImportError:  # pytensor 2.x
        from pytensor.graph.basic import graph_inputs

    names = [rv.name for rv in model.observed_RVs]
    if case.response not in names:
        raise UsageError(
            f"the model of case {case.name!r} must observe a variable named {case.response!r}; "
            f"it observes {names}"
        )
    observed = model.rvs_to_values[model[case.response]]
    y = np.asarray(data[case.response], dtype=np.dtype(observed.dtype))
    observed_model = pm.observe(model, {case.response: pytensor.shared(y, name=RESPONSE_DATA)})
    value = observed_model.rvs_to_values[observed_model[case.response]]
    shared = next(
        v for v in graph_inputs([value]) if isinstance(v, SharedVariable) and v.name == RESPONSE_DATA
    )
    return observed_model, shared
