"""Checks: pure functions of posteriors (and the case) that return a CheckResult.

A failing check is a result with ``passed=False`` and a message, never an exception; only bad
input (a missing variable, mismatched parameter maps, NaN draws) raises UsageError.
"""

from glmcheck.checks.compare import ALPHA, check_agreement, check_exact
from glmcheck.checks.convergence import check_convergence
from glmcheck.checks.recovery import check_coverage, check_recovery
from glmcheck.checks.result import CheckResult

__all__ = [
    "ALPHA",
    "CHECKS",
    "CheckResult",
    "check_agreement",
    "check_convergence",
    "check_coverage",
    "check_exact",
    "check_recovery",
]

#: Check kinds the runner knows, in the order they run.
CHECKS = ("convergence", "exact", "recovery", "coverage", "agreement")
