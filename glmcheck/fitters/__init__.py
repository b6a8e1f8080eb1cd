"""Sampler adapters. Every sampler is named explicitly; none is a silent default.

:func:`get_fitter` accepts a built-in name or a user fitter as ``package.module:ClassName``.
"""

from __future__ import annotations

from glmcheck._loader import is_reference, load_reference
from glmcheck.errors import UsageError
from glmcheck.fitters.base import FitSettings, Fitter, RawSample, require
from glmcheck.posterior import ROUTES

__all__ = ["SAMPLERS", "PUBLIC_SAMPLERS", "ROUTES", "FitSettings", "Fitter", "RawSample", "get_fitter", "make_fitter", "installed"]

#: Built-in samplers and where their adapters live.
SAMPLERS: dict[str, str] = {
    "nutpie": "glmcheck.fitters.nutpie:NutpieFitter",
    "pymc": "glmcheck.fitters.pymc:PymcFitter",
    "numpyro": "glmcheck.fitters.jax:NumpyroFitter",
    "blackjax": "glmcheck.fitters.jax:BlackjaxFitter",
}

#: The same samplers through the routes users call: ``pm.sample(nuts_sampler=...)`` for a
#: hand-written model, Bambi's ``Model.fit(inference_method=...)`` for a formula; every fit
#: builds and compiles afresh, as it does for a user.
PUBLIC_SAMPLERS: dict[str, str] = {
    name: f"glmcheck.fitters.public:Public{name.capitalize()}Fitter" for name in SAMPLERS
}


def get_fitter(name: str | type[Fitter], route: str = "compiled") -> type[Fitter]:
    """The fitter class for a sampler name or ``module:attribute`` reference, on ``route``
    (``"compiled"`` or ``"public"``; a user's fitter is its own route)."""
    if route not in ROUTES:
        raise UsageError(f"unknown route {route!r}; choose from {', '.join(ROUTES)}")
    if isinstance(name, type) and issubclass(name, Fitter):
        return name
    if is_reference(name):
        cls = load_reference(name, "sampler")
    elif name in SAMPLERS:
        table = SAMPLERS if route == "compiled" else PUBLIC_SAMPLERS
        cls = load_reference(table[name], "sampler")
    else:
        raise UsageError(
            f"unknown sampler {name!r}; built-in samplers are {', '.join(SAMPLERS)} "
            "(or give your own Fitter subclass as package.module:ClassName)"
        )
    if not (isinstance(cls, type) and issubclass(cls, Fitter)):
        raise UsageError(
            f"sampler {name!r} must be a subclass of glmcheck.fitters.Fitter but is {cls!r}"
        )
    return cls


def make_fitter(name, spec, settings: FitSettings | None = None, route: str = "compiled") -> Fitter:
    """Compile ``spec`` for sampler ``name`` on ``route``."""
    return get_fitter(name, route)(spec, settings)


def installed() -> dict[str, bool]:
    """Which built-in samplers have their packages installed."""
    out = {}
    for name in SAMPLERS:
        try:
            require(get_fitter(name).requires, name)
            out[name] = True
        except UsageError:
            out[name] = False
    return out
