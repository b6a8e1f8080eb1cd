"""Convergence gates: rank-normalized R-hat, bulk and tail ESS, divergences, E-BFMI.

Thresholds are the field's conventions (Vehtari et al. 2021; Betancourt 2016), not tuned here.
ArviZ computes every diagnostic.
"""

from __future__ import annotations

from glmcheck import compat
from glmcheck.checks._estimates import require_finite
from glmcheck.checks.result import CheckResult
from glmcheck.posterior import Posterior
from glmcheck.results import FitResult, summarize

RHAT_MAX = 1.01
ESS_MIN = 400
EBFMI_MIN = 0.3


def check_convergence(
    posterior: Posterior,
    *,
    summary: FitResult | None = None,
    rhat_max: float = RHAT_MAX,
    ess_min: float = ESS_MIN,
    ebfmi_min: float = EBFMI_MIN,
) -> CheckResult:
    """``summary``: the posterior's :func:`~glmcheck.results.summarize`, if already computed."""
    require_finite(posterior)
    summary = summary or summarize(posterior)
    rows = []
    for p in summary.params:
        ok = p.r_hat <= rhat_max and p.ess_bulk >= ess_min and p.ess_tail >= ess_min
        rows.append(
            {"param": p.name, "r_hat": p.r_hat, "ess_bulk": p.ess_bulk, "ess_tail": p.ess_tail,
             "passed": bool(ok)}
        )
    ebfmi = compat.bfmi(posterior.stats) if "energy" in posterior.stats else []
    problems = []
    bad_rows = [r["param"] for r in rows if not r["passed"]]
    if bad_rows:
        problems.append(f"R-hat/ESS out of bounds for {', '.join(bad_rows)}")
    if posterior.divergences:
        problems.append(f"{posterior.divergences} divergent transitions")
    low = [round(v, 3) for v in ebfmi if v < ebfmi_min]
    if low:
        problems.append(f"E-BFMI {low} < {ebfmi_min}")
    worst_rhat = max(r["r_hat"] for r in rows)
    worst_ess = min(min(r["ess_bulk"], r["ess_tail"]) for r in rows)
    message = "; ".join(problems) if problems else (
        f"max R-hat {worst_rhat:.3f}, min ESS {worst_ess:.0f}, no divergences"
        + (f", min E-BFMI {min(ebfmi):.2f}" if ebfmi else "")
    )
    return CheckResult(
        check="convergence",
        case=posterior.case,
        frontends=[posterior.frontend],
        samplers=[posterior.sampler],
        passed=not problems,
        message=message,
        threshold={
            "rule": f"R-hat <= {rhat_max}, bulk and tail ESS >= {ess_min}, no divergences, "
                    f"E-BFMI >= {ebfmi_min} (conventions of Vehtari et al. 2021)",
            "rhat_max": rhat_max, "ess_min": ess_min, "ebfmi_min": ebfmi_min,
        },
        rows=rows,
        details={"divergences": posterior.divergences, "ebfmi": ebfmi},
    )
