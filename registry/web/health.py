"""Health checks.

``/health`` checks every backend (readiness, as in pypicloud): Cloud Run's startup probe uses
it, so a revision whose bucket or database is unusable never gets traffic, and the first
request finds the clients warm. ``/health/live`` is liveness: it answers while the process
serves requests and touches no backend, so a Firestore or GCS outage never makes Cloud Run
restart healthy instances (a restart cannot fix a backend and would add cold starts).
An admin's ``/health`` also shows each upstream's memory use and circuit breaker.

With an upstream fallback, ``/health`` also shows each upstream's reachability under
``upstreams``, from a background probe (``core.probes``): it never waits for an upstream,
and an unreachable one does not fail the check (the registry still serves what it stores).
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from werkzeug.wrappers import Response

from ..core.fallback import Fallback
from ..errors import RegistryError
from .caching import apply_cache_policy
from .common import core, identity, pages

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
    details: dict[str, object] = {}
    fallback, probes = core().fallback, core().probes
    if probes is not None:
        details["upstreams"] = probes.report()
    if fallback is not None and _asked_by_admin():
        entries, size = pages().use()
        details["upstream"] = _upstream_details(fallback) | {
            "rendered_pages": entries,
            "rendered_bytes": size,
        }
        shared = pages().shared  # big pages are upstream pages, above all
        if shared is not None:
            details["shared_pages"] = shared.use()
    response = jsonify({"status": "ok" if healthy else "error", **checks, **details})
    response.status_code = 200 if healthy else 503
    return apply_cache_policy(response, "never")


def _upstream_details(fallback: Fallback) -> dict[str, object]:
    """Each upstream's memory use and breaker: one upstream's at the top level (as before
    several upstreams existed), several by name."""
    if len(fallback.upstreams) == 1:
        return next(iter(fallback.upstreams.values())).status()
    return {name: index.status() for name, index in fallback.upstreams.items()}


def _asked_by_admin() -> bool:
    """Whether the caller sent an admin's credentials (probes send none: no check is made)."""
    if "Authorization" not in request.headers:
        return False
    try:
        return identity().is_admin
    except RegistryError:
        return False
