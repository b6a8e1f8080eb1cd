"""Convergence gates: rank-normalized R-hat, bulk and tail ESS, divergences, E-BFMI, tree depth.

Thresholds are the field's conventions (Vehtari et al. 2021; Betancourt 2016), not tuned here.
ArviZ computes R-hat, ESS and E-BFMI.

Gates and what they need:

========================  ===============================================  ===================
gate                      fails when                                       needs
========================  ===============================================  ===================
R-hat / ESS               any parameter's R-hat > 1.01 or bulk/tail ESS    the draws
                          < 400, or any of them is NaN
divergences               any divergent transition (a NaN flag counts)     ``diverging``
E-BFMI                    any chain's E-BFMI < 0.3, or NaN                 ``energy``
tree depth                any post-warm-up draw reached the sampler's      ``tree_depth`` and
                          maximum tree depth (a NaN depth counts)          ``max_tree_depth``
========================  ===============================================  ===================

A diagnostic computed as NaN fails its gate. A diagnostic the sampler does not provide (a user
sampler without an ``energy`` statistic, say) is *not available*: it is neither passed nor
failed. The verdict is then decided by the gates that were computed, and every gate that was
not is named in ``details["not_available"]``, in ``details["gates"]`` (as ``"not available"``)
and in the message, so that it never reads as passed.

The tree-depth rule: NUTS stops a trajectory at a U-turn or at the maximum depth; a draw at the
maximum was (possibly) cut short, which leaves the chain exploring by slow random walk.
Stan and ArviZ warn on *any* such draw; here any such draw fails (``max_saturated=0``). That
rule gives no false alarms on the zoo's correct models because none of them comes near the
limit. Measured 2026-12-01 on the current stack at ``glmcheck check``'s settings (4 chains ×
(1000 + 1000), target_accept 0.8; varying_intercept 2000 draws at 0.95), the deepest draw (in
the convention of :data:`~glmcheck.posterior.STAT_NAMES`) over the reference data and simulated
data sets (nutpie 5 per case × frontend, the others 2), of a maximum of 10:

=================  ======  ====  =======  ========
case               nutpie  pymc  numpyro  blackjax
=================  ======  ====  =======  ========
linear             4       5     5        5
polynomial         4       4     6        6
logistic           3       3     5        5
poisson            3       3     4        4
negbinomial        3       3     5        5
shrinkage          3       4     3        3
varying_intercept  5       6     6        6
=================  ======  ====  =======  ========

At most 63 leapfrog steps where depth 10 needs 512 or more, and past the commonest depth the
number of draws falls by a factor of 6 or more per level: a draw at depth 10 on these models is a
finding (a broken step-size adaptation or mass matrix, a pathological posterior), not noise.
"""

from __future__ import annotations

import math

import numpy as np

from glmcheck import compat
from glmcheck.checks._estimates import require_finite
from glmcheck.checks.result import CheckResult
from glmcheck.posterior import Posterior
from glmcheck.results import FitResult, summarize

RHAT_MAX = 1.01
ESS_MIN = 400
EBFMI_MIN = 0.3
#: draws at the maximum tree depth a fit may have and pass (see the module docstring)
MAX_SATURATED = 0

NOT_AVAILABLE = "not available"


def _ebfmi(posterior: Posterior) -> list[float] | None:
    """E-BFMI per chain; None when the sampler reports no ``energy``; NaN for a chain with a
    non-finite energy (whatever the ArviZ version makes of it)."""
    if "energy" not in posterior.stats:
        return None
    values = compat.bfmi(posterior.stats)
    energy = np.asarray(posterior.stats["energy"].transpose("chain", "draw").values, dtype=float)
    finite = np.isfinite(energy).all(axis=1)
    return [float(v) if ok else math.nan for v, ok in zip(values, finite)]


def check_convergence(
    posterior: Posterior,
    *,
    summary: FitResult | None = None,
    rhat_max: float = RHAT_MAX,
    ess_min: float = ESS_MIN,
    ebfmi_min: float = EBFMI_MIN,
    max_saturated: int = MAX_SATURATED,
) -> CheckResult:
    """Every gate of the module docstring on one posterior.

    ``summary``: the posterior's :func:`~glmcheck.results.summarize`, if already computed.
    ``max_saturated``: how many draws may reach the maximum tree depth (default 0).
    """
    require_finite(posterior)
    summary = summary or summarize(posterior)
    rows = []
    for p in summary.params:
        # a NaN compares False: a NaN R-hat or ESS fails its row
        ok = p.r_hat <= rhat_max and p.ess_bulk >= ess_min and p.ess_tail >= ess_min
        rows.append(
            {"param": p.name, "r_hat": p.r_hat, "ess_bulk": p.ess_bulk, "ess_tail": p.ess_tail,
             "passed": bool(ok)}
        )
    gates: dict[str, str] = {}
    problems: list[str] = []
    missing: dict[str, str] = {}

    nan_rows = [r["param"] for r in rows
                if any(math.isnan(r[k]) for k in ("r_hat", "ess_bulk", "ess_tail"))]
    bad_rows = [r["param"] for r in rows if not r["passed"] and r["param"] not in nan_rows]
    if nan_rows:
        problems.append(f"R-hat/ESS is NaN for {', '.join(nan_rows)}")
    if bad_rows:
        problems.append(f"R-hat/ESS out of bounds for {', '.join(bad_rows)}")
    gates["R-hat/ESS"] = "failed" if nan_rows or bad_rows else "passed"

    divergences = posterior.divergences
    if divergences is None:
        gates["divergences"] = NOT_AVAILABLE
        missing["divergences"] = "no 'diverging' statistic"
    elif divergences:
        gates["divergences"] = "failed"
        problems.append(f"{divergences} divergent transitions")
    else:
        gates["divergences"] = "passed"

    ebfmi = _ebfmi(posterior)
    if ebfmi is None:
        gates["E-BFMI"] = NOT_AVAILABLE
        missing["E-BFMI"] = "no 'energy' statistic"
    else:
        low = [round(v, 3) for v in ebfmi if not v >= ebfmi_min]  # NaN fails
        gates["E-BFMI"] = "failed" if low else "passed"
        if low:
            problems.append(f"E-BFMI {low} < {ebfmi_min}" if not any(map(math.isnan, low))
                            else f"E-BFMI {low}: NaN or < {ebfmi_min}")

    saturated = posterior.saturated_draws
    deepest = None
    if "tree_depth" in posterior.stats:
        depth = np.asarray(posterior.stats["tree_depth"].values, dtype=float)
        deepest = float(np.max(depth)) if np.isfinite(depth).all() else math.nan
    if saturated is None:
        gates["tree depth"] = NOT_AVAILABLE
        missing["tree depth"] = ("no 'tree_depth' statistic" if deepest is None
                                 else "the sampler does not say its maximum tree depth")
    elif saturated > max_saturated:
        gates["tree depth"] = "failed"
        total = posterior.chains * posterior.n_draws
        problems.append(
            f"{saturated} of {total} draws reached the maximum tree depth "
            f"{posterior.max_tree_depth}" + (" (or have a NaN depth)" if math.isnan(deepest) else "")
        )
    else:
        gates["tree depth"] = "passed"

    not_available = list(missing)
    if problems:
        message = "; ".join(problems)
    else:
        parts = [f"max R-hat {summary.max_rhat:.3f}", f"min ESS {summary.min_ess:.0f}"]
        if divergences is not None:
            parts.append("no divergences")
        if ebfmi is not None:
            parts.append(f"min E-BFMI {min(ebfmi):.2f}")
        if saturated is not None:
            parts.append(f"max tree depth {deepest:.0f} of {posterior.max_tree_depth}")
        message = ", ".join(parts)
    if not_available:
        message += "; not available (neither passed nor failed): " + ", ".join(
            f"{gate} ({why})" for gate, why in missing.items()
        )
    return CheckResult(
        check="convergence",
        case=posterior.case,
        frontends=[posterior.frontend],
        samplers=[posterior.sampler],
        route=posterior.route,
        passed=not problems,
        message=message,
        threshold={
            "rule": f"R-hat <= {rhat_max}, bulk and tail ESS >= {ess_min}, no divergences, "
                    f"E-BFMI >= {ebfmi_min}, at most {max_saturated} draws at the maximum tree "
                    "depth; NaN fails; gates the sampler cannot compute are listed as not "
                    "available (conventions of Vehtari et al. 2021, Betancourt 2016)",
            "rhat_max": rhat_max, "ess_min": ess_min, "ebfmi_min": ebfmi_min,
            "max_saturated": max_saturated,
        },
        rows=rows,
        details={
            "divergences": divergences,
            "ebfmi": ebfmi,
            "max_tree_depth": posterior.max_tree_depth,
            "deepest_draw": deepest,
            "saturated_draws": saturated,
            "gates": gates,
            "not_available": not_available,
        },
    )
