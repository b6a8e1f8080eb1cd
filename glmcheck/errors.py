"""The exceptions glmcheck raises.

Every error a user can cause is a :class:`UsageError`; the CLI prints its message on one line
and exits with status 2. A :class:`FitError` means a sampler failed on valid input.
"""

__all__ = ["GlmcheckError", "UsageError", "FitError", "MissingDependency"]


class GlmcheckError(Exception):
    """Root of every exception raised on purpose by glmcheck."""


class UsageError(GlmcheckError, ValueError):
    """Bad input: an unknown name, a malformed data set, an unwritable folder."""


class MissingDependency(UsageError, ImportError):
    """An optional package that the request needs is not installed."""


class FitError(GlmcheckError, RuntimeError):
    """A sampler raised or returned something unusable."""
