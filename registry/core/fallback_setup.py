"""Build the upstream client from the ``pypi.fallback*`` settings, with its collaborators: the
Storage that keeps its pages for every worker and instance (in a folder of its own, so a
second upstream keeps its own pages), the memory limit, and the circuit breaker shared by the
workers of this configuration."""

from __future__ import annotations

import hashlib

from ..config import Config
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
    settings = "\n".join(f"{key}={value}" for key, value in sorted(config.raw.items()))
    text = f"{config.here}\n{settings}\n{redact(url)}"
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def upstream_from_config(config: Config, storage: Storage) -> UpstreamIndex | None:
    """The upstream of ``pypi.fallback_url``, or None when fallback is off."""
    settings = config.settings.fallback
    if settings.mode == "none" or not settings.url:
        return None
    return UpstreamIndex(
        settings.url,
        username=settings.username,
        password=settings.password,
        timeout=settings.timeout,
        page_ttl=settings.page_ttl,
        store=PageStore(storage, space_of(redact(settings.url))),
        memory_limit=settings.memory,
        breaker=Breaker.in_temp(breaker_scope(config, settings.url), settings.retry_after),
        version_of=version_of,
        wait_for_refresh=settings.wait_for_refresh,
    )
