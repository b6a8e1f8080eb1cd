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

__all__ = [
    "Outcome", "Probe", "Result", "search", "JUDGED", "UNJUDGED", "BAD_EXIT", "classify",
    "dependency_groups", "Narrowed", "narrow",
]

#: outcomes that move the boundary, and those that do not
JUDGED = ("good", "bad")
UNJUDGED = ("skip", "crash")


#: the exit codes of the verdict that make a candidate bad unless told otherwise: a failed check
#: (1) or a failed fit (3)
BAD_EXIT = (1, 3)


@dataclass(frozen=True)
class Outcome:
    """What one candidate gave: its verdict, what happened (``kind``: "passed", "check failed",
    "fit failed", "does not install", "cannot run", "crashed", "timed out"), the one line that
    says why, the time it took and the exit code of glmcheck there."""

    verdict: str
    reason: str = ""
    seconds: float | None = None
    kind: str = ""
    exit_code: int | None = None

    def __post_init__(self):
        if self.verdict not in JUDGED + UNJUDGED:
            raise ValueError(f"unknown verdict {self.verdict!r}")

    @property
    def label(self) -> str:
        """The verdict as a table shows it: ``bad (fit failed)``, ``skip (does not install)``."""
        return f"{self.verdict} ({self.kind})" if self.kind else self.verdict

    def to_dict(self) -> dict:
        return {"verdict": self.verdict, "kind": self.kind, "reason": self.reason,
                "seconds": self.seconds, "exit_code": self.exit_code}

    @classmethod
    def from_dict(cls, data: dict) -> "Outcome":
        return cls(data["verdict"], data.get("reason", ""), data.get("seconds"),
                   data.get("kind", ""), data.get("exit_code"))


def classify(exit_code: int, record_exit: int | None, findings: list[str],
             last_error: str | None, *, bad_exit=BAD_EXIT) -> Outcome:
    """The outcome of one run of the verdict in a candidate's environment.

    ``exit_code`` is glmcheck's exit code there, ``record_exit`` the exit code its run record
    holds (None: it wrote none, or did not finish it), ``findings`` the record's one-line
    reasons and ``last_error`` the last line it printed. Only a run that wrote its record is a
    verdict: 0 good; a code in ``bad_exit`` bad; 1 or 3 outside ``bad_exit`` good (not the
    change looked for). Bad input there (2: a sampler the candidate cannot provide, an import
    that fails against the held packages) and a Python that died before writing a record are
    "skip"; an internal error (4), a signal or a timeout "crash".
    """
    why = (findings[0] + (f" (+{len(findings) - 1} more)" if len(findings) > 1 else "")
           if findings else (last_error or ""))
    if exit_code == 124 and (last_error or "").startswith("timed out"):
        return Outcome("crash", last_error, kind="timed out", exit_code=exit_code)
    if exit_code < 0:
        return Outcome("crash", last_error or f"killed by signal {-exit_code}", kind="crashed",
                       exit_code=exit_code)
    if exit_code == 4:
        return Outcome("crash", last_error or why, kind="crashed", exit_code=exit_code)
    if exit_code == 2:
        return Outcome("skip", last_error or why, kind="cannot run", exit_code=exit_code)
    if exit_code in (0, 1, 3) and record_exit == exit_code:
        kind = {0: "passed", 1: "check failed", 3: "fit failed"}[exit_code]
        if exit_code in bad_exit:
            return Outcome("bad", why, kind=kind, exit_code=exit_code)
        return Outcome("good", why if exit_code else "", kind=kind, exit_code=exit_code)
    if exit_code in (0, 1, 3):
        return Outcome("skip", f"glmcheck did not run to the end: {last_error or 'no record'}",
                       kind="cannot run", exit_code=exit_code)
    return Outcome("crash", last_error or f"exited with code {exit_code}", kind="crashed",
                   exit_code=exit_code)


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


# -- which package of a stack ------------------------------------------------------------------
def dependency_groups(good: dict[str, dict], bad: dict[str, dict]) -> list[list[str]]:
    """The packages whose versions differ between two stacks, in groups that must move
    together.

    ``good`` and ``bad`` map each installed distribution's normalized name to its ``version``
    and its ``requires`` (the requirement strings of its metadata). Moving a package from the
    bad stack into the good one drags along every changed package that its bad version needs
    at a version the good stack does not have; moving a package back is likewise held by what
    the good versions of changed packages require. Groups are sorted by name, each sorted.
    """
    from packaging.markers import InvalidMarker
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    def version(side: dict, name: str) -> str | None:
        return (side.get(name) or {}).get("version")

    changed = sorted(n for n in set(good) | set(bad) if version(good, n) != version(bad, n))
    parent = {n: n for n in changed}

    def root(n: str) -> str:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for side, other in ((bad, good), (good, bad)):
        for name, dist in side.items():
            if name not in parent:
                continue
            for text in dist.get("requires") or []:
                try:
                    req = Requirement(text)
                    if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                        continue
                except (InvalidRequirement, InvalidMarker):
                    continue
                dep = canonicalize_name(req.name)
                if dep == name or dep not in parent:
                    continue
                there = version(other, dep)
                if there is None or not req.specifier.contains(there, prereleases=True):
                    parent[root(name)] = root(dep)
    groups: dict[str, list[str]] = {}
    for n in changed:
        groups.setdefault(root(n), []).append(n)
    return sorted(groups.values())


@dataclass
class Narrowed:
    """Which groups of changed packages the verdict follows: ``groups`` (one group when the
    search pinned it), the probes made (each: the groups swapped in, and the outcome) and, when
    it could not narrow to one group, why."""

    groups: list[list[str]]
    probes: list[tuple[list[list[str]], Outcome]] = field(default_factory=list)
    note: str = ""

    @property
    def found(self) -> bool:
        return len(self.groups) == 1


def narrow(groups: list[list[str]], probe: Callable[[list[list[str]]], Outcome], *,
           on_probe: Callable[[list[list[str]], Outcome], None] | None = None) -> Narrowed:
    """Halve the changed groups until one is left whose change alone turns the verdict bad.

    ``probe(swapped)`` judges the good stack with the groups ``swapped`` taken from the bad
    stack; swapping all of them (the bad stack) is known bad. A half that is bad is searched
    further; when the first half is not bad the second is tried; when neither half alone is bad
    (the change needs packages from both, or a half cannot be judged) the search stops and says
    so.
    """
    suspects = list(groups)
    result = Narrowed(groups=suspects)
    while len(suspects) > 1:
        half = len(suspects) // 2
        outcomes = []
        for part in (suspects[:half], suspects[half:]):
            outcome = probe(part)
            result.probes.append((part, outcome))
            if on_probe is not None:
                on_probe(part, outcome)
            outcomes.append(outcome)
            if outcome.verdict == "bad":
                suspects = part
                break
        else:
            if any(o.verdict in UNJUDGED for o in outcomes):
                result.note = ("a part of the change could not be judged on its own: "
                               + "; ".join(f"{o.label}: {o.reason}" for o in outcomes
                                           if o.verdict in UNJUDGED))
            else:
                result.note = ("neither half of the change is bad on its own: the verdict needs "
                               "packages from both")
            break
    result.groups = suspects
    return result
