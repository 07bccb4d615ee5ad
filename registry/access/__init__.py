"""Access control backends, chosen by ``pypi.auth``.

Backends are imported only when chosen. Both keep API tokens in the Cache.
"""

from __future__ import annotations

from ..backends import load_backend_class
from ..cache import Cache
from ..config import Config
from .base import Access
from .models import ANONYMOUS, Identity
from .passwords import hash_password

#: Config name -> "module:Class", with what each backend is for.
BACKENDS: dict[str, str] = {
    "config": "registry.access.config:ConfigAccess",  # user.*/group.*/package.* lines only
    "db": "registry.access.db:DBAccess",  # those lines plus users managed in the Cache
}


def access_class(name: str) -> type[Access]:
    """The Access class registered as ``name``.

    :raises ConfigError: no backend has that name.
    """
    cls: type[Access] = load_backend_class("pypi.auth", BACKENDS, name, Access)
    return cls


def access_from_config(config: Config, cache: Cache) -> Access:
    return access_class(config["pypi.auth"]).from_config(config, cache)


__all__ = [
    "ANONYMOUS",
    "BACKENDS",
    "Access",
    "Identity",
    "access_class",
    "access_from_config",
    "hash_password",
]
