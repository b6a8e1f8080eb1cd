"""The run record: versioned, atomic, and refused in one line when it is not a whole record."""

import json

import pytest

from glmcheck.errors import UsageError
from glmcheck.record import SCHEMA, SCHEMA_VERSION, load_record, new_record, write_record


@pytest.fixture
def record_path(tmp_path):
    path = tmp_path / "results.json"
    record = new_record("check", {"cases": ["linear"]})
    record["fits"].append({"case": "linear", "r_hat": float("nan"), "ess": float("inf")})
    write_record(path, record)
    return path


def test_a_record_round_trips_with_its_environment(record_path):
    record = load_record(record_path)
    assert record["schema"] == SCHEMA and record["schema_version"] == SCHEMA_VERSION
    env = record["environment"]
    assert env["cpu_count"] >= 1 and env["python"] and env["versions"]["pymc"]
    assert record["fits"][0]["r_hat"] is None and record["fits"][0]["ess"] == "inf"
    assert not list(record_path.parent.glob(".*.tmp")), "no temporary file left behind"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda text: text[: len(text) // 2], "is truncated or not JSON"),
        (lambda text: json.dumps({"fits": []}), "is not a glmcheck run record"),
        (lambda text: text.replace(f'"schema_version": {SCHEMA_VERSION}', '"schema_version": 99'),
         "newer than this glmcheck reads"),
        (lambda text: text.replace(f'"schema_version": {SCHEMA_VERSION}', '"schema_version": "1"'),
         "invalid schema_version"),
        (lambda text: text.replace('"skipped": []', '"skipped": 3'), "malformed"),
        (lambda text: text.replace('"kind": "check"', '"kind": "bogus"'), "unknown kind"),
    ],
)
def test_bad_records_are_refused_in_one_line(record_path, mutate, message):
    record_path.write_text(mutate(record_path.read_text()))
    with pytest.raises(UsageError, match=message) as info:
        load_record(record_path)
    assert str(record_path) in str(info.value) and "\n" not in str(info.value)


def test_missing_record(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        load_record(tmp_path / "nope.json")
