"""Typed, frozen views of the settings, built once from the validated values.

Code reads ``config.settings.fallback.timeout`` (a float) rather than
``config["pypi.fallback_timeout"]`` (``Any``): this module is the one place where a key's
parsed value is given its type. Each view holds the settings one part of the registry reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from packaging.utils import NormalizedName, canonicalize_name

from ..errors import ConfigError


@dataclass(frozen=True)
class Backends:
    """Which backends hold files, metadata and access data (names or dotted paths)."""

    storage: str
    db: str
    auth: str


@dataclass(frozen=True)
class Limits:
    """Sizes an upload may have."""

    max_file_size: int
    max_large_file_size: int
    max_unpacked_size: int


@dataclass(frozen=True)
class AccessDefaults:
    """Who may do what where a project has no ``package.*`` rule (principal lists)."""

    read: tuple[str, ...]
    write: tuple[str, ...]
    cache_update: tuple[str, ...]
    allow_overwrite: tuple[str, ...]
    allow_delete: tuple[str, ...]


@dataclass(frozen=True)
class UpstreamSettings:
    """One upstream index (``upstream.<name>.*``, or the ``pypi.fallback_*`` keys as ``default``).

    ``projects``: canonical names or ``fnmatch`` patterns routed to this upstream only (empty:
    any project no other upstream's patterns claim)."""

    name: str
    url: str
    username: str = ""
    password: str = ""
    token: str = ""
    timeout: float = 10.0
    page_ttl: int = 300
    projects: tuple[str, ...] = ()


@dataclass(frozen=True)
class FallbackSettings:
    """The upstream indexes and the rules for using them (``pypi.fallback*``, ``pypi.upstreams``).

    ``upstreams``: the effective ordered list (the ``pypi.fallback_*`` keys make a list of one).
    """

    mode: str
    url: str
    username: str
    password: str
    timeout: float
    page_ttl: int
    always_show_upstream: bool
    disallowed: frozenset[NormalizedName]
    wait_for_refresh: bool
    retry_after: float
    memory: int  # bytes per worker for parsed and for rendered upstream pages
    upstreams: tuple[UpstreamSettings, ...] = ()
    probe_seconds: int = 60


@dataclass(frozen=True)
class CooldownSettings:
    """The release cooldown for upstream files (``pypi.fallback_min_age*``)."""

    min_age: int  # seconds; 0: off
    allow_unknown: bool  # files without an upstream upload time pass
    exempt: frozenset[NormalizedName]


@dataclass(frozen=True)
class IndexCaching:
    """How long clients and a CDN may keep public index pages."""

    max_age: int
    cdn_max_age: int
    stale_while_revalidate: int


@dataclass(frozen=True)
class AuthSettings:
    """Logins: admins, remembered checks, refresh of access data, failure limits."""

    admins: tuple[str, ...]
    credential_cache_seconds: int
    refresh_seconds: float
    max_failures_per_user: int
    max_failures_per_address: int
    failure_window_seconds: int
    trusted_proxy_hops: int


@dataclass(frozen=True)
class LogSettings:
    format: str
    level: str
    project: str


@dataclass(frozen=True)
class Settings:
    """Every core setting, typed, grouped by what reads it."""

    backends: Backends
    limits: Limits
    access: AccessDefaults
    fallback: FallbackSettings
    cooldown: CooldownSettings
    usage_flush_seconds: int
    index_caching: IndexCaching
    auth: AuthSettings
    log: LogSettings
    public_url: str
    shared_pages: int = 0  # bytes of big rendered pages a host's workers share on disk

    @classmethod
    def from_values(cls, values: Mapping[str, Any], upstreams: tuple[UpstreamSettings, ...] = ()) -> Settings:
        """Group parsed values (``SETTINGS`` keys -> value) into the typed views; ``upstreams``
        is the validated list ``config.upstreams`` read from the ``upstream.*`` keys."""
        pypi = _Section(values, "pypi")
        auth = _Section(values, "auth")
        return cls(
            backends=Backends(pypi("storage"), pypi("db"), pypi("auth")),
            limits=Limits(pypi("max_file_size"), pypi("max_large_file_size"), pypi("max_unpacked_size")),
            access=AccessDefaults(
                pypi("default_read"),
                pypi("default_write"),
                pypi("cache_update"),
                pypi("allow_overwrite"),
                pypi("allow_delete"),
            ),
            fallback=_fallback(pypi, upstreams),
            cooldown=CooldownSettings(
                pypi("fallback_min_age"),
                pypi("fallback_min_age_unknown") == "allow",
                frozenset(canonicalize_name(name) for name in pypi("fallback_min_age_exempt")),
            ),
            usage_flush_seconds=pypi("usage_flush_seconds"),
            index_caching=IndexCaching(
                pypi("index_max_age"), pypi("index_cdn_max_age"), pypi("index_stale_while_revalidate")
            ),
            auth=_auth(auth),
            log=LogSettings(values["log.format"], values["log.level"], values["log.project"]),
            public_url=pypi("public_url"),
            shared_pages=pypi("shared_pages"),
        )


class _Section:
    """Values of one section by short key (``pypi("fallback")`` is ``pypi.fallback``)."""

    def __init__(self, values: Mapping[str, Any], name: str) -> None:
        self.values, self.name = values, name

    def __call__(self, key: str) -> Any:
        return self.values[f"{self.name}.{key}"]


def _fallback(pypi: _Section, upstreams: tuple[UpstreamSettings, ...]) -> FallbackSettings:
    """:raises ConfigError: a fallback mode without an upstream (it could never work)."""
    if pypi("fallback") != "none" and not upstreams:
        raise ConfigError(
            f"pypi.fallback = {pypi('fallback')} needs pypi.fallback_url: set it to the upstream "
            "simple index URL (there is no default upstream), or name several upstreams in "
            "pypi.upstreams, or set pypi.fallback = none"
        )
    return FallbackSettings(
        mode=pypi("fallback"),
        url=pypi("fallback_url"),
        username=pypi("fallback_username"),
        password=pypi("fallback_password"),
        timeout=pypi("fallback_timeout"),
        page_ttl=pypi("fallback_page_ttl"),
        always_show_upstream=pypi("always_show_upstream"),
        disallowed=frozenset(canonicalize_name(name) for name in pypi("disallow_fallback")),
        wait_for_refresh=pypi("fallback_wait_for_refresh"),
        retry_after=pypi("fallback_retry_after"),
        memory=pypi("fallback_memory"),
        upstreams=upstreams,
        probe_seconds=pypi("upstream_probe_seconds"),
    )


def _auth(auth: _Section) -> AuthSettings:
    return AuthSettings(
        admins=auth("admins"),
        credential_cache_seconds=auth("credential_cache_seconds"),
        refresh_seconds=auth("refresh_seconds"),
        max_failures_per_user=auth("max_failures_per_user"),
        max_failures_per_address=auth("max_failures_per_address"),
        failure_window_seconds=auth("failure_window_seconds"),
        trusted_proxy_hops=auth("trusted_proxy_hops"),
    )
