"""The search of ``glmcheck bisect``: which release between a good and a bad one changed the
verdict, as ``git bisect`` finds a commit.

Candidates are the releases strictly between the two ends, in version order. Each probe
returns an :class:`Outcome`: ``good`` or ``bad`` (the verdict of the asked-for check),
``skip`` (the candidate cannot be judged: it does not install with the rest of the stack, or
glmcheck cannot run beside it) or ``crash`` (glmcheck ran and crashed, exit 4: cannot judge
either, but reported as a crash, not a skip). The search binary-searches the good/bad boundary;
a candidate that cannot be judged is stepped around (the nearest untried candidate to the
middle is tried instead), and when only unjudged candidates separate the last good from the
first bad, the answer is that range, as ``git bisect`` says "only skipped commits left".

Both directions use the same search: "what broke us?" looks for the first release whose
verdict is bad after a good one; "what is the lowest version we can require?" (``--good`` newer
than ``--bad``) looks for the first good release after a bad one, by reading the releases from
the bad end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

__all__ = ["Outcome", "Probe", "Result", "search", "JUDGED", "UNJUDGED"]

#: outcomes that move the boundary, and those that do not
JUDGED = ("good", "bad")
UNJUDGED = ("skip", "crash")


@dataclass(frozen=True)
class Outcome:
    """What one candidate gave: its verdict and the one line that says why."""

    verdict: str
    reason: str = ""
    seconds: float | None = None

    def __post_init__(self):
        if self.verdict not in JUDGED + UNJUDGED:
            raise ValueError(f"unknown verdict {self.verdict!r}")


@dataclass(frozen=True)
class Probe:
    version: str
    outcome: Outcome


@dataclass
class Result:
    """The answer: ``first`` (the first release on the other side of the boundary) when the
    search pinned it, else ``candidates``: the unjudged releases, one of which is it."""

    last_same: str
    first: str | None
    candidates: list[str]
    probes: list[Probe] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return self.first is not None


def search(versions: list[str], probe: Callable[[str], Outcome], *,
           on_probe: Callable[[Probe], None] | None = None,
           known: dict[str, Outcome] | None = None) -> Result:
    """Find where the verdict changes along ``versions``.

    ``versions[0]`` has the starting verdict and ``versions[-1]`` the other one (the caller
    has established both); the releases between are probed at most once each, reusing
    ``known`` outcomes (a resumed search). The verdict of ``versions[0]`` is "same", the other
    end's "other": a probe's ``good``/``bad`` is mapped by comparing with ``versions[0]``'s,
    which the caller passes as ``known[versions[0]]``.
    """
    if len(versions) < 2:
        raise ValueError("a search needs the two ends")
    known = dict(known or {})
    start = known.get(versions[0])
    if start is None or start.verdict not in JUDGED:
        raise ValueError(f"the verdict of {versions[0]} must be known and good or bad")
    probes: list[Probe] = []
    lo, hi = 0, len(versions) - 1  # versions[lo] is "same", versions[hi] is "other"
    unjudged: set[int] = set()
    while True:
        inside = [i for i in range(lo + 1, hi) if i not in unjudged]
        if not inside:
            break
        middle = (lo + hi) / 2
        i = min(inside, key=lambda k: (abs(k - middle), k))
        version = versions[i]
        outcome = known.get(version)
        if outcome is None:
            outcome = probe(version)
            known[version] = outcome
        record = Probe(version, outcome)
        probes.append(record)
        if on_probe is not None:
            on_probe(record)
        if outcome.verdict not in JUDGED:
            unjudged.add(i)
        elif outcome.verdict == start.verdict:
            lo = i
        else:
            hi = i
    between = [versions[i] for i in range(lo + 1, hi)]
    if between:  # only unjudged releases between: any of them, or the other end, is it
        return Result(last_same=versions[lo], first=None, candidates=[*between, versions[hi]],
                      probes=probes)
    return Result(last_same=versions[lo], first=versions[hi], candidates=[versions[hi]],
                  probes=probes)


# -- the releases between two versions ---------------------------------------------------------
#: PEP 691: the JSON form of the simple repository API
_JSON = "application/vnd.pypi.simple.v1+json"
DEFAULT_INDEX = "https://pypi.org/simple"


def index_url() -> str:
    """The package index this machine installs from: ``$UV_INDEX_URL``, ``$PIP_INDEX_URL``,
    else PyPI."""
    import os

    return (os.environ.get("UV_INDEX_URL") or os.environ.get("PIP_INDEX_URL")
            or DEFAULT_INDEX).rstrip("/")


def published_releases(package: str, *, index: str | None = None, pre: bool = False,
                       timeout: float = 30) -> list[str]:
    """Every release of ``package`` on the index, oldest first: final releases only unless
    ``pre``; a release whose every file is yanked never (PEP 592)."""
    import json
    import urllib.error
    import urllib.request

    from packaging.utils import (
        InvalidSdistFilename, InvalidWheelFilename, canonicalize_name, parse_sdist_filename,
        parse_wheel_filename,
    )
    from packaging.version import Version

    from glmcheck.errors import UsageError

    index = (index or index_url()).rstrip("/")
    url = f"{index}/{canonicalize_name(package)}/"
    request = urllib.request.Request(url, headers={"Accept": _JSON})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise UsageError(f"package {package!r} is not on the index {index}") from None
        raise UsageError(f"the index {index} answered {exc.code} for {package!r}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise UsageError(f"cannot read {url} ({getattr(exc, 'reason', exc)}); is the index "
                         f"reachable?") from None
    live: dict[Version, bool] = {}
    for entry in body.get("files", []):
        name = entry.get("filename", "")
        try:
            version = (parse_wheel_filename(name)[1] if name.endswith(".whl")
                       else parse_sdist_filename(name)[1])
        except (InvalidWheelFilename, InvalidSdistFilename):
            continue
        live[version] = live.get(version, False) or not entry.get("yanked", False)
    return [str(v) for v in sorted(live) if live[v] and (pre or not v.is_prerelease)]


def between(releases: list[str], good: str, bad: str) -> list[str]:
    """The releases from ``good`` to ``bad`` (both ends included, in the order the search
    walks: from ``good``), whichever is older."""
    from packaging.version import Version

    from glmcheck.errors import UsageError

    ends = [Version(good), Version(bad)]
    if ends[0] == ends[1]:
        raise UsageError(f"--good and --bad are the same version ({good})")
    known = {Version(r): r for r in releases}
    for given, v in zip((good, bad), ends):
        if v not in known:
            raise UsageError(f"{given} is not a published release (known: "
                             f"{', '.join(releases[-8:])}{' …' if len(releases) > 8 else ''})")
    low, high = sorted(ends)
    walk = [known[v] for v in sorted(known) if low <= v <= high]
    return walk if ends[0] < ends[1] else walk[::-1]
