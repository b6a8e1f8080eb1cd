"""Profiles: named sets of settings, one registry behind ``glmcheck validate --profile`` and the
pytest plugin's ``--glmcheck-profile``.

A profile says what each verdict covers: the cases, frontends and samplers the checks fit, the
configurations and size of SBC, the samplers and routes of the baseline check, and whether
benchmarks run. ``glmcheck validate`` turns a profile into the commands it runs
(:meth:`Profile.steps`); the plugin uses its samplers, routes and SBC size for a user's own
cases. Every profile is checked when it is made; the registry is plain data, cheap to import.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Profile", "SBCPlan", "PROFILES", "get_profile", "SAMPLER_NAMES", "FRONTEND_NAMES",
           "ROUTE_NAMES", "Step"]

#: the built-in samplers (``glmcheck.fitters.SAMPLERS``), the frontends and the routes, named
#: here so that reading the registry imports nothing heavy (a test keeps them equal)
SAMPLER_NAMES = ("nutpie", "pymc", "numpyro", "blackjax")
FRONTEND_NAMES = ("pymc", "bambi")
ROUTE_NAMES = ("compiled", "public")


@dataclass(frozen=True)
class Step:
    """One command a profile runs: its name (the folder of its record) and its arguments."""

    name: str
    argv: tuple[str, ...]


def _names(owner: str, field_: str, allowed: tuple[str, ...], value) -> None:
    if not isinstance(value, tuple) or not value or not all(v in allowed for v in value):
        raise ValueError(f"{owner}: {field_} must be a non-empty tuple of "
                         f"{', '.join(allowed)}, not {value!r}")


def _cases(owner: str, field_: str, value) -> None:
    if value is not None and (not isinstance(value, tuple) or not value
                              or not all(isinstance(v, str) and v for v in value)):
        raise ValueError(f"{owner}: {field_} must be None (the zoo) or a non-empty tuple of "
                         f"case names, not {value!r}")


@dataclass(frozen=True, kw_only=True)
class SBCPlan:
    """One ``glmcheck sbc`` job of a profile: cases (None: the zoo) × frontends × samplers,
    ``simulations`` each."""

    cases: tuple[str, ...] | None
    frontends: tuple[str, ...]
    samplers: tuple[str, ...]
    simulations: int

    def __post_init__(self):
        _cases("SBC plan", "cases", self.cases)
        _names("SBC plan", "frontends", FRONTEND_NAMES, self.frontends)
        _names("SBC plan", "samplers", SAMPLER_NAMES, self.samplers)
        if isinstance(self.simulations, bool) or not isinstance(self.simulations, int) \
                or self.simulations < 1:
            raise ValueError(f"SBC plan: simulations must be >= 1, not {self.simulations!r}")


@dataclass(frozen=True, kw_only=True)
class Profile:
    """What one profile runs. ``cases=None`` is the whole built-in zoo."""

    name: str
    purpose: str
    #: the time it must fit in on a 2-core machine, in minutes (None: no limit)
    budget_minutes: int | None
    #: cases of the checks and of the baseline check
    cases: tuple[str, ...] | None
    frontends: tuple[str, ...] = FRONTEND_NAMES
    #: samplers of the baseline check (and of benchmarks)
    samplers: tuple[str, ...]
    #: samplers of the checks (None: the same as ``samplers``)
    check_samplers: tuple[str, ...] | None = None
    #: routes of the baseline check (and of benchmarks)
    routes: tuple[str, ...]
    #: the SBC jobs; the first is what the pytest plugin runs on a user's case
    sbc: tuple[SBCPlan, ...]
    bench: bool = False
    #: further options of ``glmcheck bench``
    bench_args: tuple[str, ...] = field(default=())
    #: draw the data, trace and regression-line figures of every check fit (for the report)
    figures: bool = True

    def __post_init__(self):
        owner = f"profile {self.name!r}"
        _names(owner, "frontends", FRONTEND_NAMES, self.frontends)
        _names(owner, "samplers", SAMPLER_NAMES, self.samplers)
        if self.check_samplers is not None:
            _names(owner, "check_samplers", SAMPLER_NAMES, self.check_samplers)
        _names(owner, "routes", ROUTE_NAMES, self.routes)
        _cases(owner, "cases", self.cases)
        if not isinstance(self.sbc, tuple) or not self.sbc \
                or not all(isinstance(p, SBCPlan) for p in self.sbc):
            raise ValueError(f"{owner}: sbc must be a non-empty tuple of SBCPlan")
        if self.budget_minutes is not None and self.budget_minutes <= 0:
            raise ValueError(f"{owner}: budget_minutes must be > 0")

    def steps(self, *, out: Path, samplers: tuple[str, ...] | None = None,
              simulations: int | None = None, baselines: Path | None = None,
              seed: int = 8927) -> list[Step]:
        """The commands of this profile, each writing its record into ``out/<step>``;
        ``samplers`` and ``simulations`` replace the profile's own (with ``samplers``, only
        the first SBC plan runs, with those samplers)."""
        def listed(flag: str, values) -> list[str]:
            return [] if values is None else [flag, ",".join(values)]

        common = ["--seed", str(seed)]
        steps = [Step("check", (
            "check", *listed("--case", self.cases), *listed("--frontend", self.frontends),
            *listed("--sampler", samplers or self.check_samplers or self.samplers), *common,
            *(["--figures"] if self.figures else []), "--out", str(out / "check")))]
        for i, plan in enumerate(self.sbc[:1] if samplers else self.sbc):
            name = "sbc" if i == 0 else f"sbc-{i + 1}"
            steps.append(Step(name, (
                "sbc", *listed("--case", plan.cases or ("all",)),
                *listed("--frontend", plan.frontends),
                *listed("--sampler", samplers or plan.samplers),
                "--simulations", str(simulations or plan.simulations), *common,
                "--stores", str(out / "sbc-stores"), "--out", str(out / name))))
        steps.append(Step("baseline", (
            "baseline", "check", *listed("--case", self.cases),
            *listed("--frontend", self.frontends),
            *listed("--sampler", samplers or self.samplers), *listed("--route", self.routes),
            *common, *(["--baselines", str(baselines)] if baselines else []),
            "--out", str(out / "baseline"))))
        if self.bench:
            steps.append(Step("bench", (
                "bench", *listed("--case", self.cases or ("all",)),
                *listed("--frontend", self.frontends),
                *listed("--sampler", samplers or self.samplers), *listed("--route", self.routes),
                *self.bench_args, "--out", str(out / "bench"))))
        return steps


#: the profiles, fastest first
PROFILES: dict[str, Profile] = {p.name: p for p in (
    Profile(
        name="quick", budget_minutes=5,
        purpose="every pull request: two cases with nutpie, a small SBC, the baseline check "
                "on the compile-once route",
        cases=("linear", "logistic"), samplers=("nutpie",), routes=("compiled",),
        sbc=(SBCPlan(cases=("linear",), frontends=("pymc",), samplers=("nutpie",),
                     simulations=100),),
    ),
    Profile(
        name="ci", budget_minutes=20,
        purpose="the main branch: the whole zoo; the checks with nutpie, the baseline check "
                "with nutpie and PyMC's NUTS on both routes; SBC at its default size",
        cases=None, samplers=("nutpie", "pymc"), check_samplers=("nutpie",), routes=ROUTE_NAMES,
        sbc=(SBCPlan(cases=None, frontends=("pymc",), samplers=("nutpie",), simulations=200),),
    ),
    Profile(
        name="thorough", budget_minutes=None,
        purpose="nightly: every sampler and route; SBC of both frontends with nutpie at 1000 "
                "simulations and of every other sampler at 200; benchmarks",
        cases=None, samplers=SAMPLER_NAMES, routes=ROUTE_NAMES,
        sbc=(SBCPlan(cases=None, frontends=FRONTEND_NAMES, samplers=("nutpie",),
                     simulations=1000),
             SBCPlan(cases=None, frontends=("pymc",), samplers=("pymc", "numpyro", "blackjax"),
                     simulations=200)),
        bench=True, bench_args=("--repeats", "5"),
    ),
)}


def get_profile(name: str) -> Profile:
    """The profile called ``name``; an unknown name is a UsageError listing the profiles."""
    from glmcheck.errors import UsageError

    try:
        return PROFILES[name]
    except KeyError:
        raise UsageError(f"unknown profile {name!r}; choose from {', '.join(PROFILES)}") from None
