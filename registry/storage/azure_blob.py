"""Package files in an Azure Blob Storage container.

Blobs are named ``<storage.prefix><key>``. Writes are create-only through ``If-None-Match: *``,
on a single Put Blob for a file up to ``BLOCK_BYTES``, or on the Put Block List that commits a
larger one staged block by block (the memory an upload holds). Staged blocks stay invisible
until that commit, so a failed upload leaves nothing (Azure drops uncommitted blocks within a
week). Block ids are random per upload, so two uploads racing for one name never mix blocks:
the first commit wins and the other is refused.

``meta`` rides on the blob as metadata (``objectmeta``: Azure allows 8 KiB) or in a sidecar
blob; ``set_meta`` replaces it in place. Reads are ranged GETs in growing windows (``ranged``)
pinned to the ETag first read. ``storage.redirect_urls = true`` answers downloads with a
read-only SAS URL for that one blob, signed offline with the account key.
"""

from __future__ import annotations

import io
import logging
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any, BinaryIO, cast

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.storage.blob import (
    BlobBlock,
    BlobClient,
    BlobSasPermissions,
    BlobServiceClient,
    ContainerClient,
    ContentSettings,
    ExponentialRetry,
    generate_blob_sas,
)

from ..config import Config
from ..errors import AlreadyExists, BackendUnavailable, NotFound, RegistryError
from . import objectmeta
from .azure_config import AzureSettings, setting_declarations, settings_from_config
from .base import RESERVED_PREFIXES, Storage, StoredObject
from .ranged import FIRST_WINDOW, RangedReader
from .s3 import read_full

META_BYTES = 7 * 1024  # Azure allows 8 KiB of metadata, names and values together
BLOCK_BYTES = 8 * 1024 * 1024  # a staged block: the memory one upload holds
GET_BYTES = 4 * 1024 * 1024  # the most one GET of a read window holds in memory
BINARY = ContentSettings(content_type="application/octet-stream")
# The SDK logs every request's and answer's headers at INFO: the registry's log is for its own.
logging.getLogger("azure.core.pipeline.policies.http_logging_policy").setLevel(logging.WARNING)


class AzureBlobStorage(Storage):
    """Files in an Azure Blob container (or Azurite)."""

    settings = setting_declarations()

    def __init__(self, options: AzureSettings) -> None:
        self.options = options
        self.prefix = options.prefix
        self._container: ContainerClient | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: Config) -> AzureBlobStorage:
        return cls(settings_from_config(config))

    # -- plumbing ------------------------------------------------------------------------

    def container(self) -> ContainerClient:
        """The container client, made on first use (connects nothing)."""
        if self._container is None:
            with self._lock, self._errors("connect to"):
                if self._container is None:
                    self._container = _make_service(self.options).get_container_client(self.options.container)
        return self._container

    def _blob(self, key: str) -> BlobClient:
        if not key or key.startswith(("/", ".")) or "//" in key:
            raise NotFound(f"invalid storage key {key!r}")
        return self.container().get_blob_client(self.prefix + key)

    def _sidecar(self, key: str) -> BlobClient:
        return self.container().get_blob_client(objectmeta.sidecar_name(self.prefix, key))

    @contextmanager
    def _errors(
        self, action: str, key: str = "", modified: type[RegistryError] = AlreadyExists
    ) -> Iterator[None]:
        """Translate Azure errors at the edge; ``modified`` is what a failed condition means here."""
        what = (
            f"{key} in container {self.options.container!r}"
            if key
            else f"container {self.options.container!r}"
        )
        try:
            yield
        except ResourceNotFoundError as exc:
            if _code(exc) == "ContainerNotFound":
                raise BackendUnavailable(f"Azure: {what} does not exist") from exc
            raise NotFound(f"{what} not found") from exc
        except (ResourceExistsError, ResourceModifiedError) as exc:
            code = _code(exc)
            if isinstance(exc, ResourceExistsError) and code != "BlobAlreadyExists":
                raise BackendUnavailable(f"Azure: cannot {action} {what}: {code}") from exc
            raise modified(f"{what} already exists or changed") from exc
        except AzureError as exc:
            raise BackendUnavailable(f"Azure: cannot {action} {what}: {_code(exc)}") from exc

    # -- writing -------------------------------------------------------------------------

    def put(self, key: str, source: BinaryIO, meta: Mapping[str, str]) -> None:
        blob = self._blob(key)
        metadata, sidecar = objectmeta.object_metadata(meta, META_BYTES)
        first = read_full(source, BLOCK_BYTES)
        if len(first) < BLOCK_BYTES:
            self._put_whole(key, blob, first, metadata)
        else:
            self._put_blocks(key, blob, first, source, metadata)
        if sidecar:
            self._write_sidecar(key, meta)

    def _put_whole(self, key: str, blob: BlobClient, data: bytes, metadata: dict[str, str]) -> None:
        try:
            with self._errors("write", key):
                blob.upload_blob(data, overwrite=False, metadata=metadata, content_settings=BINARY)
        except AlreadyExists:
            if self.exists(key):
                raise
            # Only the uncommitted blocks of an upload that failed are there, which Azurite
            # (unlike a block list commit) counts as a blob: commit the data as a block list.
            self._put_blocks(key, blob, data, io.BytesIO(), metadata)

    def _put_blocks(
        self, key: str, blob: BlobClient, first: bytes, source: BinaryIO, metadata: dict[str, str]
    ) -> None:
        """Stage ``first`` and the rest of ``source`` as blocks, then commit them create-only."""
        if self.exists(key):  # refuse before sending megabytes; the commit's condition decides
            raise AlreadyExists(f"{key} in container {self.options.container!r} already exists")
        blocks: list[BlobBlock] = []
        chunk = first
        while chunk:
            block_id = uuid.uuid4().hex  # random: a racing upload cannot overwrite our blocks
            with self._errors("write", key):
                blob.stage_block(block_id, chunk, length=len(chunk))
            blocks.append(BlobBlock(block_id))
            chunk = read_full(source, BLOCK_BYTES)
        try:
            with self._errors("write", key):
                blob.commit_block_list(
                    blocks,
                    content_settings=BINARY,
                    metadata=metadata,
                    match_condition=MatchConditions.IfMissing,
                )
        except BackendUnavailable as exc:
            # A commit that lost the race may be told its blocks are gone (the winner's commit
            # dropped them) rather than that the blob exists.
            cause = exc.__cause__
            lost = isinstance(cause, HttpResponseError) and _code(cause) == "InvalidBlockList"
            if lost and self.exists(key):
                raise AlreadyExists(f"{key} in container {self.options.container!r} already exists") from exc
            raise

    def _write_sidecar(self, key: str, meta: Mapping[str, str]) -> None:
        body = objectmeta.sidecar_bytes(meta)
        settings = ContentSettings(content_type="application/json")
        with self._errors("write metadata of", key):
            self._sidecar(key).upload_blob(body, overwrite=True, content_settings=settings)

    def set_meta(self, key: str, meta: Mapping[str, str]) -> None:
        blob = self._blob(key)
        metadata, sidecar = objectmeta.object_metadata(meta, META_BYTES)
        if not self.exists(key):
            raise NotFound(f"{key} not found")
        if sidecar:
            self._write_sidecar(key, meta)
        with self._errors("update metadata of", key):
            blob.set_blob_metadata(metadata)

    def delete(self, key: str) -> None:
        for blob in (self._blob(key), self._sidecar(key)):
            try:
                with self._errors("delete", key):
                    blob.delete_blob()
            except NotFound:
                pass

    # -- reading -------------------------------------------------------------------------

    def exists(self, key: str) -> bool:
        with self._errors("check", key):
            return bool(self._blob(key).exists())

    def get_meta(self, key: str) -> dict[str, str]:
        with self._errors("read metadata of", key):
            properties = self._blob(key).get_blob_properties()
        found = objectmeta.decode(properties.metadata or {})
        if found is not None:
            return found
        try:
            with self._errors("read metadata of", key):
                data = self._sidecar(key).download_blob().readall()
        except NotFound:
            return {}  # the writer stopped before the sidecar: as if no meta was stored
        try:
            return objectmeta.parse_sidecar(data)
        except ValueError as exc:
            raise BackendUnavailable(f"Azure: the metadata of {key} is not valid JSON") from exc

    def open(self, key: str) -> StoredObject:
        """The first window's GET also tells the size and the ETag every later window pins."""
        blob = self._blob(key)
        first = self._first_window(key, blob)
        if first is None:  # an empty blob: no range of it can be read
            with self._errors("read", key):
                empty = blob.get_blob_properties()
            if empty.size:
                raise BackendUnavailable(f"Azure: {key} changed while it was opened")
            return StoredObject(stream=io.BytesIO(b""), size=0, meta={})
        total = (first.properties.content_range or "").rpartition("/")[2]  # "bytes 0-N/SIZE"
        size, etag = int(total) if total.isdigit() else first.size, first.properties.etag

        def open_range(start: int, end: int) -> Any:
            pinned = MatchConditions.IfNotModified
            with self._errors("read", key, modified=BackendUnavailable):
                download = blob.download_blob(
                    offset=start, length=end - start, max_concurrency=1, etag=etag, match_condition=pinned
                )
            return _Window(download)

        window = (_Window(first), first.size)
        reader = RangedReader(size, open_range, lambda: self._errors("read", key, BackendUnavailable), window)
        return StoredObject(stream=cast(BinaryIO, reader), size=size, meta={})

    def _first_window(self, key: str, blob: BlobClient) -> Any:
        """A download of the blob's first ``FIRST_WINDOW`` bytes, or None if it is empty."""
        try:
            with self._errors("read", key):
                return blob.download_blob(offset=0, length=FIRST_WINDOW, max_concurrency=1)
        except BackendUnavailable as exc:
            if isinstance(exc.__cause__, HttpResponseError) and _code(exc.__cause__) == "InvalidRange":
                return None
            raise

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        start = len(self.prefix)
        folders = (objectmeta.SIDECAR_DIR, *RESERVED_PREFIXES)
        hidden = tuple(folder for folder in folders if not prefix.startswith(folder))
        with self._errors("list"):
            for name in self.container().list_blob_names(name_starts_with=self.prefix + prefix):
                key = name[start:]
                if not key.startswith(hidden):
                    yield key

    def check_health(self) -> None:
        """The container's properties: it exists and the credentials work."""
        with self._errors("read"):
            self.container().get_container_properties()

    def download_url(self, key: str) -> str | None:
        if not self.options.redirect_urls:
            return None
        blob = self._blob(key)
        expiry = datetime.now(UTC) + timedelta(seconds=self.options.redirect_seconds)
        sas = generate_blob_sas(
            account_name=self.options.account_name,
            container_name=self.options.container,
            blob_name=blob.blob_name,
            account_key=self.options.account_key,
            permission=BlobSasPermissions(read=True),
            expiry=expiry,
        )
        return f"{blob.url}?{sas}"


def _code(exc: AzureError) -> str:
    """The service's error code (``BlobAlreadyExists``), else the exception's kind."""
    code = getattr(exc, "error_code", None) or type(exc).__name__
    return str(code.value if isinstance(code, Enum) else code)  # the SDK gives enums or strings


class _Window:
    """A download of one window, read as a body (``ranged.Body``)."""

    def __init__(self, download: Any) -> None:
        self._download = download

    def read(self, size: int = -1) -> bytes:
        data: bytes = self._download.read(size)
        return data

    def close(self) -> None:
        self._download = None  # the SDK holds at most one GET of GET_BYTES; nothing to release


def _make_service(options: AzureSettings) -> BlobServiceClient:
    """A client whose transfers hold at most one block or GET in memory, and that gives up
    on an unreachable service after a few quick retries rather than minutes."""
    sizes = {
        "max_single_put_size": BLOCK_BYTES,
        "max_block_size": BLOCK_BYTES,
        "max_single_get_size": GET_BYTES,
        "max_chunk_get_size": GET_BYTES,
    }
    # The SDK's default retries wait 15 s, 18 s, 24 s ...: a probe would give up first.
    retry = ExponentialRetry(initial_backoff=1, increment_base=2, retry_total=2, random_jitter_range=1)
    tuning: dict[str, Any] = {"retry_policy": retry, "connection_timeout": 10, "read_timeout": 60, **sizes}
    if options.connection_string:
        return BlobServiceClient.from_connection_string(options.connection_string, **tuning)
    credential = {"account_name": options.account_name, "account_key": options.account_key}
    return BlobServiceClient(options.account_url, credential=credential, **tuning)
