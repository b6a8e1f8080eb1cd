"""One scheduled job of SBC simulations over several configurations: local processes or Dask.

A *job* is one configuration (:class:`~glmcheck.sbc.SBCConfig`) with the simulation indices it
still needs. :func:`run_local` and :func:`run_dask` run any number of jobs as one stream of
:class:`Done` events (one per finished simulation, in the order they finish) and
:class:`Broken` events (a configuration whose model could not be built: none of its
simulations run, the others go on).

Local processes. On Linux, the parent process compiles each configuration once and *forks* its
workers after the compile: they share the parent's imports and compiled model instead of each
paying them (measured on ``linear`` with nutpie: imports 2.7 s, a fresh compile 11-13 s). A
worker serves one configuration. It holds at most :data:`DEPTH` simulations at a time, so the
last ones spread over every worker; when its configuration has none left to hand out it stops,
and its slot goes to the next configuration, which the parent compiled while the previous one
ran (the running workers get their fair share of the remaining simulations first, so they keep
busy while the parent compiles). Samplers that are not fork-safe (JAX's runtime is
multithreaded; see :attr:`Fitter.fork_safe <glmcheck.fitters.base.Fitter.fork_safe>`) and
platforms without ``fork`` get spawned workers that compile for themselves.

Threads. Each worker's sampler runs its chains on ``cpu_count // workers`` threads (at least
1), so that the workers' threads together fill the cores without fighting over them.

Dask. Every simulation is one task; a Dask worker keeps the compiled models of the last few
configurations it ran (:data:`KEEP_COMPILED`), and tasks are submitted configuration by
configuration, so a worker compiles each configuration it meets once.
"""

from __future__ import annotations

import os
import pickle
import queue
import re
import sys
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from glmcheck.errors import GlmcheckError, InternalError, MissingDependency, UsageError

__all__ = ["Job", "Done", "Dispatched", "Broken", "run_local", "run_dask", "dask_client", "check_scheduler",
           "threads_per_worker"]

#: simulations a local worker holds at a time: one running, one waiting (no idle round trip)
DEPTH = 2
#: compiled configurations a Dask worker keeps
KEEP_COMPILED = 4
#: seconds between checks that every local worker is still alive
_POLL_S = 0.5


@dataclass
class Job:
    """A configuration and the simulations of it still to run. ``identity`` is what its run
    store records (library versions, source hashes): a worker that runs other code refuses."""

    config: object
    todo: list[int]
    identity: dict | None = None


@dataclass(frozen=True)
class Done:
    job: int
    record: dict


@dataclass(frozen=True)
class Dispatched:
    """The first simulation has been handed to a worker: start-up (compiling, starting
    workers) is over. Once per run, before any :class:`Done`."""


@dataclass(frozen=True)
class Broken:
    job: int
    error: GlmcheckError


def threads_per_worker(workers: int) -> int:
    """Sampler threads per worker process: the cores shared out, at least one each."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))


# -- the worker side ---------------------------------------------------------------------------
_COMPILED: dict = {}


def _worker_for(config, identity: dict | None = None):
    """The compiled :class:`~glmcheck.sbc.SBCWorker` of ``config`` in this process, compiled on
    first use (the last :data:`KEEP_COMPILED` configurations stay compiled), or the
    :class:`GlmcheckError` that stopped its model from building. A process whose code or
    libraries differ from ``identity`` (what the run store records) raises: that refuses the run.
    """
    from glmcheck.sbc import SBCWorker, check_identity

    worker = _COMPILED.pop(config, None)
    if worker is None:
        if identity is not None:
            check_identity(config, identity)
        try:
            worker = SBCWorker(config)
        except GlmcheckError as exc:
            return exc
        while len(_COMPILED) >= KEEP_COMPILED:
            _COMPILED.pop(next(iter(_COMPILED)))
    _COMPILED[config] = worker  # most recently used last
    return worker


class _Raised:
    """An exception on its way from a worker to the parent, pickled where it can be."""

    def __init__(self, exc: BaseException, compiling: bool):
        self.compiling = compiling
        try:
            pickle.dumps(exc)
            self.exc = exc
        except Exception:  # an exception that does not pickle arrives as its text
            self.exc = InternalError(f"{type(exc).__name__}: {exc}")


def _serve(bound: int | None, worker, specs, tasks, results, threads: int,
           inherited=()) -> None:
    """A worker process: the simulations ``(job, index)`` the parent hands out, until it sends
    None or dies (end of file on ``tasks``). A forked worker holds the compiled model of job
    ``bound``; a spawned one compiles each job's model (``specs[job]``: its config and identity)
    when it first meets it. ``inherited``: the parent's ends of the task pipes, which a forked
    worker closes, so that a killed parent leaves no worker waiting for tasks."""
    for connection in inherited:
        connection.close()
    while True:
        try:
            task = tasks.recv()
        except (EOFError, OSError):  # the parent is gone: nobody reads what is unsent
            results.cancel_join_thread()
            return
        if task is None:
            return
        k, index = task
        try:
            if k == bound:
                current = worker
            else:
                current = _worker_for(*specs[k])
                if isinstance(current, GlmcheckError):
                    raise current
            current.use_threads(threads)
        except BaseException as exc:  # this job's model does not build here
            results.put((k, index, _Raised(exc, compiling=True)))
            continue
        try:
            record = current.simulate(index)
        except BaseException as exc:
            results.put((k, index, _Raised(exc, compiling=False)))
            return
        results.put((k, index, record))


# -- local processes ---------------------------------------------------------------------------
@dataclass
class _Slot:
    """A worker process and the simulations it holds; ``job`` is what it works on now (a
    forked worker only ever works on the job it was forked for)."""

    job: int
    forked: bool
    process: object
    tasks: object  # the parent's end of the worker's task pipe
    held: deque = field(default_factory=deque)

    def give(self, k: int, index: int) -> None:
        self.held.append((k, index))
        self.tasks.send((k, index))


def _forks(config) -> bool:
    """Whether this configuration's workers can be forked from a parent that compiled it: on
    Linux, for a fork-safe sampler, in a process that has not imported JAX (whose runtime
    threads a fork would break, whatever sampler the workers run)."""
    from glmcheck.fitters import get_fitter

    return (sys.platform.startswith("linux") and "jax" not in sys.modules
            and bool(getattr(get_fitter(config.sampler), "fork_safe", False)))


def run_local(jobs: list[Job], workers: int, stopped: set[int] | None = None
              ) -> Iterator[Done | Broken]:
    """Run ``jobs`` on ``workers`` local processes; see the module docstring.

    ``stopped``: jobs the caller has stopped (it may add to the set between events): none of
    their simulations is handed out any more; those a worker already holds still arrive."""
    import multiprocessing

    stopped = set() if stopped is None else stopped
    jobs = list(jobs)
    order = [k for k, job in enumerate(jobs) if job.todo]
    if not order:
        return
    threads = threads_per_worker(workers)
    dispatched = False
    if workers == 1:  # in this process: nothing to share, and a debugger sees everything
        for k in order:
            worker = _worker_for(jobs[k].config, jobs[k].identity)
            if isinstance(worker, GlmcheckError):
                yield Broken(k, worker)
                continue
            worker.use_threads(threads)
            if not dispatched:
                dispatched = True
                yield Dispatched()
            for index in jobs[k].todo:
                if k in stopped:
                    break
                yield Done(k, worker.simulate(index))
        return
    forking = {k: _forks(jobs[k].config) for k in order}
    specs = [(job.config, job.identity) for job in jobs]
    spawn = multiprocessing.get_context("spawn")
    results = spawn.Queue()
    waiting = {k: deque(jobs[k].todo) for k in order}  # not yet handed to a worker
    compiled: dict[int, object] = {}
    broken: set[int] = set()
    slots: list[_Slot] = []

    def compile_(k: int) -> GlmcheckError | None:
        """Compile job ``k`` in this process (for forked workers); its error, if any."""
        if k in compiled:
            return None
        from glmcheck.sbc import SBCWorker

        try:
            compiled[k] = SBCWorker(jobs[k].config)
        except GlmcheckError as exc:
            return exc
        return None  # the parent is this run's own code: no identity to check

    def start(k: int) -> None:
        context = multiprocessing.get_context("fork" if forking[k] else "spawn")
        reader, writer = context.Pipe(duplex=False)
        bound, worker = (k, compiled[k]) if forking[k] else (None, None)
        inherited = (writer, *(s.tasks for s in slots)) if forking[k] else ()
        process = context.Process(target=_serve, daemon=True,
                                  args=(bound, worker, specs, reader, results, threads, inherited))
        process.start()
        reader.close()
        slot = _Slot(job=k, forked=forking[k], process=process, tasks=writer)
        slots.append(slot)
        refill(slot)

    def refill(slot: _Slot) -> None:
        """Top the worker up; an idle one moves to the next job it can take, or stops."""
        for k in stopped & waiting.keys():
            waiting[k].clear()
        while True:
            k = slot.job
            while waiting[k] and len(slot.held) < DEPTH:
                slot.give(k, waiting[k].popleft())
            if slot.held:
                return
            k = None if slot.forked else next_job(spawned=True)
            if k is None:
                stop(slot)
                return
            slot.job = k

    def stop(slot: _Slot) -> None:
        slots.remove(slot)
        try:
            slot.tasks.send(None)
        except OSError:  # already gone
            pass
        slot.tasks.close()
        slot.process.join(timeout=10)
        if slot.process.is_alive():
            slot.process.kill()
            slot.process.join()

    def mark_broken(k: int, error: GlmcheckError) -> Broken:
        broken.add(k)
        waiting[k].clear()  # what workers hold of it comes back as errors, and is dropped
        compiled.pop(k, None)
        return Broken(k, error)

    def next_job(after=frozenset(), spawned: bool = False) -> int | None:
        return next((k for k in order if waiting[k] and k not in broken and k not in after
                     and not (spawned and forking[k])), None)

    try:
        while True:
            for k in stopped & waiting.keys():
                waiting[k].clear()
            # fill free slots, first with the earliest configuration that has work left
            while len(slots) < workers and (k := next_job()) is not None:
                if forking[k]:
                    error = compile_(k)
                    if error is not None:
                        yield mark_broken(k, error)
                        continue
                start(k)
                if not dispatched:
                    dispatched = True
                    yield Dispatched()
                if not waiting[k]:
                    compiled.pop(k, None)  # every worker it will have is forked
            if not slots:
                return
            # compile the next configuration while this one runs, its workers stocked up
            running = {s.job for s in slots}
            ahead = next_job(after=running)
            if ahead is not None and forking[ahead] and ahead not in compiled:
                for k in running:
                    mine = [s for s in slots if s.job == k]
                    share = -(-len(waiting[k]) // len(mine))
                    for slot in mine:
                        for _ in range(share):
                            if waiting[k]:
                                slot.give(k, waiting[k].popleft())
                error = compile_(ahead)
                if error is not None:
                    yield mark_broken(ahead, error)
            try:
                k, index, payload = results.get(timeout=_POLL_S)
            except queue.Empty:
                dead = [s for s in slots if not s.process.is_alive()]
                if dead:
                    s = dead[0]
                    raise InternalError(
                        f"an SBC worker process died (exit code {s.process.exitcode}) running "
                        f"{_describe(jobs[s.job].config)}; rerun the same command to resume"
                    )
                continue
            slot = next((s for s in slots if (k, index) in s.held), None)
            if slot is None:
                raise InternalError(f"an SBC worker returned simulation {index} of "
                                    f"{_describe(jobs[k].config)}, which no worker held")
            slot.held.remove((k, index))
            if isinstance(payload, _Raised):
                if not payload.compiling or not isinstance(payload.exc, GlmcheckError):
                    raise payload.exc
                if k not in broken:
                    yield mark_broken(k, payload.exc)
            elif k not in broken:
                yield Done(k, payload)
            refill(slot)
    finally:
        for slot in list(slots):
            slot.process.kill()
            slot.process.join()
        slots.clear()
        results.close()
        results.cancel_join_thread()


def _describe(config) -> str:
    return f"{config.case} · {config.frontend} · {config.sampler}"


# -- Dask --------------------------------------------------------------------------------------
def _task(config, index: int, identity: dict | None = None):
    """One simulation on a Dask worker: its record, or ``("broken", error)`` when the
    configuration's model cannot be built there."""
    worker = _worker_for(config, identity)
    if isinstance(worker, GlmcheckError):
        return ("broken", worker)
    return worker.simulate(index)


def run_dask(client, jobs: list[Job], stopped: set[int] | None = None
             ) -> Iterator[Done | Broken]:
    """Run ``jobs`` as tasks on a Dask cluster, submitted configuration by configuration;
    the tasks of a job in ``stopped`` (as for :func:`run_local`) are cancelled."""
    from distributed import as_completed

    stopped = set() if stopped is None else stopped
    cancelled: set[int] = set()
    futures = {}
    for k, job in enumerate(jobs):
        if job.todo:
            batch = client.map(_task, [job.config] * len(job.todo), job.todo,
                               [job.identity] * len(job.todo), pure=False)
            futures.update((f, k) for f in batch)
    broken: set[int] = set()
    yield Dispatched()
    for future in as_completed(list(futures)):
        k = futures[future]
        if k in stopped and k not in cancelled:
            cancelled.add(k)
            client.cancel([f for f, j in futures.items() if j == k and not f.done()])
        if k in broken or (k in cancelled and future.cancelled()):
            continue
        outcome = future.result()
        if isinstance(outcome, tuple) and outcome[:1] == ("broken",):
            broken.add(k)
            client.cancel([f for f, j in futures.items() if j == k])
            yield Broken(k, outcome[1])
            continue
        yield Done(k, outcome)


#: a Dask scheduler address: protocol://host[:port][/path] (tcp, tls, ws, wss, ucx, inproc)
_ADDRESS = re.compile(
    r"[A-Za-z][A-Za-z0-9+.-]*://(\[[0-9A-Fa-f:.]+\]|[^\s:/\[\]]+)(:[0-9]{1,5})?(/\S*)?"
)


def check_scheduler(scheduler: str | None) -> None:
    """Refuse anything but ``'local'`` or an address such as ``tcp://host:8786``."""
    if scheduler is None or scheduler == "local":
        return
    if not isinstance(scheduler, str) or not _ADDRESS.fullmatch(scheduler):
        text = repr(scheduler)
        raise UsageError(
            "expected scheduler 'local' or a Dask scheduler address such as tcp://host:8786 "
            f"but got {text if len(text) <= 60 else text[:57] + '...'}"
        )


@contextmanager
def dask_client(scheduler: str, workers: int):
    """A client of the cluster at ``scheduler``, or of a local one (``'local'``) of
    ``workers`` single-threaded processes, closed on exit."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise MissingDependency(
            "--scheduler needs dask distributed, which is not installed: pip install distributed"
        ) from None
    cluster = None
    try:
        if scheduler == "local":
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=":0")
            client = Client(cluster)
        else:
            client = Client(scheduler, timeout="10s")
    except (OSError, TimeoutError, ValueError) as exc:
        if cluster is not None:
            cluster.close()
        raise UsageError(
            f"cannot reach the Dask scheduler {scheduler!r}: {' '.join(str(exc).split())}"
        ) from None
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
