"""Resolve ``package.module:attribute`` references given wherever a name is accepted.

Every module loaded this way is a user's plugin: :data:`PLUGIN_MODULES` remembers them, so an
unexpected exception raised inside one is blamed on the plugin, not on glmcheck.
"""

import importlib

from glmcheck.errors import UsageError

__all__ = ["is_reference", "load_reference", "is_builtin", "plugin_module_of", "PLUGIN_MODULES"]

#: names of the modules loaded as ``package.module:attribute`` references
PLUGIN_MODULES: set[str] = set()


def is_reference(name: str) -> bool:
    return ":" in name


def is_builtin(obj) -> bool:
    """Whether ``obj`` (a class or an instance) is defined by glmcheck itself, not a plugin."""
    module = (obj if isinstance(obj, type) else type(obj)).__module__
    return module == "glmcheck" or module.startswith("glmcheck.")


def plugin_module_of(exc: BaseException) -> str | None:
    """The user plugin module in whose code ``exc`` was raised (innermost frame wins), if any."""
    found = None
    tb = exc.__traceback__
    while tb is not None:
        module = tb.tb_frame.f_globals.get("__name__", "")
        if any(module == p or module.startswith(p + ".") for p in PLUGIN_MODULES):
            found = module
        tb = tb.tb_next
    return found


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
    PLUGIN_MODULES.add(module_name)
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise UsageError(
                f"module {module_name!r} has no attribute {attr!r} (from {what} {ref!r})"
            ) from None
    owner = (obj if isinstance(obj, type) else type(obj)).__module__
    if not is_builtin(obj) and owner != "builtins":
        PLUGIN_MODULES.add(owner)  # where the plugin's class is defined
    return obj
