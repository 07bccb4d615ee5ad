"""Package files in an S3 bucket, or any S3-compatible store (``storage.endpoint_url``).

Objects are named ``<storage.prefix><key>``. Writes are create-only through S3's conditional
write (``If-None-Match: *``), which S3 honours on a single PUT and on completing a multipart
upload; either way the object appears only once whole. A file up to ``PART_BYTES`` goes in
one PUT; a larger one in parts of that size (the memory an upload holds), after a HEAD that
refuses an existing name before any byte is sent. A failed or refused multipart upload is
aborted. An S3-compatible store that ignores ``If-None-Match`` still keeps files safe: the
Cache's atomic create is the guard that matters (as with fake-gcs-server in tests).

``meta`` rides on the object as user metadata (``objectmeta``: S3 allows 2 KiB), else in a
sidecar object. ``set_meta`` copies the object onto itself with the new metadata, pinned to the
ETag it read. Reads are ranged GETs in growing windows (``ranged``), pinned to the ETag.

Credentials: ``storage.aws_access_key_id``/``storage.aws_secret_access_key`` (pypicloud's
names; its older ``storage.access_key``/``storage.secret_key`` work too), else boto3's usual
chain (environment, profile, the instance or task role). ``storage.redirect_urls = true``
answers downloads with a presigned GET URL signed by those credentials, offline.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import Any, BinaryIO, cast

import boto3
import botocore.config
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import BotoCoreError, ClientError

from ..config import Config
from ..errors import AlreadyExists, BackendUnavailable, NotFound, RegistryError
from . import objectmeta
from .base import RESERVED_PREFIXES, Storage, StoredObject
from .ranged import FIRST_WINDOW, RangedReader
from .s3_config import S3Settings, setting_declarations, settings_from_config

META_BYTES = 1800  # S3 allows 2 KiB of user metadata, names and values together
PART_BYTES = 8 * 1024 * 1024  # a multipart upload's part: the memory one upload holds
COPY_CONFIG = TransferConfig(multipart_threshold=5 * 1024**3, multipart_chunksize=512 * 1024**2)
_MISSING = {"404", "NoSuchKey", "NotFound"}
_RETRIES = 3  # S3 answers 409 ConditionalRequestConflict to conditional writes that overlap


def read_full(source: BinaryIO, size: int) -> bytes:
    """Up to ``size`` bytes: fewer only at the end of ``source`` (a raw stream reads short)."""
    parts: list[bytes] = []
    missing = size
    while missing > 0:
        chunk = source.read(missing)
        if not chunk:
            break
        parts.append(chunk)
        missing -= len(chunk)
    return b"".join(parts)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3Storage(Storage):
    """Files in an S3 bucket (or an S3-compatible store)."""

    settings = setting_declarations()

    def __init__(self, options: S3Settings) -> None:
        self.options = options
        self.bucket = options.bucket
        self.prefix = options.prefix
        self._client: Any = None
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: Config) -> S3Storage:
        return cls(settings_from_config(config))

    # -- plumbing ------------------------------------------------------------------------

    def client(self) -> Any:
        """The boto3 client, made on first use (making it reads credentials, connects nothing)."""
        if self._client is None:
            with self._lock, self._errors("connect to"):
                if self._client is None:
                    self._client = _make_client(self.options)
        return self._client

    def _name(self, key: str) -> str:
        if not key or key.startswith(("/", ".")) or "//" in key:
            raise NotFound(f"invalid storage key {key!r}")
        return self.prefix + key

    @contextmanager
    def _errors(
        self, action: str, key: str = "", precondition: type[RegistryError] = AlreadyExists
    ) -> Iterator[None]:
        """Translate boto3 errors at the edge; ``precondition`` is what a 412 means here."""
        what = f"{key} in s3://{self.bucket}" if key else f"s3://{self.bucket}"
        try:
            yield
        except ClientError as exc:
            code = _code(exc)
            if code in _MISSING:
                raise NotFound(f"{what} not found") from exc
            if code == "PreconditionFailed":
                raise precondition(f"{what} already exists or changed") from exc
            if code == "NoSuchBucket":
                raise BackendUnavailable(f"S3 bucket {self.bucket!r} does not exist") from exc
            raise BackendUnavailable(f"S3: cannot {action} {what}: {code or exc}") from exc
        except BotoCoreError as exc:
            raise BackendUnavailable(f"S3: cannot {action} {what}: {exc}") from exc

    # -- writing -------------------------------------------------------------------------

    def put(self, key: str, source: BinaryIO, meta: Mapping[str, str]) -> None:
        name = self._name(key)
        metadata, sidecar = objectmeta.object_metadata(meta, META_BYTES)
        first = read_full(source, PART_BYTES)
        if len(first) < PART_BYTES:
            self._put_whole(key, name, first, metadata)
        else:
            self._put_parts(key, name, first, source, metadata)
        if sidecar:
            self._write_sidecar(key, meta)

    def _put_whole(self, key: str, name: str, data: bytes, metadata: dict[str, str]) -> None:
        arguments = {"Bucket": self.bucket, "Key": name, "Metadata": metadata}
        arguments |= {"ContentType": "application/octet-stream", "IfNoneMatch": "*"}
        self._conditional(key, lambda: self.client().put_object(Body=data, **arguments))

    def _conditional(self, key: str, write: Any) -> None:
        """Run a conditional write, again while S3 reports an overlapping one (409)."""
        for attempt in range(_RETRIES):
            try:
                with self._errors("write", key):
                    write()
                return
            except BackendUnavailable as exc:
                cause = exc.__cause__
                overlap = isinstance(cause, ClientError) and _code(cause) == "ConditionalRequestConflict"
                if not overlap or attempt == _RETRIES - 1:
                    raise
                time.sleep(0.05 * 2**attempt)

    def _put_parts(
        self, key: str, name: str, first: bytes, source: BinaryIO, metadata: dict[str, str]
    ) -> None:
        """A multipart upload of ``first`` and the rest of ``source``, completed create-only."""
        if self.exists(key):
            raise AlreadyExists(f"{key} in s3://{self.bucket} already exists")
        client, target = self.client(), {"Bucket": self.bucket, "Key": name}
        with self._errors("start an upload to", key):
            upload = client.create_multipart_upload(
                **target, Metadata=metadata, ContentType="application/octet-stream"
            )
        target["UploadId"] = upload["UploadId"]
        try:
            parts: list[dict[str, Any]] = []
            chunk = first
            while chunk:
                with self._errors("write", key):
                    sent = client.upload_part(**target, PartNumber=len(parts) + 1, Body=chunk)
                parts.append({"PartNumber": len(parts) + 1, "ETag": sent["ETag"]})
                chunk = read_full(source, PART_BYTES)
            done = {"Parts": parts}
            self._conditional(
                key, lambda: client.complete_multipart_upload(**target, MultipartUpload=done, IfNoneMatch="*")
            )
        except BaseException:
            with suppress(ClientError, BotoCoreError):  # parts left behind would be billed
                client.abort_multipart_upload(**target)
            raise

    def _write_sidecar(self, key: str, meta: Mapping[str, str]) -> None:
        body = objectmeta.sidecar_bytes(meta)
        name = objectmeta.sidecar_name(self.prefix, key)
        with self._errors("write metadata of", key):
            self.client().put_object(Bucket=self.bucket, Key=name, Body=body, ContentType="application/json")

    def set_meta(self, key: str, meta: Mapping[str, str]) -> None:
        head = self._head(key)
        metadata, sidecar = objectmeta.object_metadata(meta, META_BYTES)
        if sidecar:
            self._write_sidecar(key, meta)
        name = self._name(key)
        extra = {"Metadata": metadata, "MetadataDirective": "REPLACE", "CopySourceIfMatch": head["ETag"]}
        extra["ContentType"] = "application/octet-stream"
        with self._errors("update metadata of", key, precondition=BackendUnavailable):
            self.client().copy(
                {"Bucket": self.bucket, "Key": name}, self.bucket, name, ExtraArgs=extra, Config=COPY_CONFIG
            )

    def delete(self, key: str) -> None:
        for name in (self._name(key), objectmeta.sidecar_name(self.prefix, key)):
            with self._errors("delete", key):
                self.client().delete_object(Bucket=self.bucket, Key=name)

    # -- reading -------------------------------------------------------------------------

    def _head(self, key: str) -> dict[str, Any]:
        with self._errors("read", key):
            head: dict[str, Any] = self.client().head_object(Bucket=self.bucket, Key=self._name(key))
        return head

    def exists(self, key: str) -> bool:
        try:
            self._head(key)
        except NotFound:
            return False
        return True

    def get_meta(self, key: str) -> dict[str, str]:
        found = objectmeta.decode(self._head(key).get("Metadata", {}))
        if found is not None:
            return found
        name = objectmeta.sidecar_name(self.prefix, key)
        try:
            with self._errors("read metadata of", key):
                data = self.client().get_object(Bucket=self.bucket, Key=name)["Body"].read()
        except NotFound:
            return {}  # the writer stopped before the sidecar: as if no meta was stored
        try:
            return objectmeta.parse_sidecar(data)
        except ValueError as exc:
            raise BackendUnavailable(f"S3: the metadata of {key} is not valid JSON") from exc

    def open(self, key: str) -> StoredObject:
        """The first window's GET also tells the size and the ETag every later window pins."""
        name = self._name(key)
        first = self._first_window(key, name)
        size = int(first.get("ContentRange", "").rpartition("/")[2] or first["ContentLength"])
        etag = first["ETag"]

        def open_range(start: int, end: int) -> Any:
            pinned = {"IfMatch": etag, "Range": f"bytes={start}-{end - 1}"}
            with self._errors("read", key, precondition=BackendUnavailable):
                return _Body(self.client().get_object(Bucket=self.bucket, Key=name, **pinned)["Body"])

        window = (_Body(first["Body"]), int(first["ContentLength"])) if first["Body"] is not None else None
        reader = RangedReader(size, open_range, lambda: self._errors("read", key), window)
        return StoredObject(stream=cast(BinaryIO, reader), size=size, meta={})

    def _first_window(self, key: str, name: str) -> dict[str, Any]:
        """GET of the object's first ``FIRST_WINDOW`` bytes (``Body`` None: it is empty)."""
        window = f"bytes=0-{FIRST_WINDOW - 1}"
        with self._errors("read", key):
            try:
                found: dict[str, Any] = self.client().get_object(Bucket=self.bucket, Key=name, Range=window)
            except ClientError as exc:
                if _code(exc) != "InvalidRange":  # S3's answer to a range of an empty object
                    raise
                found = {**self.client().head_object(Bucket=self.bucket, Key=name), "Body": None}
        return found

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        start = len(self.prefix)
        folders = (objectmeta.SIDECAR_DIR, *RESERVED_PREFIXES)
        hidden = tuple(folder for folder in folders if not prefix.startswith(folder))
        pages = (
            self.client()
            .get_paginator("list_objects_v2")
            .paginate(Bucket=self.bucket, Prefix=self.prefix + prefix)
        )
        with self._errors("list"):
            for page in pages:
                for item in page.get("Contents", ()):
                    key = item["Key"][start:]
                    if not key.startswith(hidden):
                        yield key

    def check_health(self) -> None:
        """One list of at most one object: the bucket exists and we may read it."""
        with self._errors("list"):
            self.client().list_objects_v2(Bucket=self.bucket, Prefix=self.prefix, MaxKeys=1)

    def download_url(self, key: str) -> str | None:
        if not self.options.redirect_urls:
            return None
        params = {"Bucket": self.bucket, "Key": self._name(key)}
        with self._errors("sign a URL for", key):
            url: str = self.client().generate_presigned_url(
                "get_object", Params=params, ExpiresIn=self.options.redirect_seconds
            )
        return url


class _Body:
    """A ranged GET's body. Closed once read to its end, its connection goes back to the pool
    for the next request (botocore would drop it); closed early, the connection is dropped."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def read(self, size: int = -1) -> bytes:
        data: bytes = self._body.read(size)
        return data

    def close(self) -> None:
        raw = getattr(self._body, "_raw_stream", None)  # urllib3's response
        if raw is not None and getattr(raw, "length_remaining", None) == 0:
            raw.release_conn()
        else:
            self._body.close()


def _make_client(options: S3Settings) -> Any:
    session = boto3.session.Session(
        aws_access_key_id=options.access_key_id or None,
        aws_secret_access_key=options.secret_access_key or None,
        aws_session_token=options.session_token or None,
        region_name=options.region_name or None,
    )
    config = botocore.config.Config(
        signature_version="s3v4",
        s3={"addressing_style": options.addressing_style},
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=10,
        read_timeout=60,
        max_pool_connections=32,
    )
    return session.client("s3", endpoint_url=options.endpoint_url or None, config=config)
