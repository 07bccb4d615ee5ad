"""The services one app (or one CLI command) works with, built once from the Config."""

from __future__ import annotations

import logging
import os
import secrets
import sys
import threading
from dataclasses import dataclass, field

from ..access import Access, access_from_config
from ..access.models import User
from ..access.passwords import hash_password
from ..cache import Cache, cache_from_config
from ..config import Config
from ..errors import AlreadyExists, ReadOnly
from ..storage import Storage, storage_from_config
from .fallback import Fallback
from .pages import PageCache

log = logging.getLogger("registry")
ADMIN_PASSWORD_ENV = "REGISTRY_ADMIN_PASSWORD"


@dataclass
class Services:
    """Config, backends, access and fallback rules. Building it validates settings, connects nothing."""

    config: Config
    storage: Storage
    cache: Cache
    access: Access
    pages: PageCache = field(default_factory=PageCache)
    fallback: Fallback = field(default_factory=Fallback)
    _started: bool = False
    _start_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_config(cls, config: Config) -> Services:
        storage = storage_from_config(config)
        cache = cache_from_config(config)
        return cls(
            config=config,
            storage=storage,
            cache=cache,
            access=access_from_config(config, cache),
            fallback=Fallback.from_config(config),
        )

    def start(self) -> None:
        """First-use work that needs the backends; runs once per process, before a request."""
        if self._started:
            return
        with self._start_lock:
            if not self._started:
                password = ensure_admin(self)
                if password:
                    # Printed, never logged: log lines must not carry secrets.
                    print(f"Created user 'admin' with password {password} (shown once; only its hash "
                          "is stored)", file=sys.stderr, flush=True)  # fmt: skip
                from .rebuild import rebuild_if_empty  # imports this module

                rebuild_if_empty(self)  # an empty Cache over a filled Storage: fill it first
                self._started = True


def ensure_admin(services: Services) -> str | None:
    """On first start with no user at all, create ``admin``; return its password if generated.

    The password is ``$REGISTRY_ADMIN_PASSWORD`` or, if unset, a random one returned for the
    caller to show once. Only its hash is stored. Safe to call from several processes: one
    creates, the others see it. With ``pypi.auth = config`` nothing is created (users live in
    the config file).
    """
    if services.access.has_users():
        return None
    given = os.environ.get(ADMIN_PASSWORD_ENV)
    password = given or secrets.token_urlsafe(15)
    try:
        services.access.save_user(User("admin", hash_password(password), admin=True), create_only=True)
    except AlreadyExists:
        return None
    except ReadOnly:
        log.warning("No users are configured: add user.<name> lines to the config to log in")
        return None
    if given:
        log.warning("Created user 'admin' with the password from %s", ADMIN_PASSWORD_ENV)
        return None
    return password
