"""The backends a test server uses, opened in the test process to check what is stored."""

from __future__ import annotations

from dataclasses import dataclass

from packaging.utils import canonicalize_name

from registry.access import AccessStore, Authenticator, Permissions
from registry.cache import Cache
from registry.config import Config
from registry.core.app import Registry, build
from registry.core.fallback import Fallback
from registry.core.stores import Stores
from registry.core.uploads import UploadForm, UploadGrant, UploadOutcome
from registry.storage import Storage


@dataclass(frozen=True)
class Backends:
    """A registry's core objects, with short names for the parts tests look at."""

    registry: Registry

    @classmethod
    def from_config(cls, config: Config) -> Backends:
        return cls(build(config))

    @property
    def config(self) -> Config:
        return self.registry.config

    @property
    def cache(self) -> Cache:
        return self.registry.stores.cache

    @property
    def storage(self) -> Storage:
        return self.registry.stores.storage

    @property
    def access(self) -> AccessStore:
        return self.registry.access.store

    @property
    def stores(self) -> Stores:
        return self.registry.stores

    @property
    def fallback(self) -> Fallback | None:
        return self.registry.fallback

    def upload(self, form: UploadForm, uploader: str = "admin") -> UploadOutcome:
        """Upload as ``uploader`` would be granted to (no overwriting)."""
        grant = UploadGrant(canonicalize_name(form.name), uploader, overwrite=False)
        return self.registry.uploads.upload(form, grant)

    @property
    def authn(self) -> Authenticator:
        return self.registry.access.authenticator

    @property
    def permissions(self) -> Permissions:
        return self.registry.access.permissions
