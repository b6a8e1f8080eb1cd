"""The search of ``glmcheck bisect`` (no environments built): the boundary, skips, crashes."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from glmcheck.bisection import Outcome, search

VERSIONS = ["1.5", "1.6", "1.6.1", "1.6.2", "1.7.0", "1.7.1"]


def _judge(first_bad: str, *, skips=(), crashes=(), versions=VERSIONS):
    calls = []

    def probe(version):
        calls.append(version)
        if version in skips:
            return Outcome("skip", "does not install with the stack")
        if version in crashes:
            return Outcome("crash", "glmcheck: internal error")
        return Outcome("bad" if versions.index(version) >= versions.index(first_bad)
                       else "good")

    return probe, calls


def test_the_blackjax_story_names_1_6():
    probe, calls = _judge("1.6")
    result = search(VERSIONS, probe, known={"1.5": Outcome("good")})
    assert result.found and result.first == "1.6" and result.last_same == "1.5"
    assert len(calls) == len(set(calls)) <= math.ceil(math.log2(len(VERSIONS) - 1))


def test_a_skipped_candidate_is_stepped_around():
    probe, calls = _judge("1.7.0", skips={"1.6.1"})
    result = search(VERSIONS, probe, known={"1.5": Outcome("good")})
    assert result.first == "1.7.0" and calls[0] == "1.6.1" and "1.6.2" in calls


def test_only_unjudged_releases_left_gives_the_range():
    probe, _ = _judge("1.6.2", skips={"1.6.1"}, crashes={"1.6.2"})
    result = search(VERSIONS, probe, known={"1.5": Outcome("good")})
    assert not result.found and result.last_same == "1.6"
    assert result.candidates == ["1.6.1", "1.6.2", "1.7.0"]
    verdicts = {p.version: p.outcome.verdict for p in result.probes}
    assert verdicts["1.6.1"] == "skip" and verdicts["1.6.2"] == "crash"


def test_the_other_direction_finds_the_first_good_after_a_bad():
    """'--good 1.7.1 --bad 1.5': read from the bad end; the boundary is the first good."""
    def probe(version):
        return Outcome("good" if VERSIONS.index(version) >= 3 else "bad")

    result = search(VERSIONS, probe, known={"1.5": Outcome("bad")})
    assert result.first == "1.6.2" and result.last_same == "1.6.1"


def test_known_outcomes_are_reused_not_probed_again():
    probe, calls = _judge("1.6.2")
    first = search(VERSIONS, probe, known={"1.5": Outcome("good")})
    known = {"1.5": Outcome("good"), **{p.version: p.outcome for p in first.probes}}
    probe2, calls2 = _judge("1.6.2")
    again = search(VERSIONS, probe2, known=known)
    assert again.first == first.first and calls2 == []


def test_the_start_must_be_judged():
    with pytest.raises(ValueError, match="must be known"):
        search(VERSIONS, lambda v: Outcome("good"), known={"1.5": Outcome("skip")})
    with pytest.raises(ValueError, match="unknown verdict"):
        Outcome("flaky")


@given(n=st.integers(3, 40), data=st.data())
def test_the_answer_always_holds_the_true_boundary(n, data):
    versions = [f"1.{i}" for i in range(n)]
    boundary = data.draw(st.integers(1, n - 1))  # index of the first bad
    unjudged = data.draw(st.sets(st.integers(1, n - 2)))
    probe, calls = _judge(versions[boundary], versions=versions,
                          skips={versions[i] for i in unjudged})
    result = search(versions, probe, known={versions[0]: Outcome("good")})
    assert len(calls) == len(set(calls))  # each candidate at most once
    if result.found:
        assert result.first == versions[boundary]
    else:
        assert versions[boundary] in result.candidates
        assert all(versions.index(v) in unjudged for v in result.candidates[:-1])
    if not unjudged:
        assert result.found and len(calls) <= math.ceil(math.log2(n - 1)) + 1


@pytest.fixture
def index():
    """A package index on localhost that answers PEP 691 JSON."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    files = [("blackjax-1.5-py3-none-any.whl", False), ("blackjax-1.5.tar.gz", False),
             ("blackjax-1.6-py3-none-any.whl", False), ("blackjax-1.6.1-py3-none-any.whl", True),
             ("blackjax-1.6.2-py3-none-any.whl", False), ("blackjax-1.7.0rc1.tar.gz", False),
             ("blackjax-1.7.0-py3-none-any.whl", "broken build"),
             ("blackjax-1.7.0.tar.gz", False), ("blackjax-1.7.1-py3-none-any.whl", False)]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path != "/simple/blackjax/":
                self.send_error(404)
                return
            body = json.dumps({"meta": {"api-version": "1.1"}, "name": "blackjax",
                               "files": [{"filename": f, "url": f, "hashes": {},
                                          "yanked": y} for f, y in files]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.pypi.simple.v1+json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/simple"
    server.shutdown()
    server.server_close()


def test_releases_come_from_the_index_final_and_never_yanked(index):
    from glmcheck.bisection import published_releases

    assert published_releases("blackjax", index=index) == ["1.5", "1.6", "1.6.2", "1.7.0",
                                                          "1.7.1"]
    assert "1.7.0rc1" in published_releases("BlackJAX", index=index, pre=True)


def test_an_unknown_package_or_version_is_bad_input(index):
    from glmcheck.bisection import between, published_releases
    from glmcheck.errors import UsageError

    with pytest.raises(UsageError, match="'nothing' is not on the index"):
        published_releases("nothing", index=index)
    releases = published_releases("blackjax", index=index)
    assert between(releases, "1.5", "1.7.1") == releases
    assert between(releases, "1.7.1", "1.6") == ["1.7.1", "1.7.0", "1.6.2", "1.6"]
    with pytest.raises(UsageError, match="1.6.1 is not a published release"):
        between(releases, "1.5", "1.6.1")
    with pytest.raises(UsageError, match="the same version"):
        between(releases, "1.6", "1.6.0")
