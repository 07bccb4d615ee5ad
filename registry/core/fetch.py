"""Fetch one file from upstream into the store while streaming it to the client.

The bytes go to the client as they arrive and, at the same time, into a temporary file (so
memory stays bounded whatever the file's size). The last chunk is held back until the whole
file's sha256 matches the one the upstream's page lists: on a mismatch the response is cut
short (the client sees an incomplete download, never a complete wrong file), nothing is
stored, and later requests for that file get a clear 502 at once for a while. Once verified,
the file is stored and recorded through the same ``FilePipeline`` as an
upload, so its PEP 658 metadata file is extracted and served too.

One process fetches a file once: concurrent requests wait for the first (``KeyedLocks``) and
are then served from storage. Two gunicorn workers may both fetch it; the create-only
Storage ``put`` and the atomic Cache ``add_file`` make the second store a harmless no-op.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Callable, Generator, Iterator
from typing import BinaryIO

from ..errors import InvalidUpload, RegistryError, UpstreamError
from ..models import FileRecord, utcnow
from ..upstream import Download, UpstreamFile, redact
from .distribution import DistributionMetadata, ParsedFilename, inspect_distribution
from .listing import Proxied
from .pipeline import FilePipeline
from .uploads import Digests, Hashing, new_record, wheel_metadata

log = logging.getLogger("registry.fallback")

UPLOADER = "upstream"  # the ``uploader`` of every record cached from the upstream index
MAX_UNKNOWN_SIZE = 16 * 1024**3  # a file whose size nobody announced is cut off here
PRIME_BYTES = 1024 * 1024  # read before answering: smaller files are verified before byte one


def cached_record(
    parsed: ParsedFilename,
    upstream: UpstreamFile,
    digests: Digests,
    metadata: DistributionMetadata | None,
    source: str = "",
) -> FileRecord:
    """The record of a verified upstream file: its own metadata, plus what the upstream
    (named ``source``) says."""
    record = new_record(
        parsed,
        digests,
        metadata,
        upload_time=upstream.upload_time or utcnow(),
        uploader=UPLOADER,
        yanked=upstream.yanked,
        yanked_reason=upstream.yanked_reason,
        origin=redact(upstream.url),
        upstream=source,
    )
    return record.with_changes(requires_python=upstream.requires_python or record.requires_python)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Tee:
    """An iterable response body that also spools, verifies and stores what it passes on.

    ``close`` is idempotent and always runs (the WSGI server calls it, or iteration ending
    does): it closes the upstream response, stores the file if it was verified, and releases
    the per-file lock.
    """

    def __init__(
        self,
        pipeline: FilePipeline,
        max_unpacked_size: int,
        parsed: ParsedFilename,
        upstream: UpstreamFile,
        download: Download,
        on_failure: Callable[[str], None],
        release: Callable[[], None],
        upstream_name: str = "",
    ) -> None:
        self.pipeline = pipeline
        self.upstream_name = upstream_name  # recorded on the stored file's record
        self.max_unpacked_size = max_unpacked_size
        self.parsed = parsed
        self.upstream = upstream
        self.download = download
        self.expected_size = upstream.size or download.length
        self._on_failure = on_failure
        self._release = release
        self._spool: BinaryIO = tempfile.TemporaryFile(prefix="registry-fetch-")  # noqa: SIM115
        self._verified: Digests | None = None
        self._closed = False
        self._source = self._checked()
        self._primed: list[bytes] = []
        self._primed_size = 0
        self.stored: FileRecord | None = None

    def prime(self, size: int = PRIME_BYTES) -> None:
        """Read up to ``size`` bytes before the response starts, so a file that fits in them
        is verified before the first byte goes out (a mismatch is then a plain 502).

        :raises UpstreamError | UpstreamTimeout: the upstream failed or sent the wrong bytes.
        """
        try:
            while self._primed_size < size:
                chunk = next(self._source)
                self._primed.append(chunk)
                self._primed_size += len(chunk)
        except StopIteration:
            pass
        except BaseException:
            self.close()
            raise

    def __iter__(self) -> Iterator[bytes]:
        try:
            while self._primed:
                yield self._primed.pop(0)
            yield from self._source
        finally:
            self.close()

    def _checked(self) -> Generator[bytes, None, None]:
        """The upstream's chunks, the last one held back until the whole file is verified."""
        listed, sent = self.upstream.size, self.download.length
        if listed is not None and sent is not None and listed != sent:
            self._refuse(f"is {sent} bytes long, not the {listed} its page lists")
        hashing, held = Hashing(), b""
        limit = self.expected_size or MAX_UNKNOWN_SIZE
        for chunk in self.download.chunks():
            if hashing.size + len(chunk) > limit:
                self._refuse(f"is larger than the {limit} bytes announced")
            if held:
                yield held
            hashing.update(chunk)
            self._spool.write(chunk)
            held = chunk
        digests = hashing.digests()
        if self.expected_size is not None and digests.size != self.expected_size:
            self._refuse(f"has {digests.size} bytes, not the {self.expected_size} announced")
        if digests.sha256 != self.upstream.sha256:
            self._refuse(f"has sha256 {digests.sha256}, not the {self.upstream.sha256} its page lists")
        self._verified = digests
        if held:
            yield held

    def _refuse(self, problem: str) -> None:
        message = (
            f"Refused {self.parsed.filename} from the upstream index: the file {problem}; nothing was stored"
        )
        log.error("%s (%s)", message, self.download.url)
        self._on_failure(message)
        raise UpstreamError(message)

    def consume(self) -> FileRecord:
        """Fetch the whole file without sending it anywhere; return its stored record.

        :raises UpstreamError: the file was refused or could not be stored.
        """
        for _chunk in self:
            pass
        if self.stored is None:
            raise UpstreamError(f"{self.parsed.filename} could not be stored from the upstream index")
        return self.stored

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._source.close()
            self.download.close()
            if self._verified is not None:
                self.stored = self._store(self._verified)
        finally:
            self._spool.close()
            self._release()

    def _store(self, digests: Digests) -> FileRecord | None:
        """Store and record the verified file; failures are logged (the client has its copy)."""
        metadata = self._inspect(digests.size)
        record = cached_record(self.parsed, self.upstream, digests, metadata, self.upstream_name)
        try:
            stored = self.pipeline.add(record, self._spool, wheel_metadata(self.parsed, metadata))
        except RegistryError as exc:
            log.error("Could not cache %s from the upstream index: %s", record.filename, exc.message)
            return None
        log.info("Cached %s from %s", record.filename, record.origin)
        return stored

    def _inspect(self, size: int) -> DistributionMetadata | None:
        """The file's core metadata; best effort, since the upstream's hash already vouches for it."""
        try:
            return inspect_distribution(self._spool, self.parsed, size, self.max_unpacked_size)
        except InvalidUpload as exc:
            log.warning("Caching %s without its metadata: %s", self.parsed.filename, exc.message)
            return None


def metadata_body(data: bytes) -> Proxied:
    """A metadata file fetched from upstream, sent in one piece."""
    return Proxied(body=[data], size=len(data), etag=_sha256(data), mimetype="text/plain")
