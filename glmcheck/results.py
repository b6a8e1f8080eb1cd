"""Results: plain data that every output (table, JSON, pytest) is rendered from."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from glmcheck import compat
from glmcheck.posterior import Posterior, fit_label

__all__ = ["ParamSummary", "FitResult", "summarize", "flat_elements", "flat_values", "json_safe", "RHAT_MAX", "INTERVAL"]

#: Rank-normalized split R-hat above this marks a fit as not converged (Vehtari et al. 2021).
RHAT_MAX = 1.01
#: Central interval reported in summaries (5 % and 95 % quantiles).
INTERVAL = (0.05, 0.95)


@dataclass(kw_only=True)
class ParamSummary:
    name: str
    native: str
    mean: float
    sd: float
    q05: float
    q95: float
    mcse_mean: float
    ess_bulk: float
    ess_tail: float
    r_hat: float


@dataclass(kw_only=True)
class FitResult:
    """Summary of one fit: what ran (case, frontend, sampler, settings, versions) and how."""

    case: str
    frontend: str
    sampler: str
    seed: int
    settings: dict
    params: list[ParamSummary]
    #: None where the sampler reports no ``diverging`` statistic (not available, not zero)
    divergences: int | None
    gradient_evals: int | None
    timing: dict
    versions: dict = field(default_factory=compat.versions)
    #: the largest tree depth the sampler allowed, and how many draws reached it (None: the
    #: sampler does not report it)
    max_tree_depth: int | None = None
    saturated_draws: int | None = None
    #: the settings that were asked for, where the sampler ran with others (None: it ran with
    #: what was asked, or nobody said what was asked)
    requested: dict | None = None
    #: ``"compiled"`` or ``"public"`` (:data:`~glmcheck.posterior.ROUTES`)
    route: str = "compiled"
    #: how the sampler behaved (:func:`behaviour`): per-run values and per-chain lists
    behaviour: dict = field(default_factory=dict)

    @property
    def max_rhat(self) -> float:
        """The largest R-hat; NaN if any parameter's R-hat is NaN (NaN never hides)."""
        return _worst((p.r_hat for p in self.params), max)

    @property
    def min_ess(self) -> float:
        """The smallest bulk or tail ESS; NaN if any is NaN."""
        return _worst((v for p in self.params for v in (p.ess_bulk, p.ess_tail)), min)

    @property
    def converged(self) -> bool:
        """R-hat <= 1.01 for every parameter (a NaN R-hat fails) and no divergent transition.

        Divergences the sampler does not report cannot fail it; :attr:`not_available` lists
        them, and ``divergences`` is None in the record, so they never read as zero.
        """
        return bool(self.max_rhat <= RHAT_MAX) and not self.divergences

    @property
    def not_available(self) -> list[str]:
        """Diagnostics the sampler does not provide."""
        out = []
        if self.divergences is None:
            out.append("divergences")
        if self.saturated_draws is None:
            out.append("tree depth")
        return out

    @property
    def label(self) -> str:
        return fit_label(self.case, self.frontend, self.sampler, self.route)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["converged"] = self.converged
        out["not_available"] = self.not_available
        return json_safe(out)

    def __str__(self) -> str:
        from glmcheck.report import fit_table_text

        return fit_table_text(self)


def _worst(values, pick) -> float:
    values = [float(v) for v in values]
    if any(math.isnan(v) for v in values):
        return math.nan
    return pick(values)


def json_safe(obj):
    """JSON has no NaN or infinity: NaN becomes null, ±inf the strings "inf" and "-inf"."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    return obj


def flat_elements(ds, name):
    """(label, 1-D draws per chain) for every element of a scalar or vector parameter."""
    var = ds[name]
    extra = [d for d in var.dims if d not in ("chain", "draw")]
    if not extra:
        yield name, var
        return
    stacked = var.stack(_element=extra)
    for i in range(stacked.sizes["_element"]):
        index = stacked["_element"].values[i]
        index = index if isinstance(index, tuple) else (index,)
        yield f"{name}[{', '.join(str(v) for v in index)}]", stacked.isel(_element=i)


def summarize(posterior: Posterior, settings: dict | None = None) -> FitResult:
    """Summary statistics and diagnostics of a posterior (ArviZ does the diagnostics).

    ``settings``: what was asked for. The result records what the sampler ran with
    (:attr:`Posterior.settings`) where the posterior knows it, and what was asked in
    ``requested`` where the two differ.
    """
    ds = posterior.draws
    ess_bulk = compat.ess(ds, method="bulk")
    ess_tail = compat.ess(ds, method="tail")
    r_hat = compat.rhat(ds)
    mcse_mean = compat.mcse(ds, method="mean")
    params = []
    for name in ds.data_vars:
        native = posterior.native_names.get(name, name)
        diag = {
            "ess_bulk": list(flat_values(ess_bulk, name)),
            "ess_tail": list(flat_values(ess_tail, name)),
            "r_hat": list(flat_values(r_hat, name)),
            "mcse_mean": list(flat_values(mcse_mean, name)),
        }
        for i, (label, draws) in enumerate(flat_elements(ds, name)):
            values = np.asarray(draws).ravel()
            q05, q95 = np.quantile(values, INTERVAL)
            params.append(
                ParamSummary(
                    name=label,
                    native=label.replace(name, native, 1),
                    mean=float(values.mean()),
                    sd=float(values.std(ddof=1)),
                    q05=float(q05),
                    q95=float(q95),
                    **{k: float(v[i]) for k, v in diag.items()},
                )
            )
    asked = dict(settings) if settings else None
    if posterior.settings is not None:
        ran = dict(posterior.settings)
    else:
        ran = {**(asked or {}), "chains": posterior.chains, "draws": posterior.n_draws}
    differs = asked is not None and any(ran.get(k) != v for k, v in asked.items())
    return FitResult(
        case=posterior.case,
        frontend=posterior.frontend,
        sampler=posterior.sampler,
        seed=posterior.seed,
        settings=ran,
        params=params,
        divergences=posterior.divergences,
        gradient_evals=posterior.gradient_evals,
        timing=posterior.timing.to_dict(),
        max_tree_depth=posterior.max_tree_depth,
        saturated_draws=posterior.saturated_draws,
        requested=asked if differs else None,
        route=posterior.route,
        behaviour=behaviour(posterior, min(p.ess_bulk for p in params) if params else math.nan),
    )


def behaviour(posterior: Posterior, ess_bulk: float) -> dict:
    """How the sampler behaved: what a sampler or adaptation change moves.

    Per run: ``divergences``, ``grad_per_draw`` (leapfrog steps, i.e. gradient evaluations,
    per draw), ``ess_per_grad`` (the smallest bulk ESS over parameters per gradient
    evaluation), ``step_size`` and ``tree_depth`` (means over draws). ``chains`` holds the same
    per chain (each chain's ESS from that chain alone), the noise a comparison needs. A value
    the sampler does not report is None (not available), never zero.
    """
    stats = posterior.stats
    n_chains = posterior.chains

    def per_chain(name):
        if name not in stats:
            return None
        values = np.asarray(stats[name].transpose("chain", "draw").values, dtype=float)
        return values

    steps, div = per_chain("n_steps"), per_chain("diverging")
    step, depth = per_chain("step_size"), per_chain("tree_depth")
    chains: dict = {}
    if div is not None:
        chains["divergences"] = [int(np.count_nonzero(row != 0)) for row in div]
    if steps is not None:
        chains["grad_per_draw"] = [float(row.mean()) for row in steps]
        ess = [float(min(np.min(np.atleast_1d(v.values)) for v in
                         compat.ess(posterior.draws.isel(chain=[c]), method="bulk").data_vars.values()))
               for c in range(n_chains)]
        chains["ess_per_grad"] = [e / row.sum() if row.sum() > 0 else math.nan
                                  for e, row in zip(ess, steps)]
    if step is not None:
        chains["step_size"] = [float(row.mean()) for row in step]
    if depth is not None:
        chains["tree_depth"] = [float(row.mean()) for row in depth]
    grads = posterior.gradient_evals
    return {
        "divergences": posterior.divergences,
        "draws": n_chains * posterior.n_draws,
        "grad_per_draw": None if steps is None else float(steps.mean()),
        "ess_per_grad": None if not grads else float(ess_bulk) / grads,
        "step_size": None if step is None else float(step.mean()),
        "tree_depth": None if depth is None else float(depth.mean()),
        "chains": chains,
    }


def flat_values(diag_ds, name):
    """A diagnostic's values for every element of a parameter, in flat_elements order."""
    var = diag_ds[name]
    return np.asarray(var.values, dtype=float).ravel() if var.ndim else [float(var.values)]
