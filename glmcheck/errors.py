"""The exceptions glmcheck raises, and the one exit-code table every command uses.

========  ==================================================================================
code      meaning
========  ==================================================================================
0         everything that was asked ran, and every check passed
1         a check found a problem (the verdict)
2         bad input, found before any work where possible (:class:`UsageError`)
3         a fit failed: a sampler or a library raised or returned unusable draws
          (:class:`FitError`); reported per fit, and the run goes on
4         an internal error: glmcheck's own bug or a user plugin's (:class:`InternalError`,
          or any exception nobody expected)
========  ==================================================================================

When several happen in one run the highest code wins (4 > 3 > 1 > 0); 2 stops a run before work.
A crash never exits 0 or 1.
"""

__all__ = [
    "EXIT_OK", "EXIT_FAILED", "EXIT_USAGE", "EXIT_FIT", "EXIT_INTERNAL",
    "GlmcheckError", "UsageError", "FitError", "MissingDependency", "InternalError", "PluginError",
    "worst_exit",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_FIT = 3
EXIT_INTERNAL = 4

#: precedence of exit codes when several things happened in one run (2 never mixes: it stops
#: a run before work)
_RANK = {EXIT_OK: 0, EXIT_FAILED: 1, EXIT_FIT: 2, EXIT_INTERNAL: 3, EXIT_USAGE: 4}


def worst_exit(*codes: int) -> int:
    """The exit code of a run in which each of ``codes`` happened: 4 > 3 > 1 > 0."""
    return max(codes, key=_RANK.__getitem__, default=EXIT_OK)


class GlmcheckError(Exception):
    """Root of every exception raised on purpose by glmcheck."""

    exit_code = EXIT_INTERNAL


class UsageError(GlmcheckError, ValueError):
    """Bad input: an unknown name, a malformed data set or file, an unwritable folder."""

    exit_code = EXIT_USAGE


class MissingDependency(UsageError, ImportError):
    """An optional package that the request needs is not installed."""


class FitError(GlmcheckError, RuntimeError):
    """A sampler or a library failed on valid input: a finding, reported per fit."""

    exit_code = EXIT_FIT


class InternalError(GlmcheckError, RuntimeError):
    """glmcheck's own bug: a state its code should never reach."""

    exit_code = EXIT_INTERNAL


class PluginError(InternalError):
    """A user's plugin (a case or sampler given as ``package.module:attribute``) broke its
    contract: it raised, or returned something glmcheck cannot use."""
