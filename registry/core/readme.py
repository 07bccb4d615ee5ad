"""A release's description (its README), read from what Storage already holds.

Nothing extra is stored at upload: a wheel's PEP 658 metadata file (stored beside it) is its
complete core metadata, description included, and an sdist carries its PKG-INFO inside. So a
project page reads one small object for a wheel, or the sdist itself for a release without a
wheel (only up to ``MAX_SDIST_BYTES``, to bound the cost). The web layer renders the text; the
rendered page is kept per project serial, so the read happens once per change, not per view.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import InvalidUpload, NotFound
from ..models import FileRecord
from ..storage import Storage
from .core_metadata import read_description
from .distribution import inspect_distribution, parse_filename

log = logging.getLogger("registry")
MAX_SDIST_BYTES = 8 * 1024 * 1024
MAX_DESCRIPTION_CHARS = 512 * 1024


@dataclass(frozen=True)
class Description:
    """A README's text and its declared ``Description-Content-Type`` (may be empty)."""

    text: str
    content_type: str


def parse_description(raw: bytes) -> Description | None:
    """The description in core metadata bytes (METADATA / PKG-INFO), if any."""
    text, content_type = read_description(raw)
    text = text.strip()
    if not text or text == "UNKNOWN":
        return None
    return Description(text[:MAX_DESCRIPTION_CHARS], content_type)


class Descriptions:
    """Reads a release's description from Storage (one read per call)."""

    def __init__(self, storage: Storage, max_unpacked_size: int) -> None:
        self.storage = storage
        self.max_unpacked_size = max_unpacked_size

    def of_release(self, records: Sequence[FileRecord]) -> Description | None:
        """The description of the release ``records`` belong to (wheels are tried first);
        None when no stored file of the release offers one."""
        for record in records:
            if record.metadata_sha256:
                return self._from_metadata_file(record)
        for record in records:
            if record.packagetype == "sdist" and record.size <= MAX_SDIST_BYTES:
                return self._from_sdist(record)
        return None

    def _from_metadata_file(self, record: FileRecord) -> Description | None:
        try:
            return parse_description(self.storage.read_bytes(record.metadata_key))
        except NotFound:
            return None

    def _from_sdist(self, record: FileRecord) -> Description | None:
        try:
            stored = self.storage.open(record.key)
        except NotFound:
            return None
        with stored.stream:
            try:
                parsed = parse_filename(record.filename)
                metadata = inspect_distribution(stored.stream, parsed, stored.size, self.max_unpacked_size)
            except InvalidUpload as exc:
                log.warning("No description from %s: %s", record.filename, exc.message)
                return None
        return parse_description(metadata.raw)
