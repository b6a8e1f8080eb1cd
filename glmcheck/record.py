"""The run record: the one versioned JSON document every command that produces results writes.

A record holds the request, the environment fingerprint (Python, every library that can change
a verdict, platform, CPU model and count), every fit's summary, every check's result, what was
skipped, timings and the run's exit code. Large parts live beside it as files it names by
relative path and SHA-256. Everything that reads results later (comparisons, reports) reads
records through :func:`load_record`, which refuses a file that is truncated, not glmcheck's, or
of a newer schema, in one line.

The writer replaces the file atomically (write a temporary file, fsync, rename), so a record on
disk is always whole: the one being written after every step of a run, or the last complete one.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
import tempfile
from pathlib import Path
from typing import Any

from glmcheck import __version__, compat
from glmcheck.errors import UsageError
from glmcheck.results import json_safe

__all__ = [
    "SCHEMA", "SCHEMA_VERSION", "KINDS", "new_record", "write_record", "load_record",
    "environment", "file_entry", "make_ordinary",
]

#: the value of every record's ``"schema"`` key: what makes a JSON file a glmcheck record
SCHEMA = "glmcheck-run-record"
#: bumped whenever a reader of the old layout would misread the new one
SCHEMA_VERSION = 1
#: what a record can be the record of
KINDS = ("run", "check", "sbc", "reference", "baseline", "compare", "bench", "validate", "bisect")
#: keys every record has, with their JSON types
_REQUIRED = {
    "schema": str, "schema_version": int, "kind": str, "created": str, "glmcheck": str,
    "environment": dict, "request": dict, "fits": list, "checks": list, "skipped": list,
}


def environment() -> dict:
    """Where a run ran: Python and library versions, platform, CPU model and count."""
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "versions": dict(compat.versions()),
    }


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def new_record(kind: str, request: dict, **extra: Any) -> dict:
    """An empty record of ``kind`` for ``request`` (plain JSON-able values)."""
    if kind not in KINDS:
        raise ValueError(f"unknown record kind {kind!r}")
    record = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "kind": kind,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "glmcheck": __version__,
        "environment": environment(),
        "request": request,
        "fits": [],
        "checks": [],
        "skipped": [],
        "files": {},
        "exit_code": None,
    }
    record.update(extra)
    return record


def file_entry(path: Path, root: Path) -> dict:
    """How a record names a file beside it: relative path, size and SHA-256."""
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return {"path": Path(path).relative_to(root).as_posix(), "sha256": digest,
            "bytes": Path(path).stat().st_size}


def write_record(path: Path, record: dict) -> None:
    """Write ``record`` to ``path`` atomically (a reader sees the old or the new file whole)."""
    path = Path(path)
    text = json.dumps(json_safe(record), indent=2, allow_nan=False)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        make_ordinary(Path(tmp))  # mkstemp makes it private; a record is an ordinary file
        with os.fdopen(fd, "w") as fh:
            fh.write(text + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def make_ordinary(path: Path) -> None:
    """Give a file or folder made private by ``tempfile`` the permissions the umask gives a
    new one."""
    umask = os.umask(0)
    os.umask(umask)
    path.chmod((0o777 if path.is_dir() else 0o666) & ~umask)


def load_record(path: Path | str) -> dict:
    """Read a run record; a file that is not a whole, known glmcheck record is a UsageError
    (one line naming the file)."""
    path = Path(path)
    name = str(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise UsageError(f"record {name!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read record {name!r}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        record = json.loads(text)
    except ValueError as exc:
        raise UsageError(
            f"record {name!r} is truncated or not JSON ({exc.msg} at line {exc.lineno}, "
            f"column {exc.colno}); rerun the command that made it"
        ) from None
    if not isinstance(record, dict) or record.get("schema") != SCHEMA:
        raise UsageError(f"{name!r} is not a glmcheck run record (no \"schema\": \"{SCHEMA}\")")
    version = record.get("schema_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise UsageError(f"record {name!r} has an invalid schema_version {version!r}")
    if version > SCHEMA_VERSION:
        raise UsageError(
            f"record {name!r} has schema version {version}, newer than this glmcheck reads "
            f"({SCHEMA_VERSION}); upgrade glmcheck"
        )
    for key, kind in _REQUIRED.items():
        if not isinstance(record.get(key), kind) or isinstance(record.get(key), bool):
            raise UsageError(
                f"record {name!r} is malformed: expected {key!r} to be a JSON "
                f"{_JSON_NAMES[kind]} but got {record.get(key)!r:.60}"
            )
    if record["kind"] not in KINDS:
        raise UsageError(f"record {name!r} is of unknown kind {record['kind']!r}")
    return record


_JSON_NAMES = {str: "string", int: "integer", dict: "object", list: "array"}
