"""Benchmarks inside other environments, and two stacks interleaved in one time window.

A worker is ``python -m glmcheck bench worker`` started in an environment
(:mod:`glmcheck.environments`). It speaks JSON lines: the controller sends the request, the
worker compiles every configuration once, fits each once to warm up and answers with its
environment; then each ``{"step": [config, repeat, fits]}`` is one repeat (a block of ``fits``
fits, the same on both sides), answered with its metrics. The two sides take turns repeat by
repeat — A B B A for each configuration and repeat, so that a drift of the machine within a
pair falls on both alike — while the other side waits idle on its pipes; each side has
:data:`PROCESSES` workers, repeat k in worker k mod PROCESSES. The order the repeats ran is
kept in each side's record.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass

from glmcheck.errors import EXIT_FIT, EXIT_USAGE, FitError, InternalError, UsageError

__all__ = ["PROTOCOL", "serve", "Worker", "interleave"]

#: bumped whenever controller and worker would misread each other
PROTOCOL = 1


# -- the worker side --------------------------------------------------------------------------
def serve(stdin=None, stdout=None) -> int:
    """Run as a worker: JSON lines in on stdin, out on the original stdout. Whatever the
    libraries print goes to stderr, so it cannot corrupt the protocol."""
    from glmcheck import __version__
    from glmcheck.bench import BenchRequest, BenchSession
    from glmcheck.cli import describe_error
    from glmcheck.record import environment

    if stdout is None:
        stdout = os.fdopen(os.dup(1), "w", buffering=1)
        os.dup2(2, 1)
        sys.stdout = sys.stderr
    stdin = stdin or sys.stdin

    def send(message: dict) -> None:
        stdout.write(json.dumps(message, allow_nan=False) + "\n")
        stdout.flush()

    session = None
    for line in stdin:
        try:
            message = json.loads(line)
            if "request" in message:
                if message.get("protocol") != PROTOCOL:
                    raise UsageError(
                        f"this environment runs glmcheck {__version__} (worker protocol "
                        f"{PROTOCOL}), not the protocol {message.get('protocol')} of the "
                        f"controller: install the same glmcheck in both environments"
                    )
                session = BenchSession(BenchRequest.from_dict(message["request"]))
                configs = session.prepare()
                send({"ready": True, "glmcheck": __version__, "environment": environment(),
                      "configs": _json(configs)})
            elif "step" in message:
                index, repeat, fits = message["step"]
                send(_json(session.step(int(index), int(repeat), fits)))
            elif message.get("done"):
                send({"bye": True, "configs": _json(session.configs if session else [])})
                return 0
        except Exception as exc:
            code, reason = describe_error(exc)
            send({"error": reason.removeprefix("glmcheck: ").removeprefix("error: "),
                  "exit": code})
            return code
    return 0


def _json(value):
    from glmcheck.results import json_safe

    return json_safe(value)


# -- the controller side ----------------------------------------------------------------------
@dataclass
class Worker:
    """A worker process in an environment; :meth:`start` sends the request and waits until
    every configuration is compiled."""

    env: object  # glmcheck.environments.Environment
    process: subprocess.Popen | None = None
    ready: dict | None = None

    def start(self, request: dict) -> None:
        """Start the worker and send it the request; :meth:`wait_ready` waits until it has
        compiled every configuration."""
        self._log = tempfile.TemporaryFile(mode="w+")
        self.process = self.env.popen(
            "bench", "worker", stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._log, text=True, bufsize=1,
        )
        self.send({"protocol": PROTOCOL, "request": request})

    def wait_ready(self) -> dict:
        self.ready = self.answer()
        return self.ready

    def ask(self, message: dict) -> dict:
        self.send(message)
        return self.answer()

    def send(self, message: dict) -> None:
        try:
            self.process.stdin.write(json.dumps(message) + "\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            pass  # the worker is gone: answer() says why

    def answer(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            code = self.process.wait()
            why = self._last_log_line() or "no message"
            if self.ready is None:  # it never started: the environment cannot run glmcheck
                raise UsageError(f"environment {self.env.label} cannot run a glmcheck "
                                 f"benchmark worker (exit {code}): {why}")
            raise InternalError(
                f"the benchmark worker in {self.env.label} exited ({code}) without answering: "
                f"{why}"
            )
        answer = json.loads(line)
        if "error" in answer:
            self.process.wait()
            where = f"environment {self.env.label}: {answer['error']}"
            error = {EXIT_USAGE: UsageError, EXIT_FIT: FitError}.get(answer.get("exit"),
                                                                     InternalError)
            raise error(where)
        return answer

    def close(self) -> dict | None:
        """Ask the worker for its configurations and let it exit; stop it in any case."""
        if self.process is None:
            return None
        try:
            return self.ask({"done": True}) if self.process.poll() is None else None
        finally:
            self.stop()

    def stop(self) -> None:
        """Kill the worker if it still runs, and close its pipes and log."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):  # a dead worker's pipe cannot flush
                    pipe.close()
        self._log.close()

    def _last_log_line(self) -> str:
        self._log.seek(0)
        lines = [ln.strip() for ln in self._log.read().splitlines() if ln.strip()]
        return lines[-1] if lines else ""


#: worker processes per environment in an interleaved run: two processes of one stack differ in
#: speed by a few percent for as long as they live (sd 6.5 % of the ratio of two medians of
#: ``linear`` fit times on a 2-core machine), which one process per side would read as a
#: change; repeats spread over three processes per side average it down by √3
PROCESSES = 3


def interleave(request: dict, envs: list, progress: Callable[[str, int, int], None] | None = None,
               processes: int = 1) -> list[dict]:
    """Run the benchmark ``request`` in each environment of ``envs`` (one or two), taking
    turns fit by fit, with ``processes`` worker processes per environment (repeat k runs in
    process k mod ``processes``); returns one ``{"ready": …, "bench": …}`` per environment.

    Order: for each repeat and configuration, A then B on even repeats and B then A on odd
    ones (A B B A …), so that a linear drift of the machine cancels within each pair.
    """
    import uuid

    from glmcheck.bench import bench_body

    say = progress or (lambda text, done, total: None)
    sides = [[Worker(env) for _ in range(processes)] for env in envs]
    try:
        # every worker starts and compiles at once (compile times are measured side by side)
        say(f"starting {processes * len(sides)} worker processes and compiling", 0, 0)
        for side in sides:
            for worker in side:
                worker.start(request)
        for side in sides:
            for worker in side:
                worker.wait_ready()
        configs = sides[0][0].ready["configs"]
        n = len(configs)
        # every process of both sides fits the blocks the first one calibrated
        blocks = [c.get("fits_per_repeat") for c in configs]
        if any(len(w.ready["configs"]) != n for side in sides for w in side):
            raise InternalError("the workers planned different configurations")
        total = n * request["repeats"] * len(sides)
        order: list = []
        done = 0
        for repeat in range(request["repeats"]):
            process = repeat % processes
            for index in range(n):
                turn = list(range(len(sides))) if repeat % 2 == 0 else list(range(len(sides)))[::-1]
                for s in turn:
                    worker = sides[s][process]
                    answer = worker.ask({"step": [index, repeat, blocks[index]]})
                    done += 1
                    if "skipped" not in answer:
                        order.append(["AB"[s], index, repeat, process])
                    say(f"{worker.env.label}: {configs[index]['case']} · "
                        f"{configs[index]['frontend']} · {configs[index]['sampler']}", done, total)
        finals = [[w.close() for w in side] for side in sides]
    finally:
        for side in sides:
            for worker in side:
                worker.stop()
    window = uuid.uuid4().hex if len(sides) == 2 else None
    return [{"ready": side[0].ready,
             "bench": bench_body(_merge([f["configs"] for f in final], blocks), order, window)}
            for side, final in zip(sides, finals)]


def _merge(per_process: list[list[dict]], blocks: list[int | None]) -> list[dict]:
    """One side's configurations from its worker processes: every process's runs (each marked
    with its process), the median compile time (and each process's), the first failure."""
    import statistics

    merged = []
    for versions, block in zip(zip(*per_process), blocks):
        config = dict(versions[0])
        config["fits_per_repeat"] = block
        config["runs"] = sorted(
            ({**run, "process": p} for p, c in enumerate(versions) for run in c["runs"]),
            key=lambda run: run["repeat"])
        compiles = [c.get("compile_s") for c in versions]
        if all(c is not None for c in compiles):
            config["compile_s"] = statistics.median(compiles)
            config["compile_s_processes"] = compiles
        config["failure"] = next((c["failure"] for c in versions if c.get("failure")), None)
        for c in versions:
            config.setdefault("settings", c.get("settings"))
        merged.append(config)
    return merged
