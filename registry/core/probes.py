"""Each upstream's reachability for ``/health``, from a probe that never holds up a request.

``report`` answers at once with the latest result of each upstream; a result older than
``pypi.upstream_probe_seconds`` starts one background check of that upstream (never two at
once), whose answer the next ``report`` shows. Only the redacted URL and the registry's own
error messages are shown: credentials never appear. An unreachable upstream does not make
``/health`` fail: the registry still serves what it stores and its other upstreams.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..errors import RegistryError
from ..upstream import UpstreamIndex

UNKNOWN = "unknown"  # not checked yet (the first check has just been started)


@dataclass(frozen=True)
class ProbeResult:
    status: str  # "ok", "error: <why>" or "unknown"
    checked_at: float | None  # the clock's time of the check (None: never)


class UpstreamProbes:
    """The latest reachability of each upstream, refreshed in the background."""

    def __init__(
        self, indexes: Mapping[str, UpstreamIndex], ttl: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.indexes = indexes
        self.ttl = ttl
        self._clock = clock
        self._results = {name: ProbeResult(UNKNOWN, None) for name in indexes}
        self._running: set[str] = set()
        self._lock = threading.Lock()

    def report(self) -> dict[str, dict[str, object]]:
        """name -> url, status and age in seconds of the check; starts checks of stale ones."""
        now = self._clock()
        shown: dict[str, dict[str, object]] = {}
        for name, index in self.indexes.items():
            with self._lock:
                result = self._results[name]
                stale = result.checked_at is None or now - result.checked_at >= self.ttl
                start = stale and name not in self._running
                if start:
                    self._running.add(name)
            if start:
                threading.Thread(target=self._check, args=(name,), name=f"probe-{name}", daemon=True).start()
            age = None if result.checked_at is None else round(now - result.checked_at, 1)
            shown[name] = {"url": index.url, "status": result.status, "checked_seconds_ago": age}
        return shown

    def _check(self, name: str) -> None:
        try:
            self.indexes[name].probe()
            status = "ok"
        except RegistryError as exc:
            status = f"error: {exc.message}"
        except Exception as exc:  # noqa: BLE001 - a probe thread must always record a result
            status = f"error: {type(exc).__name__}"
        with self._lock:
            self._results[name] = ProbeResult(status, self._clock())
            self._running.discard(name)
