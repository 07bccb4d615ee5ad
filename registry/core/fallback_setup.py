"""Build the upstream clients from the ``pypi.fallback*`` and ``pypi.upstreams`` settings, each
with its collaborators: the Storage that keeps its pages for every worker and instance (in a
folder of its own, keyed by the upstream's URL), its share of the memory limit, and its
circuit breaker shared by the workers of this configuration."""

from __future__ import annotations

import hashlib

from ..config import Config
from ..config.views import UpstreamSettings
from ..errors import InvalidUpload
from ..storage import Storage
from ..upstream import UpstreamIndex, redact
from ..upstream.breaker import Breaker
from ..upstream.store import PageStore, space_of
from .distribution import parse_filename


def version_of(project: str, filename: str) -> str | None:
    """The version of an upstream file, if it is a distribution of exactly this project."""
    try:
        parsed = parse_filename(filename)
    except InvalidUpload:
        return None
    return str(parsed.version) if parsed.project == project else None


def breaker_scope(config: Config, url: str) -> str:
    """A name shared by every process running this configuration against this upstream (so by
    one server's workers), and by nobody else: two registries on one machine, or two upstreams
    of one registry, never share a breaker by accident."""
    text = f"{config.fingerprint()}\n{redact(url)}"
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def upstreams_from_config(config: Config, storage: Storage) -> dict[str, UpstreamIndex]:
    """The upstreams by name, in ``pypi.upstreams`` order (``pypi.fallback_url`` is a list of
    one named ``default``); empty when fallback is off. Each keeps its pages in its own Storage
    folder and has its own breaker, timeout, page TTL and credentials."""
    settings = config.settings.fallback
    if settings.mode == "none":
        return {}
    return {upstream.name: _index(config, storage, upstream) for upstream in settings.upstreams}


def _index(config: Config, storage: Storage, upstream: UpstreamSettings) -> UpstreamIndex:
    settings = config.settings.fallback
    return UpstreamIndex(
        upstream.url,
        username=upstream.username,
        password=upstream.password,
        token=upstream.token,
        timeout=upstream.timeout,
        page_ttl=upstream.page_ttl,
        store=PageStore(storage, space_of(redact(upstream.url))),
        memory_limit=settings.memory // max(1, len(settings.upstreams)),
        breaker=Breaker.in_temp(breaker_scope(config, upstream.url), settings.retry_after),
        version_of=version_of,
        wait_for_refresh=settings.wait_for_refresh,
    )
