"""The GLM zoo. Each module here defines one :class:`~glmcheck.cases.base.Case` as ``CASE``.

:func:`get_case` accepts a built-in name (``linear``) or a user case as
``package.module:attribute``; :func:`list_cases` lists the built-in ones.
"""

from __future__ import annotations

import importlib
import pkgutil

from glmcheck._loader import is_reference, load_reference
from glmcheck.cases.base import Case
from glmcheck.errors import UsageError

__all__ = ["Case", "get_case", "list_cases", "BUILTIN"]

_NOT_CASES = {"base"}


def _builtin_names() -> list[str]:
    return sorted(
        m.name for m in pkgutil.iter_modules(__path__) if m.name not in _NOT_CASES and not m.name.startswith("_")
    )


BUILTIN: tuple[str, ...] = tuple(_builtin_names())


def get_case(name: str | Case) -> Case:
    """A case by built-in name, ``module:attribute`` reference, or the case itself."""
    if isinstance(name, Case):
        return name
    if is_reference(name):
        obj = load_reference(name, "case")
        if isinstance(obj, type) and issubclass(obj, Case):
            obj = obj()
        if not isinstance(obj, Case):
            raise UsageError(
                f"case {name!r} must be a glmcheck.cases.Case instance but is {type(obj).__name__}"
            )
        return obj
    if name not in BUILTIN:
        raise UsageError(
            f"unknown case {name!r}; built-in cases are {', '.join(BUILTIN)} "
            "(or give your own as package.module:attribute)"
        )
    return importlib.import_module(f"glmcheck.cases.{name}").CASE


def list_cases() -> list[Case]:
    return [get_case(n) for n in BUILTIN]
