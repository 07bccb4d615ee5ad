"""Shared by the S3 and Azure Blob tests: sources and races the contract suite does not cover."""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable

from registry.errors import AlreadyExists
from registry.storage import Storage

KEY = "demo/demo-1.0-py3-none-any.whl"


def race_puts(storage: Storage, size: int, writers: int = 4) -> tuple[dict[int, str], dict[int, bytes]]:
    """``writers`` threads put different ``size``-byte files under KEY at once.

    :returns: each writer's outcome ("stored" or "exists"), and each writer's content.
    """
    contents = {number: os.urandom(size) for number in range(writers)}
    outcomes: dict[int, str] = {}
    start = threading.Barrier(writers)

    def put(number: int) -> None:
        start.wait()
        try:
            storage.put(KEY, io.BytesIO(contents[number]), {"writer": str(number)})
            outcomes[number] = "stored"
        except AlreadyExists:
            outcomes[number] = "exists"

    threads = [threading.Thread(target=put, args=(number,)) for number in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == writers, outcomes
    return outcomes, contents


class InterruptedBy(io.RawIOBase):
    """``size`` random bytes that run ``interruption`` once, when the reader passes ``at``: a
    real interleaving of another writer with an upload in progress."""

    def __init__(self, size: int, at: int, interruption: Callable[[], None]) -> None:
        self.data = io.BytesIO(os.urandom(size))
        self.at = at
        self.interruption: Callable[[], None] | None = interruption

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.interruption is not None and self.data.tell() >= self.at:
            self.interruption, interruption = None, self.interruption
            interruption()
        return self.data.readinto(buffer)


class FailingAfter(io.RawIOBase):
    """A stream of ``good`` random bytes that then fails (an upload cut off half way)."""

    def __init__(self, good: int) -> None:
        self.left = good

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.left <= 0:
            raise OSError("the client went away")
        count = min(len(buffer), self.left)
        buffer[:count] = os.urandom(count)
        self.left -= count
        return count
