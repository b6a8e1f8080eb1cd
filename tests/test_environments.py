"""Other environments: every spec resolves or is refused in one line, a child's run comes back
as its record, and a requirements environment is built once, in place only when uv succeeded.

No real uv build and no model fit here: children are small scripts that play glmcheck, and
uv is replaced by a stand-in that records what it was asked.
"""

import json
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from glmcheck import environments
from glmcheck.environments import (
    MARKER, BuildError, Environment, glmcheck_source_root, resolve_environment,
)
from glmcheck.errors import UsageError
from glmcheck.record import new_record, write_record

CHECKOUT = Path(__file__).resolve().parents[1]


def one_line_usage_error(call, *needles: str) -> str:
    with pytest.raises(UsageError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message
    return message


@pytest.fixture
def venv(tmp_path):
    """A folder laid out like a virtual environment whose python is this interpreter."""
    folder = tmp_path / "venv"
    (folder / "bin").mkdir(parents=True)
    (folder / "bin" / "python").symlink_to(sys.executable)
    return folder


# -- resolving a spec ------------------------------------------------------------------------
def test_self_is_the_running_interpreter():
    env = resolve_environment("self")
    assert env == Environment("this interpreter", Path(sys.executable))
    assert env.argv("cases") == [sys.executable, "-m", "glmcheck", "cases"]


def test_a_virtual_environment_folder_and_a_python_path(venv):
    by_folder = resolve_environment("venv", root=venv.parent)
    assert by_folder.python == venv / "bin" / "python" and by_folder.label == "venv"
    by_path = resolve_environment(str(venv / "bin" / "python"))
    assert by_path.python == venv / "bin" / "python"
    assert by_path.label == str(venv / "bin" / "python")


def test_a_tox_environment_of_the_checkout(tmp_path):
    (tmp_path / ".tox" / "current" / "bin").mkdir(parents=True)
    (tmp_path / ".tox" / "current" / "bin" / "python").symlink_to(sys.executable)
    env = resolve_environment("tox:current", root=tmp_path)
    assert env == Environment("tox:current", tmp_path / ".tox" / "current" / "bin" / "python")


def test_a_tox_environment_not_built_names_the_command_that_builds_it(tmp_path):
    one_line_usage_error(lambda: resolve_environment("tox:previous", root=tmp_path),
                         "tox environment 'previous' is not built",
                         str(tmp_path / ".tox" / "previous" / "bin" / "python"),
                         "run tox -e previous --notest")


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("missing/python", "no python executable or virtual environment at"),
        ("folder", "is a folder but not a virtual environment"),
        ("plain", "is not executable"),
        ("missing.txt", "requirements file"),
        ("missing.txt+six==1.16.0", "does not exist"),
        ("requirements.txt+six", "override 'six'"),
        ("requirements.txt+six=1.16", "override 'six=1.16'"),
        ("requirements.txt+==1.16", "override '==1.16'"),
        ("requirements.txt+", "override ''"),
        ("", "no environment given"),
    ],
)
def test_bad_specs_are_refused_in_one_line(tmp_path, spec, needle):
    (tmp_path / "folder").mkdir()
    (tmp_path / "plain").write_text("not a program\n")
    (tmp_path / "requirements.txt").write_text("six\n")
    one_line_usage_error(lambda: resolve_environment(spec, root=tmp_path, cache=tmp_path / "envs"),
                         needle)
    assert not (tmp_path / "envs").exists()


def test_a_python_version_applies_only_to_a_built_environment():
    one_line_usage_error(lambda: resolve_environment("self", python="3.11"),
                         "applies only to an environment built from a requirements file")


def test_the_source_root_is_this_checkout():
    assert glmcheck_source_root() == CHECKOUT


# -- running glmcheck in an environment --------------------------------------------------------
@pytest.fixture
def record_file(tmp_path):
    path = tmp_path / "made.json"
    write_record(path, new_record("check", {"cases": ["linear"]}))
    return path


def fake_glmcheck(tmp_path, body: str) -> Environment:
    """An environment whose python is a script that plays ``python -m glmcheck ... --out OUT``."""
    script = tmp_path / "fake-python"
    script.write_text(
        f"#!{sys.executable}\n"
        "import pathlib, shutil, sys, time\n"
        "out = pathlib.Path(sys.argv[sys.argv.index('--out') + 1])\n"
        f"{body}\n"
    )
    script.chmod(0o755)
    return Environment("fake", script)


@pytest.mark.parametrize("name", ["results.json", "record.json"])
def test_a_verdict_comes_back_with_its_record(tmp_path, record_file, capfd, name):
    env = fake_glmcheck(tmp_path, (
        f"(out / 'run-001').mkdir(parents=True)\n"
        f"shutil.copy({str(record_file)!r}, out / 'run-001' / {name!r})\n"
        "print('linear: sampling…', file=sys.stderr)\n"
        "print('glmcheck: 1 check failed', file=sys.stderr)\n"
        "sys.exit(1)"
    ))
    outcome = env.run("check", "linear", out=tmp_path / "out")
    assert outcome.exit_code == 1
    assert outcome.record["kind"] == "check" and outcome.record["request"] == {"cases": ["linear"]}
    assert outcome.record_path == tmp_path / "out" / "run-001" / name
    assert outcome.last_error == "glmcheck: 1 check failed"
    assert "linear: sampling…" in capfd.readouterr().err, "the child's progress reaches us"


def test_a_log_takes_the_childs_output_instead_of_our_stderr(tmp_path, record_file, capfd):
    env = fake_glmcheck(tmp_path, (
        "print('a table', flush=True)\n"
        "print('linear: sampling…', file=sys.stderr)\n"
        "print('glmcheck: error: bad thing', file=sys.stderr)\nsys.exit(2)"
    ))
    outcome = env.run("check", out=tmp_path / "out", log=tmp_path / "child.log")
    assert outcome.last_error == "glmcheck: error: bad thing"
    logged = (tmp_path / "child.log").read_text()
    assert "a table" in logged and "linear: sampling…" in logged
    seen = capfd.readouterr()
    assert "sampling" not in seen.err and "a table" not in seen.out


def test_bad_input_comes_back_without_a_record(tmp_path, record_file):
    # an earlier run in the same folder is not this run's record
    (tmp_path / "out" / "run-001").mkdir(parents=True)
    shutil.copy(record_file, tmp_path / "out" / "run-001" / "results.json")
    env = fake_glmcheck(tmp_path,
                        "print('glmcheck: error: bad thing', file=sys.stderr)\nsys.exit(2)")
    outcome = env.run("check", "nope", out=tmp_path / "out")
    assert (outcome.exit_code, outcome.record, outcome.record_path) == (2, None, None)
    assert outcome.last_error == "glmcheck: error: bad thing"


def test_a_record_the_reader_refuses_is_bad_input(tmp_path, record_file):
    env = fake_glmcheck(tmp_path, (
        "(out / 'run-001').mkdir(parents=True)\n"
        f"text = pathlib.Path({str(record_file)!r}).read_text()\n"
        "(out / 'run-001' / 'results.json').write_text(text[: len(text) // 2])"
    ))
    one_line_usage_error(lambda: env.run("run", out=tmp_path / "out"), "is truncated",
                         str(tmp_path / "out" / "run-001" / "results.json"))


def test_a_child_past_its_timeout_is_stopped(tmp_path):
    env = fake_glmcheck(tmp_path, "time.sleep(60)")
    outcome = env.run("run", out=tmp_path / "out", timeout=0.5)
    assert outcome.exit_code == environments.EXIT_TIMEOUT and outcome.record is None
    assert outcome.last_error == "timed out after 0.5 s"


def test_describe_probes_an_interpreter_once(monkeypatch):
    env = resolve_environment("self")
    environments._DESCRIPTIONS.pop(str(env.python), None)
    about = env.describe()
    assert about["label"] == "this interpreter" and about["python"] == sys.executable
    assert about["python_version"] == platform.python_version()
    assert about["versions"]["pymc"] and about["glmcheck"]

    def no_second_probe(*args, **kwargs):
        raise AssertionError("describe() probed the interpreter twice")

    monkeypatch.setattr(environments.subprocess, "run", no_second_probe)
    assert env.describe() == about


# -- environments built from a requirements file -------------------------------------------------
UNSATISFIABLE = {
    "terminal": (
        "  × No solution found when resolving dependencies:\n"
        "  ╰─▶ Because blackjax==9.9 was not found in the package registry and you require "
        "blackjax==9.9, we can conclude that your requirements are unsatisfiable.\n"
    ),
    "pipe": (
        "Using Python 3.12.1 environment at: /tmp/envs/.x.building\n"
        "error: No solution found when resolving dependencies:\n"
        "  cause: Because blackjax==9.9 was not found in the package registry and you require "
        "blackjax==9.9, we can conclude that your requirements are unsatisfiable.\n"
    ),
}


class FakeUv:
    """Stands in for uv: ``venv`` lays out a python, ``pip install`` ends with ``pip_result``."""

    def __init__(self, pip_returncode=0, pip_stderr=""):
        self.pip = subprocess.CompletedProcess([], pip_returncode, "", pip_stderr)
        self.calls = []

    def __call__(self, command):
        self.calls.append(command)
        if command[1] == "--version":
            return subprocess.CompletedProcess(command, 0, "uv 0.13.9\n", "")
        if command[1] == "venv":
            (Path(command[-1]) / "bin").mkdir()
            (Path(command[-1]) / "bin" / "python").symlink_to(sys.executable)
            return subprocess.CompletedProcess(command, 0, "", "")
        return self.pip


@pytest.fixture
def requirements(tmp_path, monkeypatch):
    path = tmp_path / "requirements.txt"
    path.write_text("six==1.16.0\n")
    monkeypatch.setattr(environments, "_find_uv", lambda: "uv")
    return path


def test_a_build_installs_glmcheck_with_the_overrides_and_says_how(tmp_path, requirements,
                                                                  monkeypatch):
    uv = FakeUv()
    monkeypatch.setattr(environments, "_run_uv", uv)
    env = resolve_environment("requirements.txt+blackjax==1.7.1+numpyro==0.19.0",
                              root=tmp_path, cache=tmp_path / "envs")
    folder = env.python.parent.parent
    assert folder.parent == tmp_path / "envs" and env.python.exists()
    assert [path.name for path in (tmp_path / "envs").iterdir()] == [folder.name]
    install = uv.calls[-1]
    assert install[:3] == ["uv", "pip", "install"]
    assert install[-2:] == ["-e", f"{CHECKOUT}[jax]"] and str(requirements) in install
    overrides = Path(install[install.index("--override") + 1])
    assert install[install.index(str(overrides)) - 1] == "-r", "an override is also required"
    assert overrides.parent.name.startswith(f".{folder.name}-"), "built beside, then renamed"
    assert (folder / overrides.name).read_text() == "blackjax==1.7.1\nnumpyro==0.19.0\n"
    about = json.loads((folder / MARKER).read_text())
    assert about["overrides"] == ["blackjax==1.7.1", "numpyro==0.19.0"]
    assert about["uv"] == "uv 0.13.9" and about["glmcheck"] == str(CHECKOUT)


def test_an_environment_can_be_named_without_building_it(tmp_path, requirements, monkeypatch):
    def no_uv(command):
        raise AssertionError(f"uv was called: {command}")

    monkeypatch.setattr(environments, "_run_uv", no_uv)
    named = resolve_environment("requirements.txt+six==1.16.0", root=tmp_path,
                                cache=tmp_path / "envs", build=False)
    assert not named.python.exists() and not (tmp_path / "envs").exists()
    monkeypatch.setattr(environments, "_run_uv", FakeUv())
    built = resolve_environment("requirements.txt+six==1.16.0", root=tmp_path,
                                cache=tmp_path / "envs")
    assert built.python == named.python and built.python.exists(), "the same folder"


def test_same_inputs_reuse_one_folder_and_another_override_gets_its_own(tmp_path, requirements,
                                                                         monkeypatch):
    monkeypatch.setattr(environments, "_run_uv", FakeUv())
    first = resolve_environment("requirements.txt+six==1.16.0", root=tmp_path,
                                cache=tmp_path / "envs")

    def no_uv(command):
        raise AssertionError(f"uv was called for a complete environment: {command}")

    monkeypatch.setattr(environments, "_run_uv", no_uv)
    assert resolve_environment("requirements.txt+six==1.16.0", root=tmp_path,
                               cache=tmp_path / "envs").python == first.python
    monkeypatch.setattr(environments, "_run_uv", FakeUv())
    other = resolve_environment("requirements.txt+six==1.15.0", root=tmp_path,
                                cache=tmp_path / "envs")
    assert other.python.parent.parent != first.python.parent.parent
    assert (first.python.parent.parent / MARKER).is_file(), "the first one is untouched"


@pytest.mark.parametrize("form", sorted(UNSATISFIABLE))
def test_a_failed_build_is_a_build_error_and_leaves_nothing(tmp_path, requirements, monkeypatch,
                                                            form):
    monkeypatch.setattr(environments, "_run_uv", FakeUv(1, UNSATISFIABLE[form]))
    with pytest.raises(BuildError) as info:
        resolve_environment("requirements.txt+blackjax==9.9", root=tmp_path,
                            cache=tmp_path / "envs")
    assert info.value.reason == (
        "Because blackjax==9.9 was not found in the package registry and you require "
        "blackjax==9.9, we can conclude that your requirements are unsatisfiable."
    )
    assert "\n" not in str(info.value) and "requirements.txt+blackjax==9.9" in str(info.value)
    assert list((tmp_path / "envs").iterdir()) == [], "no half-built environment is left"


@pytest.mark.parametrize(
    ("stderr", "reason"),
    [
        ("error: Request failed after 3 retries in 5.0s\n"
         "  cause: Failed to download `cpython-3.9.25`\n  cause: dns error\n",
         "Request failed after 3 retries in 5.0s: Failed to download `cpython-3.9.25`"),
        ("", "uv failed and printed nothing"),
        ("  ╰─▶ Because " + "x" * 400, "Because " + "x" * 291 + "…"),
    ],
)
def test_uv_failures_keep_one_short_line(stderr, reason):
    assert environments._uv_reason(stderr) == reason
    assert len(reason) <= 300


def test_no_uv_is_bad_input(tmp_path, monkeypatch):
    (tmp_path / "requirements.txt").write_text("six\n")
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    monkeypatch.setitem(sys.modules, "uv", None)
    one_line_usage_error(lambda: resolve_environment("requirements.txt", root=tmp_path,
                                                     cache=tmp_path / "envs"),
                         "building an environment needs uv: pip install uv")
