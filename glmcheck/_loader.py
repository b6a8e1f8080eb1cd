"""Resolve ``package.module:attribute`` references given wherever a name is accepted."""

import importlib

from glmcheck.errors import UsageError


def is_reference(name: str) -> bool:
    return ":" in name


def load_reference(ref: str, what: str):
    """Import ``module:attribute`` (attribute may be dotted) and return the object."""
    module_name, _, attr = ref.partition(":")
    if not module_name or not attr:
        raise UsageError(f"expected {what} as 'package.module:attribute' but got {ref!r}")
    try:
        obj = importlib.import_module(module_name)
    except Exception as exc:  # an import error inside the user's module is also their problem
        raise UsageError(
            f"cannot import module {module_name!r} for {what} {ref!r}: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise UsageError(
                f"module {module_name!r} has no attribute {attr!r} (from {what} {ref!r})"
            ) from None
    return obj
