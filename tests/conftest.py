"""Shared fixtures. Sampler-backed tests are marked ``slow``; numpy-only tests are not."""

import importlib.util
import os

import pytest

REQUIRE_ALL = os.environ.get("GLMCHECK_REQUIRE_ALL") == "1"


def require_modules(*modules: str) -> None:
    """Skip when an optional module is absent; fail instead in a full environment.

    tox sets GLMCHECK_REQUIRE_ALL=1, so a missing sampler there is a failure, never a skip.
    """
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        message = f"not installed: {', '.join(missing)}"
        if REQUIRE_ALL:
            pytest.fail(f"{message} (GLMCHECK_REQUIRE_ALL=1: the full environment needs it)")
        pytest.skip(message)


@pytest.fixture(autouse=True)
def _agg_backend(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
