"""The composition root: the core objects one app (or one CLI command) works with.

``build`` validates every setting and constructs each object with exactly the collaborators it
uses; nothing connects until first use. ``Registry.start`` does the once-per-process work that
needs the backends (the first admin, a rebuild of an empty Cache).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from packaging.utils import NormalizedName

from ..access import AccessControl, AccessStore, access_from_config
from ..access.models import User
from ..access.passwords import hash_password
from ..access.sessions import Sessions
from ..cache.catalog import catalog_store_of
from ..config import Config
from ..config.views import FallbackSettings
from ..errors import AlreadyExists, ReadOnly, RegistryError
from ..models import utcnow
from .accounts import Accounts
from .browse import Browse
from .catalog import Catalog
from .cooldown import Cooldown
from .fallback import Fallback
from .fallback_setup import upstreams_from_config
from .identity import database_id
from .large_upload import LargeUploads
from .lastuse import LastUse
from .manage import Manager
from .mirror import Mirror
from .probes import UpstreamProbes
from .project_page import ProjectPages
from .prune import Pruner
from .readme import Descriptions
from .reads import Reads
from .rebuild import rebuild_if_empty
from .routing import Locator
from .sources import Sources
from .stores import Stores
from .uploads import Uploads

log = logging.getLogger("registry")
ADMIN_PASSWORD_ENV = "REGISTRY_ADMIN_PASSWORD"


@dataclass(frozen=True)
class WebQueries:
    """What the web UI asks beyond the simple API's queries."""

    browse: Browse
    project_pages: ProjectPages
    accounts: Accounts
    sessions: Sessions


@dataclass
class Registry:
    """The app's core objects, each built with its own collaborators."""

    config: Config
    stores: Stores
    access: AccessControl
    fallback: Fallback | None
    reads: Reads
    uploads: Uploads
    large_uploads: LargeUploads
    manager: Manager
    cooldown: Cooldown
    mirror: Mirror
    pruner: Pruner
    web: WebQueries
    probes: UpstreamProbes | None = None  # each upstream's reachability, for /health
    _database_id: str | None = None
    _started: bool = False
    _start_lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        """First-use work that needs the backends; runs once per process, before a request."""
        if self._started:
            return
        with self._start_lock:
            if not self._started:
                password = ensure_admin(self.access.store)
                if password:
                    # Printed, never logged: log lines must not carry secrets.
                    print(f"Created user 'admin' with password {password} (shown once; only its hash "
                          "is stored)", file=sys.stderr, flush=True)  # fmt: skip
                rebuild_if_empty(self.stores)  # an empty Cache over a filled Storage: fill it first
                if self.config.settings.shared_pages > 0:  # read now, not on some request's time
                    with contextlib.suppress(RegistryError):  # it only saves rendering: asked again later
                        self.database_id()
                self._started = True

    def database_id(self) -> str:
        """This database's identity (``core.identity``), read once per process.

        :raises BackendUnavailable: it could not be read or stored.
        """
        if self._database_id is None:
            self._database_id = database_id(self.stores.documents)
        return self._database_id

    def check_health(self) -> dict[str, str]:
        """Each backend's state: ``ok`` or ``error: <why>`` (readiness, as in pypicloud)."""
        checks: dict[str, str] = {}
        for name, check in (
            ("storage", self.stores.storage.check_health),
            ("cache", self.stores.cache.check_health),
        ):
            try:
                check()
                checks[name] = "ok"
            except RegistryError as exc:
                checks[name] = f"error: {exc.message}"
        return checks

    def describe_fallback(self) -> str:
        """One line for start-up: is fallback on, and from where (never with credentials)."""
        if self.fallback is not None:
            return self.fallback.describe()
        return "Upstream fallback is off (pypi.fallback = none)"  # a mode without URL: ConfigError


def build(config: Config) -> Registry:
    """Every core object for ``config``, wired; validates settings, connects nothing."""
    settings = config.settings
    stores = Stores.from_config(config)
    access = access_from_config(config, stores.documents)
    permissions = access.permissions
    refresh = settings.auth.refresh_seconds
    cooldown = Cooldown.from_settings(
        settings.cooldown, settings.fallback.mode, stores.documents, permissions, refresh
    )
    upstreams = upstreams_from_config(config, stores.storage)
    fallback = None
    if upstreams:
        unpacked = settings.limits.max_unpacked_size
        fallback = Fallback(upstreams, settings.fallback, stores.pipeline, stores.cache, unpacked, cooldown)
    last_use = LastUse(stores.documents, settings.usage_flush_seconds)
    sources = _sources(stores, settings.fallback, permissions.has_rules, fallback)
    reads = Reads(
        stores.cache,
        stores.storage,
        stores.pipeline,
        permissions,
        sources,
        fallback,
        verify_files=bool(settings.access.allow_overwrite),
        last_use=last_use,
    )
    uploads = Uploads(permissions, stores.pipeline, stores.cache, settings.limits)
    large = LargeUploads(stores.storage, uploads, stores.cache, settings.limits)
    manager = Manager(stores.cache, stores.pipeline, permissions)
    mirror = Mirror(sources, fallback, stores.cache)
    pruner = Pruner(stores.cache, stores.pipeline, last_use)
    web = _web_queries(stores, access, reads)
    registry = Registry(
        config, stores, access, fallback, reads, uploads, large, manager, cooldown, mirror, pruner, web
    )
    if fallback is not None:  # each upstream's reachability for /health, probed in the background
        registry.probes = UpstreamProbes(fallback.upstreams, settings.fallback.probe_seconds)
    log.info("%s", registry.describe_fallback())
    return registry


def _sources(
    stores: Stores,
    settings: FallbackSettings,
    reserved: Callable[[NormalizedName], bool],
    fallback: Fallback | None,
) -> Sources:
    """The one owner of "local or which upstream", locating projects across the upstreams."""
    locate = Locator(fallback.upstreams).locate if fallback is not None else None
    return Sources(stores.cache, settings, reserved, enabled=fallback is not None, locate=locate)


def _web_queries(stores: Stores, access: AccessControl, reads: Reads) -> WebQueries:
    """The web UI's queries, over the same reads as the simple API."""
    limit = stores.limits.max_unpacked_size
    return WebQueries(
        Browse(reads, Catalog(stores.cache, catalog_store_of(stores.cache), reads.projects), utcnow),
        ProjectPages(reads, Descriptions(stores.storage, limit)),
        Accounts(access.store),
        Sessions(access.store, access.authenticator),
    )


def ensure_admin(store: AccessStore) -> str | None:
    """On first start with no user at all, create ``admin``; return its password if generated.

    The password is ``$REGISTRY_ADMIN_PASSWORD`` or, if unset, a random one returned for the
    caller to show once. Only its hash is stored. Safe to call from several processes: one
    creates, the others see it. With ``pypi.auth = config`` nothing is created (users live in
    the config file).
    """
    if store.has_users():
        return None
    given = os.environ.get(ADMIN_PASSWORD_ENV)
    password = given or secrets.token_urlsafe(15)
    try:
        store.save_user(User("admin", hash_password(password), admin=True), create_only=True)
    except AlreadyExists:
        return None
    except ReadOnly:
        log.warning("No users are configured: add user.<name> lines to the config to log in")
        return None
    if given:
        log.warning("Created user 'admin' with the password from %s", ADMIN_PASSWORD_ENV)
        return None
    return password
