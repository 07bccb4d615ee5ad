"""A seekable read stream over an object store's ranged GETs, with bounded memory.

``S3Storage`` and ``AzureBlobStorage`` open objects through this. Bytes are fetched in windows:
one ranged request reads a run of the object, and the next window starts where it ended, each
twice the last up to ``MAX_WINDOW``. Small windows first keep a ranged read (uv reads a wheel's
metadata by range) from asking for megabytes it drops; large ones later keep a long download
to few requests. A seek drops the open window; nothing is held but the caller's buffer and the
client library's read buffer. Every window is pinned to the version first read (an ETag), so
bytes of two different objects are never mixed: a replaced object fails the read instead.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Protocol

from ..errors import BackendUnavailable

FIRST_WINDOW = 1024 * 1024
MAX_WINDOW = 16 * 1024 * 1024
_CHUNK = 1024 * 1024  # the most read from a window per call into the library


class Body(Protocol):
    """An open ranged response body."""

    def read(self, size: int = -1) -> bytes: ...

    def close(self) -> None: ...


#: Opens bytes [start, end) of the pinned object.
Opener = Callable[[int, int], Body]
#: Translates client library errors (the backend's ``_errors("read")``).
Errors = Callable[[], AbstractContextManager[None]]


class RangedReader(io.RawIOBase):
    """Reads ``size`` bytes of one object through ``open_range``; ``first`` is a window already
    open at offset 0 (``open`` fetches it to learn the size), with its end."""

    def __init__(
        self, size: int, open_range: Opener, errors: Errors, first: tuple[Body, int] | None = None
    ) -> None:
        super().__init__()
        self.size = size
        self._open_range = open_range
        self._errors = errors
        self._position = 0
        self._body: Body | None = None
        self._window_end = 0
        if first is not None:
            self._body, self._window_end = first
        self._window = max(self._window_end, FIRST_WINDOW)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}[whence]
        target = base + offset
        if target < 0:
            raise ValueError(f"negative seek position {target}")
        if target != self._position:
            self._drop()
            self._position = target
            self._window = FIRST_WINDOW // 2  # a new run starts small again
        return target

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        """Fill ``buffer`` up to the object's end (a short read only at the end)."""
        view = memoryview(buffer).cast("B")
        wanted = max(0, min(len(view), self.size - self._position))
        filled = 0
        while filled < wanted:
            if self._body is None or self._position >= self._window_end:
                self._next_window(wanted - filled)
            assert self._body is not None
            with self._errors():
                chunk = self._body.read(min(wanted - filled, _CHUNK, self._window_end - self._position))
            if not chunk:
                raise BackendUnavailable(f"the object ended at byte {self._position} of {self.size}")
            view[filled : filled + len(chunk)] = chunk
            filled += len(chunk)
            self._position += len(chunk)
        return filled

    def _next_window(self, wanted: int) -> None:
        self._drop()
        self._window = min(max(self._window * 2, wanted), MAX_WINDOW)
        end = min(self.size, self._position + max(self._window, wanted))
        with self._errors():
            self._body = self._open_range(self._position, end)
        self._window_end = end

    def _drop(self) -> None:
        body, self._body = self._body, None
        if body is not None:
            body.close()

    def close(self) -> None:
        self._drop()
        super().close()
