"""Access control: who is asking (``Authenticator``) and what they may do (``Permissions``),
over access data that an ``AccessBackend`` chosen by ``pypi.auth`` supplies and an
``AccessStore`` keeps fresh. Backends are imported only when chosen; API tokens always live in
the DocumentStore.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..backends import load_backend_class
from ..cache.documents import DocumentStore
from ..config import Config
from .authn import Authenticator
from .base import AccessBackend
from .models import ANONYMOUS, Identity
from .passwords import hash_password
from .permissions import Permissions
from .policy import Defaults
from .store import AccessStore

#: Config name -> "module:Class", with what each backend is for.
BACKENDS: dict[str, str] = {
    "config": "registry.access.config:ConfigAccess",  # user.*/group.*/package.* lines only
    "db": "registry.access.db:DBAccess",  # those lines plus users managed in the DocumentStore
}


def access_class(name: str) -> type[AccessBackend]:
    """The AccessBackend class registered as ``name``.

    :raises ConfigError: no backend has that name.
    """
    cls: type[AccessBackend] = load_backend_class("pypi.auth", BACKENDS, name, AccessBackend)
    return cls


@dataclass(frozen=True)
class AccessControl:
    """The access objects one app works with, sharing one ``AccessStore``."""

    store: AccessStore
    authenticator: Authenticator
    permissions: Permissions


def access_from_config(config: Config, documents: DocumentStore) -> AccessControl:
    """Build the backend ``pypi.auth`` names and the objects over it; connects nothing."""
    settings = config.settings
    backend = access_class(settings.backends.auth).from_config(config, documents)
    store = AccessStore(
        backend,
        documents,
        Defaults.from_settings(settings.access),
        admins=settings.auth.admins,
        refresh_seconds=settings.auth.refresh_seconds,
    )
    return AccessControl(store, Authenticator(store, settings.auth), Permissions(store))


__all__ = [
    "ANONYMOUS",
    "BACKENDS",
    "AccessBackend",
    "AccessControl",
    "AccessStore",
    "Authenticator",
    "Identity",
    "Permissions",
    "access_class",
    "access_from_config",
    "hash_password",
]
