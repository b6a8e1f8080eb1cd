"""Options shared by the command line and the pytest plugin, defined once.

Each :class:`Option` knows its command-line spelling (``--profile``), its pytest spelling
(``--glmcheck-profile``), its help and how a value is checked. The command line adds them to
its parsers with :func:`add_cli`, the plugin with :func:`add_pytest`; a bad value is argparse's
usage error in both, naming the option and the value. Nothing heavy is imported here:
``pytest --help`` stays fast.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

__all__ = ["Option", "OPTIONS", "add_cli", "add_pytest", "profile_name", "sampler_names",
           "positive_int"]


def profile_name(value: str) -> str:
    """A profile of :data:`glmcheck.profiles.PROFILES`."""
    from glmcheck.profiles import PROFILES

    if value not in PROFILES:
        raise argparse.ArgumentTypeError(
            f"unknown profile {value!r}; choose from {', '.join(PROFILES)}")
    return value


def sampler_names(value: str) -> tuple[str, ...]:
    """Comma-separated sampler names: built-in ones or ``package.module:ClassName``."""
    from glmcheck.profiles import SAMPLER_NAMES

    names = tuple(dict.fromkeys(n.strip() for n in value.split(",") if n.strip()))
    bad = [n for n in names if n not in SAMPLER_NAMES and ":" not in n]
    if not names or bad:
        raise argparse.ArgumentTypeError(
            f"unknown sampler {(bad or [value])[0]!r}; choose from {', '.join(SAMPLER_NAMES)} "
            "or give package.module:ClassName (comma-separate several)")
    return names


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1 but got {value!r}")
    return number


@dataclass(frozen=True)
class Option:
    """One option, spelled ``--<name>`` on the command line and ``--glmcheck-<name>`` in
    pytest."""

    name: str
    help: str
    type: Callable[[str], Any] | None = None
    metavar: str | None = None
    flag: bool = False
    #: the one-letter command-line alias, if any
    short: str | None = None
    #: False: the plugin only (the command line has its own command for it)
    cli: bool = True

    @property
    def dest(self) -> str:
        return self.name.replace("-", "_")

    def kwargs(self) -> dict:
        if self.flag:
            return {"action": "store_true", "default": False, "help": self.help}
        return {"type": self.type, "metavar": self.metavar, "default": None, "help": self.help}


#: every shared option, by name
OPTIONS: dict[str, Option] = {o.name: o for o in (
    Option("profile", "settings profile: quick (every pull request), ci (the whole zoo) or "
           "thorough (nightly: every sampler and route, SBC at 1000, benchmarks) "
           "(default: quick)", profile_name, "NAME"),
    Option("sampler", "samplers instead of the profile's: nutpie, pymc, numpyro, blackjax or "
           "package.module:ClassName, comma-separated", sampler_names, "NAMES", short="-s"),
    Option("simulations", "SBC simulations per configuration instead of the profile's",
           positive_int, "N", short="-n"),
    Option("baselines", "folder of the stored references (baselines) to check against",
           Path, "DIR"),
    Option("out", "folder for run records and reports (a new run-NNN inside)", Path, "DIR"),
    Option("update-baselines", "make (or remake) the reference of every case a test compares "
           "with its baseline, instead of comparing (like --force-regen or --snapshot-update)",
           flag=True, cli=False),
)}


def add_cli(parser, *names: str, help: dict[str, str] | None = None) -> None:
    """Add the options ``names`` to an argparse parser or group (``help`` overrides the
    shared text where a command says more)."""
    for name in names:
        option = OPTIONS[name]
        flags = [f"--{option.name}", *([option.short] if option.short else [])]
        kwargs = option.kwargs()
        if help and name in help:
            kwargs["help"] = help[name]
        parser.add_argument(*flags, dest=option.dest, **kwargs)


def add_pytest(parser) -> None:
    """Add every shared option to pytest's parser, as ``--glmcheck-<name>``."""
    group = parser.getgroup("glmcheck", "glmcheck: validate Bayesian GLMs (PyMC and Bambi)")
    for option in OPTIONS.values():
        group.addoption(f"--glmcheck-{option.name}", dest=f"glmcheck_{option.dest}",
                        **option.kwargs())
