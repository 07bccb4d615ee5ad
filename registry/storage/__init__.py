"""Storage backends, chosen by ``pypi.storage``.

Backends are imported only when chosen, so a local registry never imports cloud libraries.
"""

from __future__ import annotations

from ..backends import load_backend_class
from ..config import Config
from .base import Storage, StoredObject

#: Config name -> "module:Class", with what each backend is for.
BACKENDS: dict[str, str] = {
    "file": "registry.storage.local:FileStorage",  # a local directory: the embedded default
    "gcs": "registry.storage.gcs:GCSStorage",  # Google Cloud Storage
    "s3": "registry.storage.s3:S3Storage",  # AWS S3 or an S3-compatible store (requirements-aws.txt)
    "azure-blob": "registry.storage.azure_blob:AzureBlobStorage",  # Azure Blob (requirements-azure.txt)
}


def storage_class(name: str) -> type[Storage]:
    """The Storage class registered as ``name``.

    :raises ConfigError: no backend has that name.
    """
    cls: type[Storage] = load_backend_class("pypi.storage", BACKENDS, name, Storage)
    return cls


def storage_from_config(config: Config) -> Storage:
    return storage_class(config.settings.backends.storage).from_config(config)


__all__ = ["BACKENDS", "Storage", "StoredObject", "storage_class", "storage_from_config"]
