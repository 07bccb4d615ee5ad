"""The backends one configuration names, for the commands that work on whole data sets
(rebuild, migrate) and for the app's composition root."""

from __future__ import annotations

from dataclasses import dataclass

from ..cache import Cache, DocumentStore, cache_from_config, documents_of
from ..config import Config
from ..config.views import Limits
from ..storage import Storage, storage_from_config
from .pipeline import FilePipeline


@dataclass(frozen=True)
class Stores:
    """Files, records and access documents of one configuration, and the pipeline over them."""

    storage: Storage
    cache: Cache
    documents: DocumentStore
    pipeline: FilePipeline
    limits: Limits

    @classmethod
    def from_config(cls, config: Config) -> Stores:
        """Build the configured backends, validating their settings; connects nothing."""
        storage = storage_from_config(config)
        cache = cache_from_config(config)
        return cls(storage, cache, documents_of(cache), FilePipeline(storage, cache), config.settings.limits)

    def close(self) -> None:
        self.cache.close()
