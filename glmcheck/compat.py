"""The one place that knows the two library stacks apart.

Current stack: arviz 1.x, results are ``xarray.DataTree``. Previous stack: arviz 0.23, results
are ``arviz.InferenceData``. Everything else in glmcheck works on plain ``xarray.Dataset``
groups and calls the functions here for anything stack-specific.
"""

from __future__ import annotations

import functools
from importlib import metadata
from typing import Any

import xarray as xr

__all__ = [
    "arviz_major",
    "group",
    "to_arviz",
    "ess",
    "rhat",
    "rhat_array",
    "mcse",
    "bfmi",
    "sampler_settings",
    "plot_trace",
    "versions",
]

_VERSIONED = (
    "glmcheck", "pymc", "pytensor", "numba", "bambi", "formulae", "arviz", "arviz-base",
    "arviz-stats", "arviz-plots", "nutpie", "numpyro", "jax", "jaxlib", "blackjax", "numpy",
    "scipy", "xarray", "matplotlib",
)


@functools.cache
def versions() -> dict[str, str | None]:
    """Installed versions of every library that can change a verdict (None: not installed)."""
    import platform

    found: dict[str, str | None] = {"python": platform.python_version()}
    for dist in _VERSIONED:
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[dist] = None
    return found


@functools.cache
def arviz_major() -> int:
    return int(metadata.version("arviz").split(".")[0])


def group(result: Any, name: str) -> xr.Dataset:
    """One group of a DataTree or InferenceData as a Dataset."""
    if isinstance(result, xr.DataTree):
        return result[name].to_dataset()
    return getattr(result, name)


def to_arviz(**groups: xr.Dataset) -> Any:
    """Bundle Dataset groups into the stack's native result type."""
    if arviz_major() >= 1:
        return xr.DataTree.from_dict({name: ds for name, ds in groups.items()})
    import arviz as az

    return az.InferenceData(**groups)


# Degenerate draws (a constant parameter) make R-hat, ESS or MCSE a 0/0: NaN, which fails every
# gate that reads it. numpy's warning about that division adds nothing (and pytest turns it into
# an error), so the diagnostics run with it silenced.
_QUIET = {"invalid": "ignore", "divide": "ignore"}


def ess(ds: xr.Dataset, method: str = "bulk") -> xr.Dataset:
    import arviz as az
    import numpy as np

    with np.errstate(**_QUIET):
        return az.ess(ds, method=method)


def rhat(ds: xr.Dataset) -> xr.Dataset:
    import arviz as az
    import numpy as np

    with np.errstate(**_QUIET):
        return az.rhat(ds)


def rhat_array(values):
    """Rank-normalized split R-hat of every column of a chain × draw × k array (shape (k,)):
    ArviZ's array interface, without building xarray objects (a simulation of SBC computes one
    per fit: arviz-stats' ``array_stats``, 3 columns in 5 ms; through a Dataset, 8 ms)."""
    import numpy as np

    values = np.asarray(values, dtype=float)
    with np.errstate(**_QUIET):
        if arviz_major() >= 1:
            from arviz_stats.base import array_stats

            return np.asarray(array_stats.rhat(values, chain_axis=0, draw_axis=1), dtype=float)
        import arviz as az

        return np.array([az.rhat(values[:, :, j]) for j in range(values.shape[2])], dtype=float)


def mcse(ds: xr.Dataset, method: str = "mean", prob: float | None = None) -> xr.Dataset:
    """Monte Carlo standard error of the mean, sd, or the quantile at ``prob``."""
    import arviz as az
    import numpy as np

    with np.errstate(**_QUIET):
        if method == "quantile":
            return az.mcse(ds, method=method, prob=prob)
        return az.mcse(ds, method=method)


def bfmi(stats: xr.Dataset) -> list[float]:
    """E-BFMI per chain from the ``energy`` sampler statistic."""
    import arviz as az
    import numpy as np

    with np.errstate(**_QUIET):
        if arviz_major() >= 1:
            return [float(v) for v in az.bfmi(stats[["energy"]])["energy"].values]
        return [float(v) for v in az.bfmi(stats["energy"].values)]


def sampler_settings(stats: xr.Dataset) -> dict[str, Any]:
    """The settings a sampler recorded with its statistics, in glmcheck's names; {} if none.

    nutpie 0.16.11 (current stack) keeps its settings as JSON in the ``sample_stats``
    attribute ``inference_library_settings``; nutpie 0.16.8 (previous stack) keeps none.
    """
    import json

    attrs = getattr(stats, "attrs", None) or {}
    if attrs.get("inference_library") != "nutpie" or "inference_library_settings" not in attrs:
        return {}
    try:
        record = json.loads(attrs["inference_library_settings"])
        inner = record["settings"]
        out: dict[str, Any] = {"tune": int(inner["num_tune"])}
        accept = inner["adapt_options"]["step_size_settings"]["target_accept"]
        out["target_accept"] = float(accept)
        if record.get("sampler", "nuts") == "nuts":
            out["max_tree_depth"] = int(inner["maxdepth"])
    except (KeyError, TypeError, ValueError):
        return {}
    return out


def plot_trace(posterior: xr.Dataset, stats: xr.Dataset | None, path, title: str) -> None:
    """The two-panel trace plot (density and trace per parameter), written as a PNG."""
    import arviz as az
    import matplotlib.pyplot as plt

    groups = {"posterior": posterior}
    if stats is not None and "diverging" in stats:
        groups["sample_stats"] = stats[["diverging"]]
    data = to_arviz(**groups)
    if arviz_major() >= 1:
        pc = az.plot_trace_dist(data, backend="matplotlib")
        fig = pc.viz["figure"].item()
    else:
        axes = az.plot_trace(data, figsize=(10, 2.4 * len(posterior.data_vars)))
        fig = axes.ravel()[0].figure
    fig.suptitle(title)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
