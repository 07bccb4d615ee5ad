"""Package files in a Google Cloud Storage bucket.

Objects are named ``<storage.prefix><key>``. Writes are create-only through the precondition
``ifGenerationMatch=0``, and an object appears only once its upload completes, so a failed or
abandoned upload leaves nothing behind. (fake-gcs-server, used in tests, enforces the
precondition only for uploads up to 8 MiB; the Cache's atomic create is the guard that matters.)

The ``meta`` mapping rides on the object as custom metadata, which GCS limits to 8 KiB. A mapping
larger than ``INLINE_META_BYTES`` (a record with long ``Requires-Dist`` or classifier lists) goes
to a sidecar object ``<storage.prefix>.meta/<key>.json`` instead, and the object's metadata
only says so. The sidecar is written after the object: a crash in between leaves an object
without meta, which the upload's retry or ``python -m registry rebuild`` completes.

A large-file upload starts with ``create_upload_session``: a resumable upload session the
registry opens and the client completes, straight into ``<storage.prefix>_staging/``. Once the
registry has checked the staged object, ``put`` with that object's open stream as the source
copies it inside GCS (a rewrite pinned to the generation that was read), so no byte passes
through the app twice.

``storage.redirect_urls = true`` answers downloads with a V4 signed URL. It is signed with
``storage.signing_key_file`` when set, else with the runtime's credentials: a service account
key, or on Cloud Run the IAM ``signBlob`` API, for which the service account needs
``roles/iam.serviceAccountTokenCreator`` on itself.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO, cast

import google.auth.transport.requests
import requests
from google.api_core import exceptions as google_errors
from google.auth import exceptions as auth_errors
from google.cloud import storage
from google.cloud.storage import exceptions as storage_errors

from ..config import Config, Setting, parse_text
from ..errors import AlreadyExists, BackendUnavailable, ConfigError, NotFound
from .base import RESERVED_PREFIXES, Storage, StoredObject
from .gcs_stream import BlobStream
from .options import BUCKET, PREFIX, REDIRECT_SECONDS, REDIRECT_URLS

#: Custom metadata kept on the object itself; GCS allows 8 KiB of keys and values in total.
INLINE_META_BYTES = 7 * 1024
SIDECAR_MARKER = "registry-meta"  # custom metadata key; its value "sidecar" means see .meta/
SIDECAR_DIR = ".meta/"
READ_CHUNK = 2 * 1024 * 1024  # bytes per ranged GET while streaming a download
UPLOAD_CHUNK = 8 * 1024 * 1024  # resumable upload chunk: the memory one upload holds at a time
SPOOL_BYTES = 16 * 1024 * 1024  # a source copied before upload stays in memory up to this
_BUCKET = re.compile(r"[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]")


def meta_bytes(meta: Mapping[str, str]) -> int:
    return sum(len(key.encode()) + len(value.encode()) for key, value in meta.items())


class GCSStorage(Storage):
    """Files in a GCS bucket (or fake-gcs-server, when ``STORAGE_EMULATOR_HOST`` is set)."""

    direct_uploads = True

    settings = (
        BUCKET,
        PREFIX,
        Setting(
            "storage.project",
            "",
            parse_text,
            "`gcs` storage: the Google Cloud project (empty: from the environment).",
        ),
        REDIRECT_URLS,
        REDIRECT_SECONDS,
        Setting(
            "storage.signing_key_file",
            "",
            parse_text,
            "`gcs` storage: a service account JSON key that signs download URLs (empty: the "
            "runtime's credentials; on Cloud Run through IAM signBlob).",
        ),
        Setting(
            "storage.signing_account",
            "",
            parse_text,
            "`gcs` storage: the service account email that signs through IAM (empty: the runtime's own).",
        ),
    )

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        project: str = "",
        *,
        redirect_urls: bool = False,
        redirect_seconds: int = 300,
        signing_key_file: Path | None = None,
        signing_account: str = "",
    ) -> None:
        self.bucket_name = bucket
        self.prefix = prefix
        self.project = project
        self.redirect_urls = redirect_urls
        self.redirect_seconds = redirect_seconds
        self.signing_key_file = signing_key_file
        self.signing_account = signing_account
        self._client: Any = None
        self._signer: Any = None
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: Config) -> GCSStorage:
        bucket, prefix, project, redirect, seconds, key_file, account = (
            config.get_setting(setting) for setting in cls.settings
        )
        if not bucket:
            raise ConfigError("storage.bucket is required when pypi.storage = gcs: name the bucket")
        if not _BUCKET.fullmatch(bucket):
            raise ConfigError(f"storage.bucket = {bucket!r} is not a valid bucket name")
        if redirect and not 1 <= seconds <= 7 * 24 * 3600:
            raise ConfigError(f"storage.redirect_seconds = {seconds} is not valid: use 1 to 604800")
        key_path = config.path(key_file) if key_file else None
        if key_path is not None:
            _load_signer(key_path, key_file)
        return cls(
            bucket,
            prefix,
            project,
            redirect_urls=redirect,
            redirect_seconds=seconds,
            signing_key_file=key_path,
            signing_account=account,
        )

    # -- plumbing ------------------------------------------------------------------------

    def _bucket(self) -> Any:
        if self._client is None:
            with self._lock, self._errors("connect to"):
                if self._client is None:
                    self._client = storage.Client(project=self.project or None)
        return self._client.bucket(self.bucket_name)

    def _name(self, key: str) -> str:
        if not key or key.startswith(("/", ".")) or "//" in key:
            raise NotFound(f"invalid storage key {key!r}")
        return self.prefix + key

    def _sidecar(self, key: str) -> Any:
        return self._bucket().blob(f"{self.prefix}{SIDECAR_DIR}{key}.json")

    @contextmanager
    def _errors(self, action: str, key: str = "") -> Iterator[None]:
        """Translate client library errors into the registry's at the edge."""
        what = f"{key} in gs://{self.bucket_name}" if key else f"gs://{self.bucket_name}"
        try:
            yield
        except google_errors.NotFound as exc:
            raise NotFound(f"{what} not found") from exc
        except google_errors.PreconditionFailed as exc:
            raise AlreadyExists(f"{what} already exists") from exc
        except (
            google_errors.GoogleAPIError,
            auth_errors.GoogleAuthError,
            storage_errors.InvalidResponse,
            storage_errors.DataCorruption,
            requests.RequestException,
        ) as exc:
            raise BackendUnavailable(f"GCS: cannot {action} {what}: {exc}") from exc

    # -- objects -------------------------------------------------------------------------

    def put(self, key: str, source: BinaryIO, meta: Mapping[str, str]) -> None:
        blob = self._bucket().blob(self._name(key), chunk_size=UPLOAD_CHUNK)
        inline = meta_bytes(meta) <= INLINE_META_BYTES
        blob.metadata = dict(meta) if inline else {SIDECAR_MARKER: "sidecar"}
        if isinstance(source, BlobStream) and source.bucket_name == self.bucket_name and source.tell() == 0:
            self._rewrite(key, blob, source)  # an object of this bucket: copied inside GCS
        elif source.seekable() and source.tell() == 0:
            self._upload(key, blob, source)
        else:
            # Resumable uploads need a stream they can rewind: copy the rest of it first. A
            # source that fails while being copied has sent nothing to the bucket.
            with tempfile.SpooledTemporaryFile(SPOOL_BYTES) as local:
                shutil.copyfileobj(source, local, 1024 * 1024)
                local.seek(0)
                self._upload(key, blob, cast(BinaryIO, local))
        if not inline:
            self._write_sidecar(key, meta)

    def _upload(self, key: str, blob: Any, source: BinaryIO) -> None:
        size = source.seek(0, 2)
        source.seek(0)
        with self._errors("write", key):
            blob.upload_from_file(
                source,
                size=size,
                rewind=False,
                content_type="application/octet-stream",
                if_generation_match=0,
            )

    def _rewrite(self, key: str, blob: Any, source: BlobStream) -> None:
        """Copy an object of this bucket server-side, from the generation ``source`` reads: the
        bytes stored are the bytes that were checked, even if the source was replaced since."""
        blob.content_type = "application/octet-stream"
        with self._errors("write", key):
            token, _, _ = blob.rewrite(source.blob, if_generation_match=0)
            while token is not None:  # large objects across locations take several calls
                token, _, _ = blob.rewrite(source.blob, token=token, if_generation_match=0)

    def create_upload_session(self, key: str, size: int, meta: Mapping[str, str]) -> str:
        """A resumable upload session (JSON API) that the registry starts and the client
        finishes: GCS binds it to this object name, exactly ``size`` bytes, ``meta`` and
        ``ifGenerationMatch=0``, and it needs no signing key (the session URL is the credential).
        """
        blob = self._bucket().blob(self._name(key))
        blob.metadata = dict(meta)
        with self._errors("start an upload to", key):
            url: str = blob.create_resumable_upload_session(
                content_type="application/octet-stream", size=size, if_generation_match=0, checksum=None
            )
        return url

    def _write_sidecar(self, key: str, meta: Mapping[str, str]) -> None:
        with self._errors("write metadata of", key):
            self._sidecar(key).upload_from_string(
                json.dumps(dict(meta), separators=(",", ":")), content_type="application/json"
            )

    def open(self, key: str) -> StoredObject:
        with self._errors("read", key):
            blob = self._bucket().get_blob(self._name(key))
            if blob is None:
                raise NotFound(f"{key} not found")
            # Reads are pinned to this generation (GCS's media link names it; fake-gcs-server's
            # does not, so tests of pinning go through ``put``'s rewrite), and seekable for ranges.
            stream = blob.open("rb", chunk_size=READ_CHUNK)
        reader = BlobStream(stream, blob, self.bucket_name, self._errors)
        return StoredObject(stream=cast(BinaryIO, reader), size=blob.size, meta={})

    def exists(self, key: str) -> bool:
        with self._errors("check", key):
            return bool(self._bucket().blob(self._name(key)).exists())

    def delete(self, key: str) -> None:
        for blob in (self._bucket().blob(self._name(key)), self._sidecar(key)):
            try:
                with self._errors("delete", key):
                    blob.delete()
            except NotFound:
                pass

    def get_meta(self, key: str) -> dict[str, str]:
        with self._errors("read metadata of", key):
            blob = self._bucket().get_blob(self._name(key))
        if blob is None:
            raise NotFound(f"{key} not found")
        meta = dict(blob.metadata or {})
        if meta.get(SIDECAR_MARKER) != "sidecar":
            return meta
        try:
            with self._errors("read metadata of", key):
                return dict(json.loads(self._sidecar(key).download_as_bytes()))
        except NotFound:
            return {}  # the writer stopped before the sidecar: as if no meta was stored
        except ValueError as exc:
            raise BackendUnavailable(f"GCS: the metadata of {key} is not valid JSON") from exc

    def set_meta(self, key: str, meta: Mapping[str, str]) -> None:
        with self._errors("update metadata of", key):
            blob = self._bucket().get_blob(self._name(key))
        if blob is None:
            raise NotFound(f"{key} not found")
        inline = meta_bytes(meta) <= INLINE_META_BYTES
        if not inline:
            self._write_sidecar(key, meta)
        # An update (not a patch, which merges keys) replaces the whole custom metadata.
        blob.metadata = dict(meta) if inline else {SIDECAR_MARKER: "sidecar"}
        with self._errors("update metadata of", key):
            blob.update()

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        start = len(self.prefix)
        folders = (SIDECAR_DIR, *RESERVED_PREFIXES)
        hidden = tuple(folder for folder in folders if not prefix.startswith(folder))
        with self._errors("list"):
            for blob in self._client_list(self.prefix + prefix):
                key = blob.name[start:]
                if not key.startswith(hidden):
                    yield key

    def _client_list(self, prefix: str, limit: int | None = None) -> Iterator[Any]:
        bucket = self._bucket()
        fields = "items(name),nextPageToken"
        iterator: Iterator[Any] = self._client.list_blobs(
            bucket, prefix=prefix, fields=fields, max_results=limit
        )
        return iterator

    def check_health(self) -> None:
        """One list of at most one object: the bucket exists and we may read it."""
        try:
            with self._errors("list"):
                list(self._client_list(self.prefix, limit=1))
        except NotFound as exc:
            raise BackendUnavailable(f"GCS bucket {self.bucket_name!r} does not exist") from exc

    # -- signed download URLs ------------------------------------------------------------

    def download_url(self, key: str) -> str | None:
        if not self.redirect_urls:
            return None
        blob = self._bucket().blob(self._name(key))
        with self._errors("sign a URL for", key):
            url: str = blob.generate_signed_url(
                version="v4",
                expiration=timedelta(seconds=self.redirect_seconds),
                method="GET",
                **self._signing_arguments(),
            )
        return url

    def _signing_arguments(self) -> dict[str, Any]:
        """Credentials that can sign: a key file, the runtime's key, or an IAM token."""
        if self.signing_key_file is not None:
            if self._signer is None:
                self._signer = _load_signer(self.signing_key_file, str(self.signing_key_file))
            return {"credentials": self._signer}
        credentials = self._client._credentials
        if hasattr(credentials, "sign_bytes") and getattr(credentials, "signer_email", None):
            return {"credentials": credentials}
        with self._lock:
            if not credentials.valid:
                credentials.refresh(google.auth.transport.requests.Request())
            token = credentials.token
        email = self.signing_account or getattr(credentials, "service_account_email", "")
        if not email:
            raise BackendUnavailable(
                "GCS: cannot sign download URLs: set storage.signing_account or storage.signing_key_file"
            )
        return {"service_account_email": email, "access_token": token}


def _load_signer(path: Path, setting: str) -> Any:
    """Service-account credentials from a JSON key file (read locally, nothing contacted).

    :raises ConfigError: the file is missing or is not a service-account key.
    """
    from google.oauth2 import service_account

    if not path.is_file():
        raise ConfigError(f"storage.signing_key_file = {setting!r} is not valid: no such file")
    try:
        return service_account.Credentials.from_service_account_file(str(path))
    except (ValueError, KeyError, OSError) as exc:
        raise ConfigError(
            f"storage.signing_key_file = {setting!r} is not valid: not a service account key ({exc})"
        ) from exc
