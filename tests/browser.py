"""A page in headless Chromium at an exact viewport, driven over the DevTools protocol.

Chromium's ``--window-size`` sizes the window, not the page (the page gets less); the
DevTools protocol's ``Emulation.setDeviceMetricsOverride`` sets the viewport itself. The
protocol runs over ``--remote-debugging-pipe`` (JSON messages ending in a NUL byte, commands on
file descriptor 3, replies on 4), so nothing beyond Debian's ``chromium`` package is needed.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tempfile
import time


_ON_FDS_3_AND_4 = (
    "import fcntl, os, sys\n"
    "high = [fcntl.fcntl(int(fd), fcntl.F_DUPFD, 10) for fd in sys.argv[1:3]]\n"
    "os.dup2(high[0], 3)\n"
    "os.dup2(high[1], 4)\n"
    "os.execv(sys.argv[3], sys.argv[3:])\n"
)


class Page:
    """``with Page(chromium, 1366, 768) as page: page.open(url); page.evaluate(js)``."""

    def __init__(self, browser: str, width: int, height: int, timeout: float = 60):
        self.timeout = timeout
        self._profile = tempfile.TemporaryDirectory(prefix="glmcheck-chromium-")
        to_browser, self._write = os.pipe()
        self._read, from_browser = os.pipe()

        # Chromium wants its pipe on fds 3 and 4. A small Python process puts it there and
        # execs Chromium: no preexec_fn, so this process never forks with its threads (JAX's)
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _ON_FDS_3_AND_4, str(to_browser), str(from_browser),
             browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--remote-debugging-pipe", f"--user-data-dir={self._profile.name}",
             "--no-first-run", "about:blank"],
            pass_fds=(to_browser, from_browser),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser)
        os.close(from_browser)
        self._buffer = b""
        self._id = 0
        self._events: list[dict] = []
        target = next(t for t in self._call("Target.getTargets")["targetInfos"]
                      if t["type"] == "page")
        self._session = self._call("Target.attachToTarget", targetId=target["targetId"],
                                   flatten=True)["sessionId"]
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=False)
        self.call("Page.enable")

    # -- the protocol ----------------------------------------------------------------------
    def _message(self) -> dict:
        deadline = time.monotonic() + self.timeout
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("Chromium did not answer")
            chunk = os.read(self._read, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed the pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def _call(self, method: str, session: str | None = None, **params) -> dict:
        self._id += 1
        message = {"id": self._id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._message()
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._events.append(reply)

    def call(self, method: str, **params) -> dict:
        return self._call(method, self._session, **params)

    # -- what a test does ------------------------------------------------------------------
    def open(self, url: str) -> None:
        """Navigate and wait for the load event (every image decoded or failed)."""
        self._events.clear()
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + self.timeout
        while not any(e.get("method") == "Page.loadEventFired" for e in self._events):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not load")
            self._events.append(self._message())

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression!r} raised: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path) -> None:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        with open(path, "wb") as fh:
            fh.write(base64.b64decode(data))

    def __enter__(self) -> Page:
        return self

    def __exit__(self, *exc) -> None:
        try:
            self._call("Browser.close")
        except Exception:
            pass
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        os.close(self._write)
        os.close(self._read)
        self._profile.cleanup()
