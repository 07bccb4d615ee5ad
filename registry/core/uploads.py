"""Upload: grant -> validate -> store -> record, the same for every upload protocol.

``Uploads.grant`` is the one answer to "may this caller upload (or overwrite) here"; the form
upload and the large-file upload both ask it. The checks then run on the bytes, and the file
goes through the ``FilePipeline``. Re-uploading identical bytes is a no-op that succeeds;
different bytes under an existing filename are refused with "File already exists" (what
``twine --skip-existing`` looks for), unless the grant allows overwriting (``pypi.allow_overwrite``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO

from packaging.utils import NormalizedName, canonicalize_name

from ..access import Identity, Permissions
from ..cache import Cache
from ..config.views import Limits
from ..errors import Claimed, InvalidUpload, TooLarge
from ..models import FileRecord
from . import upload_state
from .distribution import (
    DistributionMetadata,
    ParsedFilename,
    check_name,
    check_version,
    inspect_upload,
    parse_filename,
)
from .pipeline import FilePipeline, file_exists_error
from .upload_rules import check_upload_filename

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


def wheel_metadata(parsed: ParsedFilename, metadata: DistributionMetadata | None) -> bytes | None:
    """The PEP 658 file stored beside a wheel (sdists have none)."""
    return metadata.raw if metadata is not None and parsed.packagetype == "bdist_wheel" else None


@dataclass(frozen=True)
class UploadGrant:
    """Permission to upload to one project, as one caller (and whether to replace files)."""

    project: NormalizedName
    uploader: str
    overwrite: bool


class Uploads:
    """Who may upload where, and the upload itself, for every upload protocol."""

    def __init__(
        self, permissions: Permissions, pipeline: FilePipeline, cache: Cache, limits: Limits
    ) -> None:
        self.permissions = permissions
        self.pipeline = pipeline
        self.cache = cache
        self.limits = limits
        self.backfill = upload_state.Backfill(cache)

    def require_uploader(self, caller: Identity) -> None:
        """Refuse before reading a body when nobody without a login may upload.

        :raises Unauthorized | Forbidden: the caller may not upload at all.
        """
        allowed = caller.authenticated or self.permissions.can_write(caller)
        self.permissions.require(caller, allowed, "upload")

    def grant(self, caller: Identity, name: str) -> UploadGrant:
        """Whether ``caller`` may upload to the project ``name`` names (and replace files there).

        :raises Unauthorized | Forbidden: the caller may not upload to that project.
        """
        try:
            project = check_name(name)
        except InvalidUpload:  # no rule can name it: the defaults apply; the checks report it
            project = canonicalize_name(name)
        self.permissions.require(caller, self.permissions.can_write(caller, project), f"upload to {name!r}")
        return UploadGrant(project, caller.label, self.permissions.can_overwrite(caller, project))

    def accept(self, caller: Identity, read_form: Callable[[], UploadForm]) -> UploadOutcome:
        """A form upload: refuse early, read the form, check the grant, upload."""
        self.require_uploader(caller)
        form = read_form()
        return self.upload(form, self.grant(caller, form.name))

    def upload(self, form: UploadForm, grant: UploadGrant, max_size: int | None = None) -> UploadOutcome:
        """Validate, store and record one uploaded file (replacing one, if the grant allows).

        ``max_size`` replaces ``pypi.max_file_size`` (large-file uploads have their own limit).

        :raises InvalidUpload: the file or form fails a check (nothing is stored).
        :raises FileExists: different bytes are already stored under this filename.
        :raises TooLarge: the file exceeds the size limit.
        """
        parsed = check_form(form)
        if parsed.project != grant.project:
            raise InvalidUpload(f"The file {form.filename!r} does not belong to project {grant.project!r}")
        digests = hash_stream(form.content, max_size or self.limits.max_file_size)
        if digests.size == 0:
            raise InvalidUpload("The uploaded file is empty")
        check_digests(form, digests)
        existing = self.cache.get_file(parsed.project, parsed.filename)
        if existing is not None:
            if existing.sha256 == digests.sha256:
                return UploadOutcome(existing, created=False)
            if not grant.overwrite:
                raise file_exists_error(parsed.filename, existing.sha256)
        self.backfill.ensure()
        planned = new_record(parsed, digests, None, uploader=grant.uploader)
        claims = upload_state.check(self.cache, planned) if existing is None else []
        metadata = inspect_upload(form.content, parsed, digests.size, self.limits.max_unpacked_size)
        record = new_record(parsed, digests, metadata, uploader=grant.uploader)
        raw = wheel_metadata(parsed, metadata)
        if existing is not None:
            return UploadOutcome(self._replace(existing, record, form.content, raw), created=True)
        try:
            return UploadOutcome(self.pipeline.add(record, form.content, raw, claims), created=True)
        except Claimed as exc:  # lost a race to a concurrent upload
            raise upload_state.refusal(exc, record) from None

    def _replace(self, old: FileRecord, new: FileRecord, content: BinaryIO, raw: bytes | None) -> FileRecord:
        """Replace a file (``pypi.allow_overwrite``): its new bytes too live under one filename."""
        upload_state.claim_replacement(self.cache, old, new)
        replaced = self.pipeline.replace(old, new, content, raw)
        upload_state.release_replaced(self.cache, old)
        return replaced
