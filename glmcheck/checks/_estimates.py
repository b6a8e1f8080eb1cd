"""Posterior statistics with their Monte Carlo standard errors (ArviZ computes the MCSE)."""

from __future__ import annotations

import numpy as np

from glmcheck import compat
from glmcheck.errors import UsageError
from glmcheck.posterior import Posterior
from glmcheck.results import flat_elements, flat_values

__all__ = ["STATISTICS", "estimates", "require_finite"]

#: statistic -> quantile probability (None for mean and sd)
STATISTICS = {"mean": None, "sd": None, "q05": 0.05, "q50": 0.5, "q95": 0.95}


def require_finite(posterior: Posterior) -> None:
    bad = [n for n, v in posterior.draws.data_vars.items() if not np.isfinite(v.values).all()]
    if bad:
        raise UsageError(f"posterior of {posterior.label()} has NaN or infinite draws in {bad}")


def estimates(posterior: Posterior) -> dict[tuple[str, str], tuple[float, float]]:
    """``(element, statistic) -> (estimate, MCSE)`` for every parameter element."""
    require_finite(posterior)
    draws = posterior.draws
    mcse = {
        stat: compat.mcse(draws, method=stat if prob is None else "quantile", prob=prob)
        for stat, prob in STATISTICS.items()
    }
    out = {}
    for name in draws.data_vars:
        errors = {stat: list(flat_values(ds, name)) for stat, ds in mcse.items()}
        for i, (label, values) in enumerate(flat_elements(draws, name)):
            v = np.asarray(values, dtype=float).ravel()
            for stat, prob in STATISTICS.items():
                if stat == "mean":
                    value = v.mean()
                elif stat == "sd":
                    value = v.std(ddof=1)
                else:
                    value = np.quantile(v, prob)
                out[(label, stat)] = (float(value), float(errors[stat][i]))
    return out
