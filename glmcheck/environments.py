"""Other Python environments (other library stacks) that glmcheck runs itself in.

This is the one way glmcheck runs inside another environment and brings back what it found:
``glmcheck bench`` starts long-lived workers in two stacks to interleave their benchmarks, and
``glmcheck bisect`` builds one environment per candidate release and runs a verdict in each.
An :class:`Environment` is an interpreter that has glmcheck installed; it runs
``python -m glmcheck ARGS`` there (:meth:`Environment.run`, :meth:`Environment.popen`) and
reads back the run record the child wrote, so every result crosses the boundary as a record.

What users type after ``--env`` (:func:`resolve_environment`):

``self``
    the interpreter running now.
``tox:NAME``
    the tox environment NAME of the checkout (``.tox/NAME/bin/python``); tox builds it
    (``tox -e NAME --notest``), glmcheck only uses it.
a path
    a Python executable, or a virtual environment folder (its ``bin/python``).
``REQUIREMENTS[+OVERRIDE...]``
    a requirements file (ending in ``.txt`` or ``.in``), optionally followed by overrides
    joined with ``+``: ``requirements/current.txt+blackjax==1.7.1+numpyro==0.19.0``. glmcheck
    builds this environment itself with uv: the requirements, each override installed in
    place of whatever version they (or anything else) ask for, and glmcheck (editable from its
    source tree, so the child runs the same glmcheck code; ``glmcheck[jax]==VERSION`` when it
    was not installed from one). It is built once into ``$GLMCHECK_ENVS`` (default
    ``~/.cache/glmcheck/envs``), in a folder named by a hash of the requirements text, the
    overrides, the Python and glmcheck's source tree, and reused after. A local version
    (``1.0+cpu``) cannot be an override: ``+`` separates them.

Relative paths are taken from ``root`` (default: the current folder). The child inherits this
process's environment variables and working folder.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from glmcheck.errors import GlmcheckError, UsageError

__all__ = [
    "Environment", "RunOutcome", "BuildError", "resolve_environment", "glmcheck_source_root",
]

#: the file inside a built environment that says how it was built; written last, so an
#: environment folder holding it is complete
MARKER = "glmcheck-env.json"
#: how environments are built: bumped when _build changes what a folder holds, so none built
#: the old way is reused
_RECIPE = 1
#: suffixes that make a spec a requirements file rather than an interpreter
_REQUIREMENT_SUFFIXES = (".txt", ".in")
#: an override: a name, optional extras, and one or more version specifiers (PEP 508, no
#: markers or URLs)
_SPECIFIER = r"(===|==|!=|~=|>=|<=|<|>)\s*[A-Za-z0-9.*!_-]+"
_OVERRIDE = re.compile(
    rf"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?\s*(\[[A-Za-z0-9._,\s-]*\])?\s*"
    rf"{_SPECIFIER}(\s*,\s*{_SPECIFIER})*"
)
#: the exit code :meth:`Environment.run` reports for a child it stopped at its timeout (as
#: coreutils' ``timeout`` does)
EXIT_TIMEOUT = 124
#: the longest reason a BuildError keeps
_REASON_CHARS = 300
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

#: Environment.describe() per interpreter path: one probe per interpreter and process
_DESCRIPTIONS: dict[str, dict] = {}
_PROBE = (
    "import json, platform\n"
    "from glmcheck import __version__, compat\n"
    "print(json.dumps({'python_version': platform.python_version(), 'glmcheck': __version__,"
    " 'versions': compat.versions()}))\n"
)


class BuildError(GlmcheckError):
    """uv could not build an environment: a dependency conflict, a version that does not exist,
    a Python it cannot find. Not bad input in itself (to a bisection, a candidate release that
    cannot be installed is skipped), so callers decide what it means. ``reason`` is uv's most
    informative line."""

    def __init__(self, spec: str, reason: str):
        super().__init__(f"cannot build environment {spec!r}: {reason}")
        self.spec = spec
        self.reason = reason


@dataclass
class RunOutcome:
    """How a run of glmcheck in another environment ended.

    ``exit_code`` is the child's (:mod:`glmcheck.errors`; negative: killed by that signal;
    :data:`EXIT_TIMEOUT`: stopped at the timeout). ``record`` is the record the child wrote
    during this run (None when it wrote none), ``last_error`` its one-line reason when
    ``exit_code`` is not 0.
    """

    exit_code: int
    record: dict | None
    record_path: Path | None
    last_error: str | None


@dataclass(frozen=True)
class Environment:
    """An interpreter with glmcheck installed, and how outputs name it."""

    label: str
    python: Path

    def argv(self, *args: str) -> list[str]:
        """The command line of ``python -m glmcheck ARGS`` in this environment."""
        return [str(self.python), "-m", "glmcheck", *args]

    def popen(self, *args: str, **kwargs) -> subprocess.Popen:
        """Start ``python -m glmcheck ARGS`` here and return at once (for long-lived workers);
        ``kwargs`` go to :class:`subprocess.Popen`."""
        return subprocess.Popen(self.argv(*args), **kwargs)

    def run(self, *args: str, out: Path, timeout: float | None = None,
            log: Path | None = None) -> RunOutcome:
        """Run ``python -m glmcheck ARGS --out OUT`` here to completion and load the record it
        wrote (the newest ``run-NNN/results.json`` or ``record.json`` under OUT that this run
        made).

        The child's stdout is ours; its stderr is copied to ours as it comes (its progress
        lines included), or with ``log`` to that file (stdout too), and its last line kept as
        the reason. A child's verdict or failure is
        the caller's to judge: only a record that :func:`~glmcheck.record.load_record` refuses
        raises (a UsageError naming the file). At ``timeout`` seconds the child and everything
        it started are stopped.
        """
        from glmcheck.record import load_record

        out = Path(out)
        before = _run_dirs(out)
        sink = open(log, "w", encoding="utf-8") if log is not None else None
        try:
            process = subprocess.Popen(
                self.argv(*args, "--out", str(out)), stderr=subprocess.PIPE,
                stdout=sink, start_new_session=os.name == "posix",
            )
        except BaseException:
            if sink is not None:
                sink.close()
            raise
        tail = bytearray()
        reader = threading.Thread(target=_copy_stderr, args=(process.stderr, tail, sink),
                                  daemon=True)
        reader.start()
        timed_out = False
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop(process)
            code, timed_out = EXIT_TIMEOUT, True
        except BaseException:  # Ctrl-C reaches only us: the child has a session of its own
            _stop(process)
            raise
        finally:
            reader.join(timeout=10)
            process.stderr.close()
            if sink is not None:
                sink.close()
        last_error = None
        if timed_out:
            last_error = f"timed out after {timeout:g} s"
        elif code != 0:
            last_error = _last_line(bytes(tail)) or _exit_reason(code)
        for run_dir in sorted(_run_dirs(out) - before, key=_run_number, reverse=True):
            for name in ("results.json", "record.json"):
                path = out / run_dir / name
                if path.is_file():
                    return RunOutcome(code, load_record(path), path, last_error)
        return RunOutcome(code, None, None, last_error)

    def describe(self) -> dict:
        """Label, interpreter, Python version, glmcheck's version and the versions of the
        libraries that matter here (probed once per interpreter and process)."""
        key = str(self.python)
        if key not in _DESCRIPTIONS:
            try:
                done = subprocess.run(
                    [key, "-c", _PROBE], capture_output=True, text=True, errors="replace",
                    timeout=300,
                )
            except OSError as exc:
                raise UsageError(
                    f"cannot run {key!r} ({self.label}): {exc.strerror or exc}"
                ) from None
            except subprocess.TimeoutExpired:
                raise UsageError(f"{self.label} ({key}) did not start within 300 s") from None
            lines = done.stdout.strip().splitlines()
            if done.returncode != 0 or not lines:
                reason = _last_line(done.stderr.encode()) or _exit_reason(done.returncode)
                raise UsageError(f"glmcheck does not start in {self.label} ({key}): {reason}")
            _DESCRIPTIONS[key] = json.loads(lines[-1])
        found = _DESCRIPTIONS[key]
        return {"label": self.label, "python": key, "python_version": found["python_version"],
                "glmcheck": found["glmcheck"], "versions": dict(found["versions"])}


def resolve_environment(spec: str, *, root: Path | None = None, cache: Path | None = None,
                        python: str | None = None, build: bool = True) -> Environment:
    """The environment ``spec`` names (the forms are in this module's docstring), building it
    with uv when it is a requirements file not built before.

    ``root`` is the checkout that ``tox:NAME`` and relative paths are taken from (default: the
    current folder); ``cache`` where built environments live; ``python`` the Python version to
    build with (default: the running interpreter's). With ``build=False`` an environment from
    a requirements file is named but not built (its folder, ``Environment.python.parent.parent``,
    is named by the hash of everything it is built from: a key for what was found there).
    Bad input is a UsageError; a build that uv refuses is a :class:`BuildError`.
    """
    if not spec:
        raise UsageError(
            "no environment given: use self, tox:NAME, a python or virtual environment path, "
            "or a requirements file"
        )
    root = Path(os.path.abspath(Path.cwd() if root is None else root))
    requirements = _requirements_spec(spec, root)
    if python is not None and requirements is None:
        raise UsageError(
            f"a Python version ({python}) applies only to an environment built from a "
            f"requirements file, not to {spec!r}"
        )
    if spec == "self":
        return Environment("this interpreter", Path(sys.executable))
    if spec.startswith("tox:"):
        return _tox_environment(spec[4:], root)
    if requirements is not None:
        return _requirements_environment(spec, *requirements, root=root, cache=cache,
                                         python=python, build=build)
    return _path_environment(spec, root / Path(spec).expanduser())


def glmcheck_source_root() -> Path | None:
    """The source tree glmcheck runs from (the folder whose pyproject.toml names the project
    glmcheck, above glmcheck/__init__.py), or None when it was installed from a package."""
    import tomllib

    import glmcheck

    here = Path(glmcheck.__file__).resolve().parent.parent
    try:
        name = tomllib.loads((here / "pyproject.toml").read_text())["project"]["name"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return here if name == "glmcheck" else None


# -- the forms of a spec ----------------------------------------------------------------------
def _venv_python(folder: Path) -> Path:
    return folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _requirements_spec(spec: str, root: Path) -> tuple[str, list[str]] | None:
    """(requirements file, overrides) when ``spec`` names a requirements file, else None."""
    if spec == "self" or spec.startswith("tox:"):
        return None
    whole = root / Path(spec).expanduser()
    if whole.suffix not in _REQUIREMENT_SUFFIXES and whole.exists():
        return None  # an interpreter or folder whose path holds a '+'
    base, *overrides = spec.split("+")
    if overrides or Path(base).suffix in _REQUIREMENT_SUFFIXES:
        return base, overrides
    return None


def _tox_environment(name: str, root: Path) -> Environment:
    if not name:
        raise UsageError("tox: needs the name of a tox environment, e.g. tox:current")
    python = _venv_python(root / ".tox" / name)
    if not python.exists():
        raise UsageError(
            f"tox environment {name!r} is not built (no {python}): run tox -e {name} --notest"
        )
    return Environment(f"tox:{name}", python)


def _path_environment(spec: str, path: Path) -> Environment:
    if path.is_dir():
        python = _venv_python(path)
        if not python.exists():
            raise UsageError(
                f"{str(path)!r} is a folder but not a virtual environment (no "
                f"{python.relative_to(path)}): give a python executable or a virtual "
                f"environment folder"
            )
    elif path.exists():
        python = path
        if not os.access(python, os.X_OK):
            raise UsageError(
                f"{str(path)!r} is not executable: give a python executable, a virtual "
                f"environment folder, or a requirements file ending in .txt"
            )
    else:
        raise UsageError(f"no python executable or virtual environment at {str(path)!r}")
    return Environment(spec, python)


# -- environments built from a requirements file ------------------------------------------------
def _requirements_environment(spec: str, base: str, overrides: list[str], *, root: Path,
                              cache: Path | None, python: str | None,
                              build: bool = True) -> Environment:
    requirements = root / Path(base).expanduser()
    try:
        text = requirements.read_text()
    except FileNotFoundError:
        raise UsageError(f"requirements file {str(requirements)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(
            f"cannot read requirements file {str(requirements)!r}: "
            f"{getattr(exc, 'strerror', None) or exc}"
        ) from None
    for override in overrides:
        if not _OVERRIDE.fullmatch(override.strip()):
            raise UsageError(
                f"override {override!r} in {spec!r} is not a requirement like name==version"
            )
    overrides = sorted(override.strip() for override in overrides)
    source = glmcheck_source_root()
    if source is None:
        from glmcheck import __version__

        install, origin = [f"glmcheck[jax]=={__version__}"], f"glmcheck=={__version__}"
    else:
        install, origin = ["-e", f"{source}[jax]"], str(source)
    # the interpreter to build with: the version asked for, else the running one (its base
    # interpreter names it, so every venv of one Python shares the environment)
    request = python or sys.executable
    key = hashlib.sha256(json.dumps([
        _RECIPE, text, overrides, python or str(Path(sys.executable).resolve()), origin,
        _read_or_none(source / "pyproject.toml") if source else None,
    ]).encode()).hexdigest()[:16]
    cache = Path(cache or os.environ.get("GLMCHECK_ENVS") or "~/.cache/glmcheck/envs")
    folder = cache.expanduser() / key
    label = spec if python is None else f"{spec} (python {python})"
    environment = Environment(label, _venv_python(folder))
    if (folder / MARKER).is_file() or not build:
        return environment
    if folder.exists():
        raise UsageError(
            f"{str(folder)!r} is not a complete environment (no {MARKER}): remove it and retry"
        )
    _build(folder, spec=spec, requirements=requirements, overrides=overrides, request=request,
           install=install, origin=origin)
    return environment


def _read_or_none(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def _build(folder: Path, *, spec: str, requirements: Path, overrides: list[str], request: str,
           install: list[str], origin: str) -> None:
    """Build the environment in a temporary sibling of ``folder`` and rename it into place
    only when uv succeeded, so a half-built environment is never found and reused."""
    from glmcheck.record import make_ordinary

    uv = _find_uv()
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}-",
                                         suffix=".building"))
    except OSError as exc:
        raise UsageError(
            f"cannot write environment folder {str(folder.parent)!r}: {exc.strerror or exc}"
        ) from None
    print(f"glmcheck: building environment {spec!r} with uv in {folder} (reused after)",
          file=sys.stderr, flush=True)
    started = time.monotonic()
    try:
        make_ordinary(building)
        version = _run_uv([uv, "--version"]).stdout.strip()
        _check(_run_uv([uv, "venv", "--relocatable", "--python", request, str(building)]), spec)
        command = [uv, "pip", "install", "--python", str(_venv_python(building)),
                   "-r", str(requirements)]
        if overrides:  # required as well as overriding: a package the file lacks is added
            listed = building / "glmcheck-overrides.txt"
            listed.write_text("\n".join(overrides) + "\n")
            command += ["-r", str(listed), "--override", str(listed)]
        _check(_run_uv(command + install), spec)
        about = {
            "spec": spec, "requirements": str(requirements), "overrides": overrides,
            "python": request, "glmcheck": origin, "uv": version,
            "built": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "seconds": round(time.monotonic() - started, 1),
        }
        (building / MARKER).write_text(json.dumps(about, indent=2) + "\n")
        try:
            os.rename(building, folder)
        except OSError:
            if not (folder / MARKER).is_file():
                raise
            shutil.rmtree(building, ignore_errors=True)  # another process built it meanwhile
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise


def _find_uv() -> str:
    found = shutil.which("uv")
    if found:
        return found
    try:
        import uv

        return uv.find_uv_bin()
    except (ImportError, FileNotFoundError):
        raise UsageError("building an environment needs uv: pip install uv") from None


def _run_uv(command: list[str]) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(command, capture_output=True, text=True, errors="replace")
    except OSError as exc:
        raise UsageError(f"cannot run uv at {command[0]!r}: {exc.strerror or exc}") from None


def _check(done: subprocess.CompletedProcess, spec: str) -> None:
    if done.returncode != 0:
        raise BuildError(spec, _uv_reason(done.stderr))


def _uv_reason(stderr: str) -> str:
    """uv's most informative line: the "Because ..." of an unsatisfiable resolution, else its
    error line with the first cause."""
    lines = []
    for raw in _ANSI.sub("", stderr).splitlines():
        line = " ".join(raw.strip(" ×╰─▶├│┬").split())
        if line:
            lines.append(line)
    for line in lines:
        if line.lower().removeprefix("cause:").strip().startswith("because"):
            return _short(line.removeprefix("cause:").strip())
    for i, line in enumerate(lines):
        if line.lower().startswith("error:") or "no solution found" in line.lower():
            first = line.removeprefix("error:").strip().rstrip(":")
            after = lines[i + 1] if i + 1 < len(lines) else ""
            if after.startswith("cause:"):
                first = f"{first}: {after.removeprefix('cause:').strip()}"
            return _short(first)
    return _short(lines[-1]) if lines else "uv failed and printed nothing"


def _short(line: str) -> str:
    return line if len(line) <= _REASON_CHARS else line[: _REASON_CHARS - 1] + "…"


# -- running a child -----------------------------------------------------------------------------
def _run_dirs(out: Path) -> set[str]:
    try:
        return {p.name for p in out.glob("run-[0-9]*") if p.name[4:].isdigit() and p.is_dir()}
    except OSError:
        return set()


def _run_number(name: str) -> int:
    return int(name[4:])


def _copy_stderr(stream, tail: bytearray, sink=None) -> None:
    """Copy the child's stderr to ours (or to ``sink``) as it comes, keeping its last 8 KiB in
    ``tail``."""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    target = sink if sink is not None else sys.stderr
    try:
        while chunk := stream.read1(65536):
            tail += chunk
            del tail[:-8192]
            try:
                target.write(decoder.decode(chunk))
                target.flush()
            except (OSError, ValueError):
                pass  # our stderr is gone: keep reading so the child never blocks on the pipe
    except (OSError, ValueError):
        pass  # the pipe was closed under us (run() gave up waiting for a straggler)


def _last_line(data: bytes) -> str | None:
    text = _ANSI.sub("", data.decode(errors="replace"))
    lines = [line.strip() for line in re.split(r"\r\n|\r|\n", text) if line.strip()]
    return lines[-1] if lines else None


def _exit_reason(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code} and printed no reason"


def _stop(process: subprocess.Popen) -> None:
    """Kill the child and everything it started (its worker processes), then reap it."""
    try:
        if os.name == "posix":
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()
