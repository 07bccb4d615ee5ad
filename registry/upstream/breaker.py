"""A circuit breaker for the upstream index, shared by every worker through one small file.

When the upstream times out, cannot be reached or answers 5xx, it is left alone for
``retry_after`` seconds: meanwhile nothing is sent to it, so kept pages are served at once
and a never-seen name fails at once with the error that opened the breaker (504 for a
timeout, 502 otherwise). Then one request at a time probes it again (the probe re-arms the
breaker for the length of a timeout, so other workers keep skipping while it runs); a success
closes the breaker.

The state lives in a file (written whole with ``os.replace``) because gunicorn workers share
no memory: the first worker that notices a dead upstream spares all the others the wait.
Different instances each notice once, which is cheap. Reading the file costs one ``stat`` per
upstream request while it is closed.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ..errors import UpstreamError, UpstreamTimeout

log = logging.getLogger("registry.upstream")


class Breaker:
    """Open (skip the upstream) or closed, as recorded in ``path``."""

    def __init__(self, path: Path, retry_after: float, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.retry_after = retry_after
        self._clock = clock
        self._lock = threading.Lock()

    @classmethod
    def in_temp(cls, scope: str, retry_after: float) -> Breaker:
        """A breaker whose file is named after ``scope`` in the system's temp folder."""
        folder = Path(tempfile.gettempdir()) / "registry-upstream"
        folder.mkdir(mode=0o700, exist_ok=True)
        return cls(folder / f"breaker-{scope}.json", retry_after)

    def _read(self) -> dict[str, object] | None:
        try:
            state = json.loads(self.path.read_bytes())
        except (OSError, ValueError):
            return None
        return state if isinstance(state, dict) else None

    def _write(self, state: dict[str, object] | None) -> None:
        try:
            if state is None:
                self.path.unlink(missing_ok=True)
                return
            temp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}")
            temp.write_text(json.dumps(state))
            os.replace(temp, self.path)
        except OSError as exc:  # a breaker that cannot be saved only costs waiting time
            log.warning("Cannot record the upstream's state in %s: %s", self.path, exc.strerror)

    def state(self) -> dict[str, object]:
        """For /health: whether the upstream is being skipped, until when and why."""
        state = self._read()
        if state is None or float(str(state.get("until", 0))) <= self._clock():
            return {"open": False}
        return {"open": True, "until": state.get("until"), "reason": state.get("message")}

    def check(self, probe_seconds: float) -> None:
        """Return if the upstream may be asked (then this caller may be the probe).

        :raises UpstreamTimeout | UpstreamError: the breaker is open.
        """
        if self.retry_after <= 0 or not self.path.exists():
            return
        with self._lock:
            state = self._read()
            if state is None:
                return
            now, until = self._clock(), float(str(state.get("until", 0)))
            if until <= now:  # half-open: this caller probes; the others keep skipping meanwhile
                self._write({**state, "until": now + probe_seconds})
                return
        message = f"{state.get('message')}; it is not asked again for {until - now:.0f} seconds"
        raise (UpstreamTimeout if state.get("timeout") else UpstreamError)(message)

    def failed(self, error: UpstreamError) -> None:
        """Open the breaker after a timeout, an unreachable upstream or a 5xx."""
        if self.retry_after <= 0:
            return
        log.warning("Upstream failing (%s): skipping it for %g seconds", error.message, self.retry_after)
        state = {
            "until": self._clock() + self.retry_after,
            "message": error.message,
            "timeout": isinstance(error, UpstreamTimeout),
        }
        with self._lock:
            self._write(state)

    def succeeded(self) -> None:
        if self.path.exists():
            with self._lock:
                self._write(None)
