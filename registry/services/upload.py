"""Upload: validate -> store -> record.

The file is written first (create-only), its PEP 658 metadata file beside it, and the record
last, in one Cache transaction. If the record write fails the client gets a 5xx and nothing is
listed; a retry finds the identical bytes already stored and completes the record. Re-uploading
identical bytes is a no-op that succeeds; different bytes under an existing filename are
refused with "File already exists" (what ``twine --skip-existing`` looks for), unless the
caller may overwrite (``pypi.allow_overwrite``): then the file is replaced (``replace_file``).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

from ..errors import AlreadyExists, FileExists, InvalidUpload, NotFound, TooLarge
from ..models import FileRecord
from ..storage.base import StoredObject
from .distribution import (
    DistributionMetadata,
    ParsedFilename,
    check_name,
    check_version,
    inspect_upload,
    parse_filename,
)
from .upload_rules import check_upload_filename

if TYPE_CHECKING:
    from .context import Services

_CHUNK = 1024 * 1024
FILETYPES = ("bdist_wheel", "sdist")


@dataclass(frozen=True)
class UploadForm:
    """What the legacy upload API's multipart form carries (``:action=file_upload``)."""

    name: str
    version: str
    filetype: str
    filename: str
    content: BinaryIO
    sha256_digest: str = ""
    md5_digest: str = ""
    blake2_256_digest: str = ""


@dataclass(frozen=True)
class Digests:
    size: int
    sha256: str
    md5: str
    blake2b_256: str


@dataclass(frozen=True)
class UploadOutcome:
    record: FileRecord
    created: bool  # False when identical bytes were already there


class Hashing:
    """The digests a record keeps, computed chunk by chunk as bytes go by."""

    def __init__(self) -> None:
        self.size = 0
        self._sha256 = hashlib.sha256()
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._blake2 = hashlib.blake2b(digest_size=32)

    def update(self, chunk: bytes) -> None:
        self.size += len(chunk)
        self._sha256.update(chunk)
        self._md5.update(chunk)
        self._blake2.update(chunk)

    def digests(self) -> Digests:
        return Digests(self.size, self._sha256.hexdigest(), self._md5.hexdigest(), self._blake2.hexdigest())


def hash_stream(stream: BinaryIO, max_size: int) -> Digests:
    """Hash a stream from its start in one pass, refusing it past ``max_size`` bytes."""
    stream.seek(0)
    hashing = Hashing()
    while chunk := stream.read(_CHUNK):
        if hashing.size + len(chunk) > max_size:
            raise TooLarge(f"File too large: the limit is {max_size} bytes")
        hashing.update(chunk)
    return hashing.digests()


def check_form(form: UploadForm) -> ParsedFilename:
    """Check the filename and that the form's name, version and filetype agree with it.

    :raises InvalidUpload: the first disagreement found.
    """
    parsed = parse_filename(form.filename)
    check_upload_filename(parsed)
    if not form.name:
        raise InvalidUpload("Missing 'name' in the upload form")
    if not form.version:
        raise InvalidUpload("Missing 'version' in the upload form")
    if check_name(form.name) != parsed.project:
        raise InvalidUpload(
            f"The filename {form.filename!r} does not match the project name {form.name!r} in the form"
        )
    if check_version(form.version) != parsed.version:
        raise InvalidUpload(
            f"The filename {form.filename!r} does not match the version {form.version!r} in the form"
        )
    if form.filetype and form.filetype not in FILETYPES:
        raise InvalidUpload(f"Invalid filetype {form.filetype!r}: expected bdist_wheel or sdist")
    if form.filetype and form.filetype != parsed.packagetype:
        raise InvalidUpload(
            f"The filetype {form.filetype!r} does not match the file {form.filename!r} "
            f"(a {parsed.packagetype})"
        )
    return parsed


def check_digests(form: UploadForm, digests: Digests) -> None:
    """:raises InvalidUpload: a digest the client supplied does not match the bytes received."""
    supplied = (
        ("sha256", form.sha256_digest, digests.sha256),
        ("md5", form.md5_digest, digests.md5),
        ("blake2_256", form.blake2_256_digest, digests.blake2b_256),
    )
    for label, claimed, actual in supplied:
        if claimed and claimed.strip().lower() != actual:
            raise InvalidUpload(
                f"The {label} digest supplied does not match the uploaded file "
                "(the file may have been corrupted in transit)"
            )


def file_exists_error(filename: str, sha256: str) -> FileExists:
    return FileExists(
        f"File already exists ({filename!r}, with sha256 hash {sha256!r}): a file cannot be "
        "replaced once uploaded; upload it under a new version instead"
    )


def upload(
    services: Services,
    form: UploadForm,
    uploader: str,
    *,
    overwrite: bool = False,
    max_size: int | None = None,
) -> UploadOutcome:
    """Validate, store and record one uploaded file (replacing one, if ``overwrite``).

    ``max_size`` replaces ``pypi.max_file_size`` (large-file uploads have their own limit).

    :raises InvalidUpload: the file or form fails a check (nothing is stored).
    :raises FileExists: different bytes are already stored under this filename and
        ``overwrite`` is false.
    :raises TooLarge: the file exceeds the size limit.
    """
    config = services.config
    parsed = check_form(form)
    digests = hash_stream(form.content, config["pypi.max_file_size"] if max_size is None else max_size)
    if digests.size == 0:
        raise InvalidUpload("The uploaded file is empty")
    check_digests(form, digests)
    existing = services.cache.get_file(parsed.project, parsed.filename)
    if existing is not None:
        if existing.sha256 == digests.sha256:
            return UploadOutcome(existing, created=False)
        if not overwrite:
            raise file_exists_error(parsed.filename, existing.sha256)
    metadata = inspect_upload(form.content, parsed, digests.size, config["pypi.max_unpacked_size"])
    is_wheel = parsed.packagetype == "bdist_wheel"
    record = new_record(parsed, digests, metadata, uploader=uploader)
    if existing is not None:
        return UploadOutcome(
            replace_file(services, existing, record, form.content, metadata.raw), created=True
        )
    store_file(services, record, form.content, metadata.raw if is_wheel else None)
    return UploadOutcome(record_file(services, record), created=True)


def new_record(
    parsed: ParsedFilename, digests: Digests, metadata: DistributionMetadata | None, **fields: Any
) -> FileRecord:
    """The record of a file from its name, its bytes and its own metadata (if it could be read);
    ``fields`` set the rest (``uploader``, ``origin`` ...)."""
    is_wheel = parsed.packagetype == "bdist_wheel"
    return FileRecord(
        project=parsed.project,
        version=str(parsed.version),
        filename=parsed.filename,
        packagetype=parsed.packagetype,
        size=digests.size,
        sha256=digests.sha256,
        md5=digests.md5,
        blake2b_256=digests.blake2b_256,
        requires_python=metadata.requires_python if metadata else "",
        metadata_sha256=hashlib.sha256(metadata.raw).hexdigest() if metadata and is_wheel else "",
        python_version=parsed.python_version,
        info=metadata.info if metadata else {},
    ).with_changes(**fields)


def storage_meta(record: FileRecord) -> dict[str, str]:
    """The meta mapping stored on the object: enough to rebuild the record from Storage."""
    return {"record": json.dumps(record.to_dict(), separators=(",", ":"))}


def stored_sha256(services: Services, key: str) -> str:
    """The sha256 of an object already in Storage, from its meta or, failing that, its bytes."""
    try:
        meta = services.storage.get_meta(key)
        return str(json.loads(meta["record"])["sha256"])
    except (KeyError, ValueError, TypeError):
        stored = services.storage.open(key)
        digest = hashlib.sha256()
        with stored.stream:
            while chunk := stored.stream.read(_CHUNK):
                digest.update(chunk)
        return digest.hexdigest()
    except NotFound:
        return ""


def store_file(services: Services, record: FileRecord, content: BinaryIO, metadata: bytes | None) -> None:
    """Write the file, then its metadata file, create-only; accept identical leftovers.

    A leftover from an earlier attempt whose record write failed is accepted when its bytes
    are the same, which is what makes a retry succeed.
    """
    content.seek(0)
    try:
        services.storage.put(record.key, content, storage_meta(record))
    except AlreadyExists:
        if stored_sha256(services, record.key) != record.sha256:
            raise file_exists_error(record.filename, record.sha256) from None
        services.storage.set_meta(record.key, storage_meta(record))
    if metadata is not None:
        # An existing one came from the same file bytes (checked above), so it is the same.
        with contextlib.suppress(AlreadyExists):
            services.storage.put(record.metadata_key, io.BytesIO(metadata), {})


def record_file(services: Services, record: FileRecord) -> FileRecord:
    """Add the record; under a race, the loser with identical bytes gets the winner's record."""
    try:
        services.cache.add_file(record)
    except AlreadyExists:
        winner = services.cache.get_file(record.project, record.filename)
        if winner is None or winner.sha256 != record.sha256:
            raise file_exists_error(record.filename, winner.sha256 if winner else "") from None
        return winner
    return record


def replace_file(
    services: Services, old: FileRecord, new: FileRecord, content: BinaryIO, metadata: bytes
) -> FileRecord:
    """Replace a file's bytes and record (``pypi.allow_overwrite``).

    The old bytes go first, then the new ones are stored, then recorded. The new file's URL
    differs from the old one (it carries the start of the sha256), so a CDN's immutable copy of
    the old URL keeps the bytes that URL always had. Between storing and recording, the key
    holds bytes that are not the record's: downloads check (``stored_matches``) and answer 404
    rather than serve them under the old URL. A failure half-way is completed by a retry.
    """
    services.storage.delete(old.key)
    services.storage.delete(old.metadata_key)
    store_file(services, new, content, metadata if new.packagetype == "bdist_wheel" else None)
    services.cache.update_files([new])
    return new


def stored_matches(
    services: Services, record: FileRecord, stored: StoredObject, metadata: bool
) -> StoredObject | None:
    """``stored`` (possibly re-wrapped) if its bytes are ``record``'s, else None (closed).

    Only needed when files can be replaced. Call it after opening, so the open stream is the
    one checked: for a file, its stored record says whose bytes they are; a metadata file is
    small, so it is hashed.
    """
    if metadata:
        with stored.stream:
            data = stored.stream.read()
        if hashlib.sha256(data).hexdigest() != record.metadata_sha256:
            return None
        return StoredObject(stream=io.BytesIO(data), size=len(data), meta=stored.meta)
    if stored_sha256(services, record.key) != record.sha256:
        stored.stream.close()
        return None
    return stored
