"""Health checks.

``/health`` checks every backend (readiness, as in pypicloud): Cloud Run's startup probe uses
it, so a revision whose bucket or database is unusable never gets traffic, and the first
request finds the clients warm. ``/health/live`` is liveness: it answers while the process
serves requests and touches no backend, so a Firestore or GCS outage never makes Cloud Run
restart healthy instances (a restart cannot fix a backend and would add cold starts).

With an upstream fallback, ``/health`` also shows each upstream's reachability under
``upstreams``, from a background probe (``core.probes``): it never waits for an upstream,
and an unreachable one does not fail the check (the registry still serves what it stores).
"""

from __future__ import annotations

from flask import Blueprint, jsonify
from werkzeug.wrappers import Response

from .caching import apply_cache_policy
from .common import core

bp = Blueprint("health", __name__)


#: Endpoints that must answer without touching a backend (no first-use start-up work either).
NO_BACKEND_ENDPOINTS = frozenset({"health.live"})


@bp.get("/health/live")
def live() -> Response:
    """Answer 200 while this process serves requests (liveness); touch no backend."""
    return apply_cache_policy(jsonify({"status": "ok"}), "never")


@bp.get("/health")
def health() -> Response:
    """Check each backend; 200 when all work, 503 naming the failing one otherwise."""
    checks = core().check_health()
    healthy = all(value == "ok" for value in checks.values())
    document: dict[str, object] = {"status": "ok" if healthy else "error", **checks}
    probes = core().probes
    if probes is not None:
        document["upstreams"] = probes.report()
    response = jsonify(document)
    response.status_code = 200 if healthy else 503
    return apply_cache_policy(response, "never")
