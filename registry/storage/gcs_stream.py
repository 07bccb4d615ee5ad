"""The read stream ``GCSStorage.open`` returns: seekable, pinned to one generation of a blob."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

#: ``GCSStorage._errors``: translates client library errors for an action.
Errors = Callable[[str], AbstractContextManager[None]]


class BlobStream:
    """A seekable read stream over one generation of a blob that reports read failures as
    registry errors. It keeps the blob, so ``GCSStorage.put`` can copy it inside GCS instead
    of streaming the bytes through the app."""

    def __init__(self, stream: Any, blob: Any, bucket_name: str, errors: Errors) -> None:
        self._stream = stream
        self._errors = errors
        self.blob = blob
        self.bucket_name = bucket_name

    def read(self, size: int = -1) -> bytes:
        with self._errors("read"):
            data: bytes = self._stream.read(size)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        with self._errors("read"):
            position: int = self._stream.seek(offset, whence)
        return position

    def tell(self) -> int:
        position: int = self._stream.tell()
        return position

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._stream.close()

    @property
    def closed(self) -> bool:
        closed: bool = self._stream.closed
        return closed

    def __enter__(self) -> BlobStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(256 * 1024):
            yield chunk
