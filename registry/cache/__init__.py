"""Metadata (Cache) backends, chosen by ``pypi.db``.

Backends are imported only when chosen, so a local registry never imports cloud libraries.
"""

from __future__ import annotations

from ..backends import load_backend_class
from ..config import Config
from ..errors import ConfigError
from .base import Cache
from .documents import DocumentStore

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
    cls: type[Cache] = load_backend_class("pypi.db", BACKENDS, name, Cache)
    return cls


def cache_from_config(config: Config) -> Cache:
    return cache_class(config.settings.backends.db).from_config(config)


def documents_of(cache: Cache) -> DocumentStore:
    """The DocumentStore kept beside the file records (the built-in backends are both).

    :raises ConfigError: the chosen Cache keeps no access documents.
    """
    if not isinstance(cache, DocumentStore):
        raise ConfigError(
            f"pypi.db = {type(cache).__name__} keeps no access documents (users, API tokens): "
            "choose a backend that implements registry.cache.documents.DocumentStore"
        )
    return cache


__all__ = ["BACKENDS", "Cache", "DocumentStore", "cache_class", "cache_from_config", "documents_of"]
