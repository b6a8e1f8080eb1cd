"""The one place that turns a request (cases × frontends × samplers) into Results.

The CLI and the pytest plugin are thin shells over :func:`run_fits`. Everything a request
names is resolved and validated before any model is compiled, so bad input fails in a second
with a one-line error instead of after minutes of sampling.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from glmcheck.cases import Case, get_case
from glmcheck.checks import (
    ALPHA, CHECKS, CheckResult, check_agreement, check_convergence, check_coverage, check_exact,
    check_recovery,
)
from glmcheck.errors import UsageError
from glmcheck.fitters import FitSettings, Fitter, get_fitter, require
from glmcheck.frontends import FRONTENDS, ModelSpec, build
from glmcheck.posterior import Posterior
from glmcheck.results import FitResult, summarize

__all__ = ["FitRequest", "FitOutcome", "CheckRequest", "run_fits", "run_checks"]


@dataclass(kw_only=True)
class FitRequest:
    cases: Sequence[str | Case] = ("linear",)
    frontends: Sequence[str] = FRONTENDS
    samplers: Sequence[str] = ("nutpie",)
    settings: FitSettings = field(default_factory=FitSettings)
    #: settings the user chose: a case's own :attr:`~glmcheck.cases.Case.fit_settings` never
    #: override these
    explicit: frozenset[str] = frozenset()
    seed: int = 8927
    #: a user data set (one case only); default: each case's reference data
    data: pd.DataFrame | None = None

    def settings_for(self, case: Case) -> FitSettings:
        """The request's settings with the case's own fit settings where the user chose none."""
        own = {k: v for k, v in case.fit_settings.items() if k not in self.explicit}
        return replace(self.settings, **own) if own else self.settings

    def resolve(self) -> tuple[list[Case], list[type]]:
        """Resolve and validate every name; raise UsageError before any work is done."""
        if not self.cases or not self.frontends or not self.samplers:
            raise UsageError("a request needs at least one case, one frontend and one sampler")
        cases = [get_case(c) for c in self.cases]
        for case in cases:
            try:
                self.settings_for(case)
            except TypeError as exc:
                raise UsageError(
                    f"case {case.name!r}: fit_settings may set chains, tune, draws and "
                    f"target_accept only ({exc})"
                ) from None
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
    fitter: Fitter
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
        settings = request.settings_for(case)
        for frontend in request.frontends:
            spec = build(case, frontend, data)
            for cls in fitters:
                label = f"{case.name} · {frontend} · {cls.name}"
                say(label, "compile")
                fitter = cls(spec, settings)
                say(label, "sample")
                posterior = fitter.fit(seed=request.seed)
                result = summarize(posterior, settings.to_dict())
                yield FitOutcome(
                    case=case, data=data, truth=truth, spec=spec, fitter=fitter,
                    posterior=posterior, result=result,
                )


@dataclass(kw_only=True)
class CheckRequest(FitRequest):
    checks: Sequence[str] = CHECKS
    #: data sets simulated at the true parameters for the coverage check
    coverage_sets: int = 20
    #: family false-alarm rate of each check
    alpha: float = ALPHA

    def resolve(self):
        unknown = [c for c in self.checks if c not in CHECKS]
        if unknown:
            raise UsageError(f"unknown check {unknown[0]!r}; choose from {', '.join(CHECKS)}")
        if self.coverage_sets < 0:
            raise UsageError(f"expected coverage data sets >= 0 but got {self.coverage_sets}")
        if not 0 < self.alpha < 1:
            raise UsageError(f"expected 0 < alpha < 1 but got alpha={self.alpha}")
        return super().resolve()


def run_checks(
    request: CheckRequest, progress: ProgressHook | None = None
) -> Iterator[FitOutcome | CheckResult]:
    """Fit as :func:`run_fits` does and check every fit; yields fits and check results.

    Per fit: convergence, exact (where the case has an exact reference), recovery and
    coverage (where the true parameters are known). Per case, once all its fits are done:
    agreement between frontends (same sampler) and between samplers (same frontend).
    """
    request.resolve()
    say = progress or (lambda label, stage: None)
    wanted = set(request.checks)
    alpha = request.alpha
    current: list[FitOutcome] = []
    exact = prior_var = None
    for outcome in run_fits(request, progress):
        case, post = outcome.case, outcome.posterior
        if current and current[0].case is not case:
            yield from _agreement(current, wanted, alpha)
            current = []
        if not current:  # first fit of this case: its case-level references, once
            exact = case.exact_posterior(outcome.data) if "exact" in wanted else None
            prior_var = case.prior_variance() if outcome.truth is not None else None
        current.append(outcome)
        yield outcome
        if "convergence" in wanted:
            yield check_convergence(post, summary=outcome.result)
        if exact is not None:
            yield check_exact(post, exact, alpha=alpha)
        if outcome.truth is None:
            continue
        if "recovery" in wanted:
            yield check_recovery(post, outcome.truth, prior_var, alpha=alpha)
        if "coverage" in wanted and request.coverage_sets:
            say(outcome.result.label, f"coverage over {request.coverage_sets} data sets")
            rng = np.random.default_rng(request.seed)
            design = outcome.data[list(case.predictors)]
            fits = [
                outcome.fitter.fit(case.simulate(outcome.truth, design, rng), seed=request.seed + 1 + k)
                for k in range(request.coverage_sets)
            ]
            yield check_coverage(fits, outcome.truth, alpha=alpha)
    yield from _agreement(current, wanted, alpha)


def _agreement(outcomes: list[FitOutcome], wanted, alpha) -> Iterator[CheckResult]:
    """Agreement between frontends (same sampler) and samplers (same frontend) of one case."""
    if "agreement" not in wanted:
        return
    posts = {(o.posterior.frontend, o.posterior.sampler): o.posterior for o in outcomes}
    for (fa, sa), (fb, sb) in itertools.combinations(posts, 2):
        if fa == fb or sa == sb:
            yield check_agreement(posts[fa, sa], posts[fb, sb], alpha=alpha)
