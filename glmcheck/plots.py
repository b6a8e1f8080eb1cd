"""The three figures of the seed, for any case: data with the true curve, trace plot,
posterior regression curves (on the response scale) from posterior draws over the data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from glmcheck import compat
from glmcheck.cases import Case
from glmcheck.posterior import Posterior

__all__ = ["data_figure", "trace_figure", "lines_figure", "sbc_figure", "bench_figure"]


def _pyplot():
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "pdf", "svg"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _scatter(ax, case: Case, data: pd.DataFrame) -> None:
    x = data[case.plot_x].to_numpy()
    ax.plot(x, data[case.response].to_numpy(), "x", color="C0", alpha=0.6, label="data")
    ax.set_xlabel(case.plot_x)
    ax.set_ylabel(case.response)


def _grid(case: Case, data: pd.DataFrame, points: int = 200) -> np.ndarray:
    x = data[case.plot_x].to_numpy(dtype=float)
    return np.linspace(x.min(), x.max(), points)


def _note(case: Case) -> str:
    return f" ({case.curve_note})" if case.curve_note else ""


def data_figure(case: Case, data: pd.DataFrame, truth: dict | None, path: Path) -> None:
    """Scatter of the data with the true regression curve (when the truth is known)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 7))
    _scatter(ax, case, data)
    if truth is not None:
        grid = _grid(case, data)
        ax.plot(grid, case.curve(truth, grid, data), color="C1", lw=2,
                label="true regression line" + _note(case))
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
    _scatter(ax, case, data)
    grid = _grid(case, data)
    for k, i in enumerate(picks):
        params = {name: np.asarray(var.isel(sample=i).values) for name, var in flat.data_vars.items()}
        params = {k_: (v.item() if v.ndim == 0 else v) for k_, v in params.items()}
        ax.plot(
            grid, case.curve(params, grid, data), color="C2", alpha=0.1, lw=1,
            label=f"posterior draws of E[{case.response} | {case.plot_x}]{_note(case)}" if k == 0 else None,
        )
    if truth is not None:
        ax.plot(grid, case.curve(truth, grid, data), color="C1", lw=2, label="true regression line")
    ax.set_title(f"posterior regression lines: {posterior.label()}")
    for handle in ax.legend(loc="best").legend_handles:
        handle.set_alpha(1)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


def sbc_figure(bands: dict, title: str, path: Path, bins: int = 20) -> None:
    """Per quantity: the ECDF difference with its simultaneous band, and the rank histogram."""
    from scipy import stats

    plt = _pyplot()
    n_rows = len(bands)
    fig, axes = plt.subplots(n_rows, 2, figsize=(10, 2.4 * n_rows), squeeze=False)
    for (name, (band, ranks, L)), (ax_ecdf, ax_hist) in zip(bands.items(), axes):
        z = band.eval_points
        ax_ecdf.fill_between(z, band.lower - z, band.upper - z, color="C0", alpha=0.2,
                             step="mid", label=f"{1 - band.alpha:.0%} simultaneous band")
        ax_ecdf.step(z, band.ecdf - z, where="mid", color="C0" if band.passed else "C3")
        ax_ecdf.axhline(0, color="k", lw=0.5)
        ax_ecdf.set_ylabel(name)
        ax_ecdf.set_title(f"ECDF − uniform (p = {band.p_value:.3g})", fontsize=9)
        edges = np.linspace(0, L + 1, bins + 1)
        ax_hist.hist(ranks, bins=edges, color="C0", alpha=0.7)
        expected = len(ranks) / bins
        lo, hi = stats.binom.interval(0.99, len(ranks), 1 / bins)
        ax_hist.axhspan(lo, hi, color="k", alpha=0.1, label="99 % per-bin range")
        ax_hist.axhline(expected, color="k", lw=0.8)
        ax_hist.set_title(f"ranks among L = {L} draws", fontsize=9)
    axes[0][0].legend(loc="upper right", fontsize=8)
    axes[0][1].legend(loc="upper right", fontsize=8)
    axes[-1][0].set_xlabel("fractional rank")
    axes[-1][1].set_xlabel("rank")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


def bench_figure(summaries: list, path: Path, title: str = "") -> None:
    """ESS/s (whole fit) and ESS per gradient evaluation of each sampler, grouped by case and
    frontend (and route), as medians with interquartile bars on a log scale."""
    plt = _pyplot()
    def group_of(s) -> str:
        case, frontend, _, route = s.key
        return " · ".join([case, frontend] + ([route] if route != "compiled" else []))

    groups = list(dict.fromkeys(group_of(s) for s in summaries))
    samplers = list(dict.fromkeys(s.key[2] for s in summaries))
    width = 0.8 / max(1, len(samplers))
    fig, axes = plt.subplots(2, 1, figsize=(max(7, 1.1 * len(groups) + 3), 7.5), sharex=True)
    for ax, key, label in ((axes[0], "ess_per_s_total", "min bulk ESS per second (whole fit)"),
                           (axes[1], "ess_per_grad", "min bulk ESS per gradient evaluation")):
        for j, sampler in enumerate(samplers):
            xs, ys, lo, hi = [], [], [], []
            for s in summaries:
                value = s.median.get(key)
                if s.key[2] != sampler or value is None or not value > 0:
                    continue
                xs.append(groups.index(group_of(s)) + (j - (len(samplers) - 1) / 2) * width)
                ys.append(value)
                lo.append(value - (s.q25.get(key) or value))
                hi.append((s.q75.get(key) or value) - value)
            if xs:
                ax.bar(xs, ys, width=width, yerr=[lo, hi], capsize=2, color=f"C{j}",
                       label=sampler)
        ax.set_yscale("log")
        ax.set_ylabel(label, fontsize=9)
        ax.grid(axis="y", alpha=0.3, which="both")
    axes[0].legend(title="sampler", fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    axes[1].set_xticks(range(len(groups)), groups, rotation=30, ha="right", fontsize=8)
    axes[1].set_title("the same on any machine", fontsize=9)
    axes[0].set_title("this machine", fontsize=9)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
