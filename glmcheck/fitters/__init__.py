"""Sampler adapters. Every sampler is named explicitly; none is a silent default.

:func:`get_fitter` accepts a built-in name or a user fitter as ``package.module:ClassName``.
"""

from __future__ import annotations

from glmcheck._loader import is_reference, load_reference
from glmcheck.errors import UsageError
from glmcheck.fitters.base import FitSettings, Fitter, RawSample, require

__all__ = ["SAMPLERS", "FitSettings", "Fitter", "RawSample", "get_fitter", "make_fitter", "installed"]

#: Built-in samplers and where their adapters live.
SAMPLERS: dict[str, str] = {
    "nutpie": "glmcheck.fitters.nutpie:NutpieFitter",
    "pymc": "glmcheck.fitters.pymc:PymcFitter",
    "numpyro": "glmcheck.fitters.jax:NumpyroFitter",
    "blackjax": "glmcheck.fitters.jax:BlackjaxFitter",
}


def get_fitter(name: str | type[Fitter]) -> type[Fitter]:
    """The fitter class for a sampler name or ``module:attribute`` reference."""
    if isinstance(name, type) and issubclass(name, Fitter):
        return name
    if is_reference(name):
        cls = load_reference(name, "sampler")
    elif name in SAMPLERS:
        cls = load_reference(SAMPLERS[name], "sampler")
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


def make_fitter(name, spec, settings: FitSettings | None = None) -> Fitter:
    """Compile ``spec`` for sampler ``name``."""
    return get_fitter(name)(spec, settings)


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
