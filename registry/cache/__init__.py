"""Metadata (Cache) backends, chosen by ``pypi.db``.

Backends are imported only when chosen, so a local registry never imports cloud libraries.
"""

from __future__ import annotations

from ..backends import load_backend_class
from ..config import Config
from .base import Cache

#: Config name -> "module:Class", with what each backend is for.
BACKENDS: dict[str, str] = {
    "sqlite": "registry.cache.sqlite:SQLiteCache",  # one local file: the embedded default
    "firestore": "registry.cache.firestore:FirestoreCache",  # Google Cloud Firestore
    "sql": "registry.cache.sql:SQLCache",  # PostgreSQL, MySQL/MariaDB or SQLite via SQLAlchemy
    "dynamo": "registry.cache.dynamo:DynamoCache",  # Amazon DynamoDB
}


def cache_class(name: str) -> type[Cache]:
    """The Cache class registered as ``name``.

    :raises ConfigError: no backend has that name.
    """
    cls: type[Cache] = load_backend_class("pypi.db", BACKENDS, name)
    return cls


def cache_from_config(config: Config) -> Cache:
    return cache_class(config["pypi.db"]).from_config(config)


__all__ = ["BACKENDS", "Cache", "cache_class", "cache_from_config"]
