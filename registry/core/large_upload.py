"""Large-file uploads: the bytes go straight to the bucket, then get the normal upload checks.

Cloud Run refuses HTTP/1 request bodies over 32 MiB, and twine speaks HTTP/1, so a larger file
cannot come through the registry. Instead (``python -m registry upload-large``):

1. ``start``: the uploader says what it will send (filename, size, sha256). What needs no
   bytes is checked now (the upload grant; filename, name, version, size; a different file
   under that name), then the Storage opens an upload session for the staging
   object ``_staging/<session id>``, whose meta holds the declaration and the uploader.
2. The client sends the bytes to the session URL; the registry sees none of them.
3. ``find`` + ``complete``: the registry reads the staged object through ``Storage.open`` and
   runs ``Uploads.upload`` on it, exactly as on a form upload, with the declared sha256
   as the form's digest and ``pypi.max_large_file_size`` as the limit. Storing it is a copy
   inside the backend (``GCSStorage.put`` recognises its own stream). The staged object is
   then deleted, whatever the outcome, except after a backend failure (503): then it stays so
   that ``complete`` can be retried without sending the bytes again (a bucket lifecycle rule
   removes what nobody completes).
"""

from __future__ import annotations

import io
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, BinaryIO

from ..access import Identity
from ..cache import Cache
from ..config.views import Limits
from ..errors import BackendUnavailable, InvalidUpload, NotFound, NotSupported, TooLarge
from ..models import FileRecord
from ..storage import Storage
from ..storage.base import STAGING_PREFIX
from . import upload_state
from .distribution import ParsedFilename, parse_filename
from .pipeline import file_exists_error
from .uploads import UploadForm, UploadGrant, UploadOutcome, Uploads, check_form

log = logging.getLogger("registry")
_SESSION_ID = re.compile(r"[0-9a-f]{32}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Declared:
    """What the uploader says about a file before sending it; kept as the staged object's meta."""

    filename: str
    name: str
    version: str
    size: int
    sha256: str

    def form(self, content: BinaryIO) -> UploadForm:
        """The upload form this declaration stands for, with ``content`` as the file."""
        return UploadForm(
            name=self.name,
            version=self.version,
            filetype="",
            filename=self.filename,
            content=content,
            sha256_digest=self.sha256,
        )

    def record(self, parsed: ParsedFilename) -> FileRecord:
        """What the declared file's record will say, as far as the upload rules need it."""
        return FileRecord(
            project=parsed.project,
            version=str(parsed.version),
            filename=parsed.filename,
            packagetype=parsed.packagetype,
            size=self.size,
            sha256=self.sha256,
        )

    def meta(self, uploader: str) -> dict[str, str]:
        return {key: str(value) for key, value in asdict(self).items()} | {"uploader": uploader}


@dataclass(frozen=True)
class Started:
    """An open session: where to send the bytes, and the id that completes it."""

    session_id: str
    upload_url: str


def staging_key(session_id: str) -> str:
    return STAGING_PREFIX + session_id


class LargeUploads:
    """Upload sessions whose bytes go straight to the Storage, checked like any upload."""

    def __init__(self, storage: Storage, uploads: Uploads, cache: Cache, limits: Limits) -> None:
        self.storage = storage
        self.uploads = uploads
        self.cache = cache
        self.limits = limits

    def _require_direct_uploads(self) -> None:
        """:raises NotSupported: the storage cannot take bytes sent straight to it."""
        if not self.storage.direct_uploads:
            raise NotSupported(
                "Large-file uploads need pypi.storage = gcs (the bytes go straight to the bucket); "
                "this registry stores files itself: upload with twine (files up to "
                f"{self.limits.max_file_size} bytes)"
            )

    def declare(self, filename: str, size: int, sha256: str, name: str = "", version: str = "") -> Declared:
        """Check a declaration with the upload form's checks; name and version default to the
        filename's.

        :raises InvalidUpload: filename, name, version or digest is wrong, or the file is empty.
        :raises TooLarge: ``size`` exceeds ``pypi.max_large_file_size``.
        """
        parsed = parse_filename(filename)
        declared = Declared(
            filename=filename,
            name=name or parsed.project,
            version=version or str(parsed.version),
            size=size,
            sha256=sha256.strip().lower(),
        )
        check_form(declared.form(io.BytesIO()))
        if size > self.limits.max_large_file_size:
            limit = self.limits.max_large_file_size
            raise TooLarge(f"File too large: the limit for large-file uploads is {limit} bytes")
        if size <= 0:
            raise InvalidUpload("The uploaded file is empty")
        if not _SHA256.fullmatch(declared.sha256):
            raise InvalidUpload("'sha256' must be the file's sha256 digest: 64 hex digits")
        return declared

    def start(
        self, who: Callable[[], Identity], read_fields: Callable[[], dict[str, Any]]
    ) -> Started | FileRecord:
        """Open an upload session for a declared file, or return the record if this very file
        is already uploaded. ``who`` authenticates the caller and ``read_fields`` parses the
        declaration, each only once the checks before it passed.

        :raises NotSupported: the storage cannot take direct uploads.
        :raises InvalidUpload | TooLarge: the declaration fails a check.
        :raises Unauthorized | Forbidden: the caller may not upload to that project.
        :raises FileExists: a different file is already stored under this filename and the
            caller may not replace it.
        """
        self._require_direct_uploads()
        caller = who()
        self.uploads.require_uploader(caller)
        declared = self.declare(**read_fields())
        grant = self.uploads.grant(caller, declared.name)
        parsed = parse_filename(declared.filename)
        existing = self.cache.get_file(parsed.project, parsed.filename)
        if existing is not None:
            if existing.sha256 == declared.sha256:
                return existing
            if not grant.overwrite:
                raise file_exists_error(parsed.filename, existing.sha256)
        else:  # refused before any byte is sent; checked again when the bytes are recorded
            self.uploads.backfill.ensure()
            upload_state.check(self.cache, declared.record(parsed))
        session_id = secrets.token_hex(16)
        url = self.storage.create_upload_session(
            staging_key(session_id), declared.size, declared.meta(grant.uploader)
        )
        return Started(session_id, url)

    def find(self, session_id: str, uploader: str) -> Declared:
        """The declaration of ``uploader``'s session whose bytes have all arrived.

        :raises NotFound: no such session, not this uploader's, or its bytes are not all sent.
        """
        missing = NotFound(
            f"No upload session {session_id!r} with a complete file: it does not exist, belongs to "
            "someone else, was already completed, or its file was not sent in full"
        )
        if not _SESSION_ID.fullmatch(session_id):
            raise missing
        try:
            meta = self.storage.get_meta(staging_key(session_id))
            owner = meta["uploader"]
            declared = Declared(
                meta["filename"], meta["name"], meta["version"], int(meta["size"]), meta["sha256"]
            )
        except (NotFound, KeyError, ValueError):
            raise missing from None
        if owner != uploader:
            raise missing
        return declared

    def complete(self, who: Callable[[], Identity], session_id: str) -> UploadOutcome:
        """Check, store and record the staged file with the normal upload path, then delete it
        (``who`` authenticates the caller, once large uploads are known to be possible here).

        :raises NotFound: no complete session of the caller's with that id.
        :raises InvalidUpload | FileExists | TooLarge: as ``Uploads.upload`` (staged file deleted).
        :raises BackendUnavailable: a backend failed (the staged file stays for a retry).
        """
        self._require_direct_uploads()
        caller = who()
        self.uploads.require_uploader(caller)
        declared = self.find(session_id, caller.label)
        grant = self.uploads.grant(caller, declared.name)
        return self._check_staged(session_id, declared, grant)

    def _check_staged(self, session_id: str, declared: Declared, grant: UploadGrant) -> UploadOutcome:
        key = staging_key(session_id)
        keep = False
        try:
            stored = self.storage.open(key)
            with stored.stream:
                form = declared.form(stored.stream)
                return self.uploads.upload(form, grant, max_size=self.limits.max_large_file_size)
        except BackendUnavailable:
            keep = True
            raise
        finally:
            if not keep:
                self._discard(key)

    def _discard(self, key: str) -> None:
        """Delete a staged object; a failure only leaves it to the bucket's lifecycle rule."""
        try:
            self.storage.delete(key)
        except BackendUnavailable as exc:
            log.warning("Could not delete the staged upload %s: %s", key, exc.message)
