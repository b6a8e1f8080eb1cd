"""The three figures of the seed, for any case: data with the true curve, trace plot,
posterior regression curves (on the response scale) from posterior draws over the data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from glmcheck import compat
from glmcheck.cases import Case
from glmcheck.posterior import Posterior

__all__ = ["data_figure", "trace_figure", "lines_figure"]


def _pyplot():
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "pdf", "svg"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _scatter(ax, case: Case, data: pd.DataFrame) -> np.ndarray:
    x = data[case.plot_x].to_numpy()
    ax.plot(x, data[case.response].to_numpy(), "x", color="C0", alpha=0.6, label="data")
    ax.set_xlabel(case.plot_x)
    ax.set_ylabel(case.response)
    return np.argsort(x, kind="stable")


def data_figure(case: Case, data: pd.DataFrame, truth: dict | None, path: Path) -> None:
    """Scatter of the data with the true regression curve (when the truth is known)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 7))
    order = _scatter(ax, case, data)
    if truth is not None:
        x = data[case.plot_x].to_numpy()[order]
        ax.plot(x, case.expected(truth, data)[order], color="C1", lw=2, label="true regression line")
    ax.set_title(f"{case.name}: generated data and true regression line")
    ax.legend(loc="best")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


def trace_figure(posterior: Posterior, path: Path) -> None:
    compat.plot_trace(posterior.draws, posterior.stats, path, f"trace: {posterior.label()}")


def lines_figure(
    case: Case,
    data: pd.DataFrame,
    posterior: Posterior,
    truth: dict | None,
    path: Path,
    n_lines: int = 100,
    seed: int = 0,
) -> None:
    """``n_lines`` posterior draws of E[y | x] over the data, with the data and the truth."""
    plt = _pyplot()
    flat = posterior.draws.stack(sample=("chain", "draw"))
    rng = np.random.default_rng(seed)
    picks = rng.choice(flat.sizes["sample"], size=min(n_lines, flat.sizes["sample"]), replace=False)
    fig, ax = plt.subplots(figsize=(7, 7))
    order = _scatter(ax, case, data)
    x = data[case.plot_x].to_numpy()[order]
    for k, i in enumerate(picks):
        params = {name: np.asarray(var.isel(sample=i).values) for name, var in flat.data_vars.items()}
        params = {k_: (v.item() if v.ndim == 0 else v) for k_, v in params.items()}
        ax.plot(
            x, case.expected(params, data)[order], color="C2", alpha=0.1, lw=1,
            label="posterior draws of E[y | x]" if k == 0 else None,
        )
    if truth is not None:
        ax.plot(x, case.expected(truth, data)[order], color="C1", lw=2, label="true regression line")
    ax.set_title(f"posterior regression lines: {posterior.label()}")
    for handle in ax.legend(loc="best").legend_handles:
        handle.set_alpha(1)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
