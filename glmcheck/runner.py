"""The one place that turns a request (cases × frontends × samplers) into Results.

The CLI and the pytest plugin are thin shells over :func:`run_fits`. Everything a request
names is resolved and validated before any model is compiled, so bad input fails in a second
with a one-line error instead of after minutes of sampling.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import pandas as pd

from glmcheck.cases import Case, get_case
from glmcheck.errors import UsageError
from glmcheck.fitters import FitSettings, get_fitter, require
from glmcheck.frontends import FRONTENDS, ModelSpec, build
from glmcheck.posterior import Posterior
from glmcheck.results import FitResult, summarize

__all__ = ["FitRequest", "FitOutcome", "run_fits"]


@dataclass(kw_only=True)
class FitRequest:
    cases: Sequence[str | Case] = ("linear",)
    frontends: Sequence[str] = FRONTENDS
    samplers: Sequence[str] = ("nutpie",)
    settings: FitSettings = field(default_factory=FitSettings)
    seed: int = 8927
    #: a user data set (one case only); default: each case's reference data
    data: pd.DataFrame | None = None

    def resolve(self) -> tuple[list[Case], list[type]]:
        """Resolve and validate every name; raise UsageError before any work is done."""
        if not self.cases or not self.frontends or not self.samplers:
            raise UsageError("a request needs at least one case, one frontend and one sampler")
        cases = [get_case(c) for c in self.cases]
        bad = [f for f in self.frontends if f not in FRONTENDS]
        if bad:
            raise UsageError(f"unknown frontend {bad[0]!r}; choose from {', '.join(FRONTENDS)}")
        fitters = [get_fitter(s) for s in self.samplers]
        for cls in fitters:
            require(cls.requires, cls.name)
        if self.data is not None:
            if len(cases) != 1:
                raise UsageError("a data set can be given for one case only")
            cases[0].validate_data(self.data, source="data")
        return cases, fitters


@dataclass(kw_only=True)
class FitOutcome:
    case: Case
    data: pd.DataFrame
    truth: dict | None
    spec: ModelSpec
    posterior: Posterior
    result: FitResult


ProgressHook = Callable[[str, str], None]


def run_fits(request: FitRequest, progress: ProgressHook | None = None) -> Iterator[FitOutcome]:
    """Fit every case × frontend × sampler of ``request``; yields as each fit finishes.

    ``progress(label, stage)`` is called with stage ``"compile"`` and ``"sample"`` before the
    long steps.
    """
    cases, fitters = request.resolve()
    say = progress or (lambda label, stage: None)
    for case in cases:
        data = request.data if request.data is not None else case.reference_data()
        truth = None if request.data is not None else dict(case.true_params)
        for frontend in request.frontends:
            spec = build(case, frontend, data)
            for cls in fitters:
                label = f"{case.name} · {frontend} · {cls.name}"
                say(label, "compile")
                fitter = cls(spec, request.settings)
                say(label, "sample")
                posterior = fitter.fit(seed=request.seed)
                result = summarize(posterior, {**request.settings.to_dict()})
                yield FitOutcome(
                    case=case, data=data, truth=truth, spec=spec, posterior=posterior,
                    result=result,
                )
