"""The one place that turns a request (cases × frontends × samplers) into Results.

The CLI and the pytest plugin are thin shells over :func:`run_fits`. Everything a request
names is resolved and validated before any model is compiled, so bad input fails in a second
with a one-line error instead of after minutes of sampling.

A fit that fails (a sampler or library raises, or returns unusable draws) is a finding, not the
end of the run: it is yielded as a :class:`FitFailure` and the remaining fits and checks go on.
Only bad input (:class:`~glmcheck.errors.UsageError`) and bugs (glmcheck's or a plugin's) stop a
run.
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
from glmcheck.errors import FitError, UsageError
from glmcheck.fitters import FitSettings, Fitter, get_fitter, require
from glmcheck.frontends import FRONTENDS, ModelSpec, build
from glmcheck.posterior import Posterior, fit_label
from glmcheck.results import FitResult, summarize

__all__ = [
    "FitRequest", "FitOutcome", "FitFailure", "Skipped", "CheckRequest", "run_fits", "run_checks",
]

#: seeds are handed to numpy's SeedSequence and to every sampler, some of which take 32 bits
SEED_MAX = 2**32 - 1


@dataclass(kw_only=True)
class FitRequest:
    cases: Sequence[str | Case] = ("linear",)
    frontends: Sequence[str] = FRONTENDS
    samplers: Sequence[str] = ("nutpie",)
    #: ``"compiled"`` (compile once, refit) and/or ``"public"`` (the routes users call)
    routes: Sequence[str] = ("compiled",)
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
        seed = self.seed
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not (
            0 <= seed <= SEED_MAX
        ):
            raise UsageError(f"expected 0 <= seed <= {SEED_MAX} but got seed={seed!r}")
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
        if not self.routes:
            raise UsageError("a request needs at least one route")
        fitters = [get_fitter(s, r) for r in self.routes for s in self.samplers]
        fitters = list(dict.fromkeys(fitters))  # a user's fitter is the same on every route
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

    @property
    def case_name(self) -> str:
        return self.case.name


@dataclass(kw_only=True)
class FitFailure:
    """A fit that could not be made: the model did not build, did not compile, or the sampler
    raised or returned unusable draws. Reported like a result; the run goes on."""

    case: str
    frontend: str
    sampler: str
    #: where it failed: build, compile, sample, or "coverage simulation k"
    stage: str
    error: str
    route: str = "compiled"

    @property
    def case_name(self) -> str:
        return self.case

    @property
    def label(self) -> str:
        return fit_label(self.case, self.frontend, self.sampler, self.route)

    def to_dict(self) -> dict:
        return {"case": self.case, "frontend": self.frontend, "sampler": self.sampler,
                "route": self.route, "status": "failed", "stage": self.stage,
                "error": self.error}


@dataclass(kw_only=True)
class Skipped:
    """A check that was asked for but does not apply to one subject, and why."""

    check: str
    subject: str
    reason: str

    def to_dict(self) -> dict:
        return {"check": self.check, "subject": self.subject, "reason": self.reason}


ProgressHook = Callable[[str, str], None]


def run_fits(
    request: FitRequest, progress: ProgressHook | None = None
) -> Iterator[FitOutcome | FitFailure]:
    """Fit every case × frontend × sampler of ``request``; yields as each fit finishes.

    A fit that fails yields a :class:`FitFailure` and the others go on. ``progress(label,
    stage)`` is called with stage ``"compile"`` and ``"sample"`` before the long steps.
    """
    cases, fitters = request.resolve()
    say = progress or (lambda label, stage: None)
    for case in cases:
        data = request.data if request.data is not None else case.reference_data()
        truth = None if request.data is not None else dict(case.true_params)
        settings = request.settings_for(case)
        for frontend in request.frontends:
            try:
                spec = build(case, frontend, data)
            except FitError as exc:
                for cls in fitters:
                    yield FitFailure(case=case.name, frontend=frontend, sampler=cls.name,
                                     route=cls.route, stage="build", error=str(exc))
                continue
            for cls in fitters:
                label = fit_label(case.name, frontend, cls.name, cls.route)
                stage = "compile"
                try:
                    say(label, stage)
                    fitter = cls(spec, settings)
                    stage = "sample"
                    say(label, stage)
                    posterior = fitter.fit(seed=request.seed)
                except FitError as exc:
                    yield FitFailure(case=case.name, frontend=frontend, sampler=cls.name,
                                     route=cls.route, stage=stage, error=str(exc))
                    continue
                result = summarize(posterior, settings.to_dict())
                yield FitOutcome(
                    case=case, data=data, truth=truth, spec=spec, fitter=fitter,
                    posterior=posterior, result=result,
                )


@dataclass(kw_only=True)
class CheckRequest(FitRequest):
    checks: Sequence[str] = CHECKS
    #: the user named the checks (``--check``): one that applies to nothing is bad input
    explicit_checks: bool = False
    #: prior simulations of the coverage check
    coverage_sets: int = 20
    #: family false-alarm rate of each check
    alpha: float = ALPHA

    def resolve(self):
        unknown = [c for c in self.checks if c not in CHECKS]
        if unknown:
            raise UsageError(f"unknown check {unknown[0]!r}; choose from {', '.join(CHECKS)}")
        if not self.checks:
            raise UsageError("a check request needs at least one check")
        if self.coverage_sets < 0 or self.coverage_sets in (1, 2):
            raise UsageError(
                f"expected --coverage-sets 0 (off) or at least 3 (the spread of fewer z-scores "
                f"cannot be tested) but got {self.coverage_sets}"
            )
        if not 0 < self.alpha < 1:
            raise UsageError(f"expected 0 < alpha < 1 but got alpha={self.alpha}")
        return super().resolve()

    def plan(self) -> tuple[dict[str, object], list[Skipped]]:
        """Which asked-for checks apply to which case, before any fit.

        Returns each case's exact reference posterior (None where it has none or ``exact`` was
        not asked for) and the checks skipped, with the reason. A check the user named that
        applies to no subject of the request is bad input: nothing would be checked, and a
        run that checks nothing must not read as a pass.
        """
        cases, _ = self.resolve()
        wanted = set(self.checks)
        exact: dict[str, object] = {}
        skipped: list[Skipped] = []
        pairs = len(self.frontends) > 1 or len(self.samplers) > 1
        for case in cases:
            data = self.data if self.data is not None else case.reference_data()
            exact[case.name] = case.exact_posterior(data) if "exact" in wanted else None
            reasons = {
                "exact": None if exact[case.name] is not None else
                "the case has no exact reference posterior (only Gaussian linear models with "
                "Normal coefficient priors have one)",
                "recovery": "the true parameters of a user's data set are unknown"
                if self.data is not None else None,
                "coverage": "the true parameters of a user's data set are unknown"
                if self.data is not None else
                "--coverage-sets is 0" if not self.coverage_sets else None,
                "agreement": None if pairs else
                "one frontend and one sampler make one fit per case, and agreement compares two",
            }
            for check in self.checks:
                if reasons.get(check):
                    skipped.append(Skipped(check=check, subject=case.name, reason=reasons[check]))
        if self.explicit_checks:
            for check in self.checks:
                why = [s for s in skipped if s.check == check]
                if len(why) == len(cases):
                    raise UsageError(
                        f"check {check!r} applies to nothing in this request "
                        f"(cases {', '.join(c.name for c in cases)}): {why[0].reason}"
                    )
        return exact, skipped


def run_checks(
    request: CheckRequest, progress: ProgressHook | None = None
) -> Iterator[FitOutcome | FitFailure | CheckResult | Skipped]:
    """Fit as :func:`run_fits` does and check every fit; yields fits, failed fits, check
    results and the checks skipped (first, for the whole request; later, for failed fits).

    Per fit: convergence, exact (where the case has an exact reference), recovery and
    coverage (where the true parameters are known). Per case, once all its fits are done:
    agreement between frontends (same sampler) and between samplers (same frontend).
    """
    exact_by_case, skipped = request.plan()
    yield from skipped
    say = progress or (lambda label, stage: None)
    wanted = set(request.checks)
    alpha = request.alpha
    current: list[FitOutcome | FitFailure] = []
    prior_vars: dict[str, dict] = {}
    for outcome in run_fits(request, progress):
        if current and current[0].case_name != outcome.case_name:
            yield from _agreement(current, wanted, alpha)
            current = []
        current.append(outcome)
        yield outcome
        if isinstance(outcome, FitFailure):
            continue
        case, post = outcome.case, outcome.posterior
        if outcome.truth is not None and case.name not in prior_vars:  # once per case
            prior_vars[case.name] = case.prior_variance()
        if "convergence" in wanted:
            yield check_convergence(post, summary=outcome.result)
        exact = exact_by_case.get(case.name)
        if exact is not None:
            yield check_exact(post, exact, alpha=alpha)
        if outcome.truth is None:
            continue
        if "recovery" in wanted:
            yield check_recovery(post, outcome.truth, prior_vars[case.name], alpha=alpha)
        if "coverage" in wanted and request.coverage_sets:
            yield from _coverage(request, outcome, say)
    yield from _agreement(current, wanted, alpha)


def _coverage(request: CheckRequest, outcome: FitOutcome, say) -> Iterator:
    """K simulations of prior SBC (the first K of ``glmcheck sbc`` with the same seed and
    settings), refitting the fit's compiled model, and their calibration test."""
    from glmcheck.sbc import (
        DEFAULT_FIT, DEFAULT_THIN, _Failed, element_labels, simulation_ranks, simulation_seeds,
    )

    case, result, fitter = outcome.case, outcome.result, outcome.fitter
    say(result.label, f"coverage over {request.coverage_sets} prior simulations")
    # SBC's settings where the compiled model can refit with them; else the fit's own
    settings = FitSettings(**DEFAULT_FIT) if fitter.refit_settings else None
    design = case.design()
    sims, labels = [], None
    for k in range(request.coverage_sets):
        sim_rng, fit_seed, rank_rng = simulation_seeds(request.seed, k)
        theta = case.draw_params(sim_rng)
        y = case.simulate(theta, design, sim_rng)
        try:
            post = fitter.fit(y, seed=fit_seed, settings=settings)
        except FitError as exc:
            yield FitFailure(case=case.name, frontend=result.frontend, sampler=result.sampler,
                             route=result.route, stage=f"coverage simulation {k}", error=str(exc))
            yield Skipped(check="coverage", subject=result.label,
                          reason=f"the fit of coverage simulation {k} failed")
            return
        labels = labels or element_labels(case, post)
        try:
            sims.append(simulation_ranks(case, design, theta, y, post, thin=DEFAULT_THIN,
                                         rng=rank_rng, labels=labels))
        except _Failed as exc:
            sims.append({"ok": False, "error": str(exc)})
    yield check_coverage(sims, case=case.name, frontend=result.frontend, sampler=result.sampler,
                         route=result.route, seed=request.seed, alpha=request.alpha)


def _agreement(outcomes: list, wanted, alpha) -> Iterator[CheckResult | Skipped]:
    """Agreement between frontends (same sampler) and samplers (same frontend) of one case."""
    if "agreement" not in wanted:
        return
    keys = {(o.frontend, o.sampler) if isinstance(o, FitFailure)
            else (o.posterior.frontend, o.posterior.sampler): o for o in outcomes}
    for (fa, sa), (fb, sb) in itertools.combinations(keys, 2):
        if fa != fb and sa != sb:
            continue
        a, b = keys[fa, sa], keys[fb, sb]
        failed = [o for o in (a, b) if isinstance(o, FitFailure)]
        if failed:
            case = failed[0].case
            yield Skipped(
                check="agreement",
                subject=f"{case} · {' vs '.join(dict.fromkeys([fa, fb]))} · "
                        f"{' vs '.join(dict.fromkeys([sa, sb]))}",
                reason=f"the fit {failed[0].label} failed",
            )
            continue
        yield check_agreement(a.posterior, b.posterior, alpha=alpha)
