"""Each upstream's reachability for ``/health``, without ever holding up a request.

What ``report`` shows for an upstream is the newest of two observations: how its last real
request went (``UpstreamIndex.last_answer``, which includes an open circuit breaker), and a
background probe of its index page. A probe is started only when both are older than
``pypi.upstream_probe_seconds`` and the process has run that long, so start-up and readiness
checks send nothing upstream and a failing upstream is not asked more often than the breaker
allows; ``report`` never waits for one. Only the redacted URL and the registry's own error
messages are shown: credentials never appear. An unreachable upstream does not make
``/health`` fail: the registry still serves what it stores, and its other upstreams.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

from ..errors import RegistryError
from ..upstream import UpstreamIndex

UNKNOWN = "unknown"  # nothing observed yet


class UpstreamProbes:
    """The latest reachability of each upstream, refreshed in the background."""

    def __init__(
        self, indexes: Mapping[str, UpstreamIndex], ttl: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.indexes = indexes
        self.ttl = ttl
        self._clock = clock
        self._started = clock()
        self._probed: dict[str, tuple[float, str]] = {}
        self._running: set[str] = set()
        self._lock = threading.Lock()

    def report(self) -> dict[str, dict[str, object]]:
        """name -> url, status and age in seconds of what it is based on; may start probes."""
        now = self._clock()
        shown: dict[str, dict[str, object]] = {}
        for name, index in self.indexes.items():
            with self._lock:
                seen = max((self._probed.get(name), index.last_answer), key=lambda s: s[0] if s else -1.0)
                stale = seen is None or now - seen[0] >= self.ttl
                start = stale and now - self._started >= self.ttl and name not in self._running
                if start:
                    self._running.add(name)
            if start:
                threading.Thread(target=self._check, args=(name,), name=f"probe-{name}", daemon=True).start()
            age = None if seen is None else round(now - seen[0], 1)
            shown[name] = {
                "url": index.url,
                "status": seen[1] if seen else UNKNOWN,
                "checked_seconds_ago": age,
            }
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
            self._probed[name] = (self._clock(), status)
            self._running.discard(name)
