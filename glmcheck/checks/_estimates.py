"""What every comparing check shares: the statistics compared, and the finiteness guard."""

from __future__ import annotations

import numpy as np

from glmcheck.errors import UsageError
from glmcheck.posterior import Posterior

__all__ = ["STATISTICS", "require_finite"]

#: statistic -> quantile probability (None for mean and sd)
STATISTICS = {"mean": None, "sd": None, "q05": 0.05, "q50": 0.5, "q95": 0.95}


def require_finite(posterior: Posterior) -> None:
    bad = [n for n, v in posterior.draws.data_vars.items() if not np.isfinite(v.values).all()]
    if bad:
        raise UsageError(f"posterior of {posterior.label()} has NaN or infinite draws in {bad}")
