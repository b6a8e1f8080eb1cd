"""The result of a check: plain data, JSON-able, printable. A failed check is a result."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from glmcheck import compat
from glmcheck.results import json_safe

__all__ = ["CheckResult"]


@dataclass(kw_only=True)
class CheckResult:
    """What was checked, with which numbers and threshold, and the verdict."""

    #: check kind: convergence, exact, agreement, recovery, coverage
    check: str
    case: str
    frontends: list[str]
    samplers: list[str]
    passed: bool
    #: one line saying what happened
    message: str
    #: the threshold and where it comes from
    threshold: dict
    #: per parameter (and statistic) numbers; each row has a ``passed`` flag
    rows: list[dict] = field(default_factory=list)
    #: any extra numbers (e.g. coverage counts)
    details: dict = field(default_factory=dict)
    versions: dict = field(default_factory=compat.versions)
    #: the sampling route where it is not glmcheck's compile-once one (``"public"``)
    route: str | None = None

    @property
    def subject(self) -> str:
        parts = [self.case, " vs ".join(self.frontends), " vs ".join(self.samplers)]
        if self.route and self.route != "compiled":
            parts.append(self.route)
        return " · ".join(parts)

    @property
    def worst(self) -> list[dict]:
        """The failing rows (all rows if none fail, for display)."""
        bad = [r for r in self.rows if not r.get("passed", True)]
        return bad or self.rows

    def to_dict(self) -> dict:
        out = asdict(self)
        out["subject"] = self.subject
        return json_safe(out)

    def __str__(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        lines = [f"{verdict} {self.check}: {self.subject} — {self.message}"]
        lines.append(f"  threshold: {self.threshold.get('rule', self.threshold)}")
        for row in self.rows if not self.passed else []:
            if not row.get("passed", True):
                lines.append("  " + ", ".join(f"{k}={_short(v)}" for k, v in row.items()))
        return "\n".join(lines)


def _short(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return value

