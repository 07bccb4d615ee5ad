"""The Storage contract, run against every backend (``file``, ``gcs`` on fake-gcs-server).

Only the public interface is used, so a backend passes by behaving, not by how it is built.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable

import pytest
import requests

from registry.errors import AlreadyExists, BackendUnavailable, NotFound, NotSupported
from registry.storage import Storage

KEY = "demo/demo-1.0-py3-none-any.whl"


def put_bytes(storage: Storage, key: str, data: bytes, meta: dict[str, str] | None = None) -> None:
    storage.put(key, io.BytesIO(data), meta or {})


def test_put_then_open_returns_the_bytes_and_size(storage: Storage) -> None:
    data = os.urandom(300_000)
    put_bytes(storage, KEY, data)
    stored = storage.open(KEY)
    with stored.stream:
        assert stored.stream.read() == data
    assert stored.size == len(data)
    assert storage.read_bytes(KEY) == data
    assert storage.exists(KEY)


def test_put_reads_the_source_from_its_current_position(storage: Storage) -> None:
    source = io.BytesIO(b"headerPAYLOAD")
    source.seek(6)
    storage.put(KEY, source, {})
    assert storage.read_bytes(KEY) == b"PAYLOAD"


def test_put_is_create_only(storage: Storage) -> None:
    put_bytes(storage, KEY, b"first", {"record": "1"})
    with pytest.raises(AlreadyExists):
        put_bytes(storage, KEY, b"second", {"record": "2"})
    assert storage.read_bytes(KEY) == b"first"
    assert storage.get_meta(KEY) == {"record": "1"}


def test_concurrent_puts_of_one_key_have_exactly_one_winner(storage: Storage) -> None:
    outcomes: dict[int, str] = {}
    start = threading.Barrier(8)

    def put(number: int) -> None:
        start.wait()
        try:
            put_bytes(storage, KEY, f"content {number}".encode() * 1000)
            outcomes[number] = "stored"
        except AlreadyExists:
            outcomes[number] = "exists"

    threads = [threading.Thread(target=put, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [n for n, outcome in outcomes.items() if outcome == "stored"]
    assert len(outcomes) == 8
    assert len(winners) == 1
    assert storage.read_bytes(KEY) == f"content {winners[0]}".encode() * 1000


class Boom(Exception):
    """The source failed (a client went away, a disk broke)."""


class FailingSource(io.RawIOBase):
    """A stream that yields ``good`` bytes and then fails, like an interrupted upload."""

    def __init__(self, good: int) -> None:
        self.good = good
        self.position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.position >= self.good:
            raise Boom("the source failed")
        count = min(len(buffer), self.good - self.position)
        buffer[:count] = b"x" * count
        self.position += count
        return count


class FailingFile(io.BytesIO):
    """A seekable file of ``size`` bytes whose reads fail past ``good`` bytes."""

    def __init__(self, size: int, good: int) -> None:
        super().__init__(b"y" * size)
        self.good = good

    def read(self, size: int | None = -1) -> bytes:
        if self.tell() + (size if size is not None and size >= 0 else 1) > self.good:
            raise Boom("the file failed")
        return super().read(size)


FAILING_SOURCES = {
    "stream-small": lambda: FailingSource(100_000),
    "stream-large": lambda: FailingSource(12 * 1024 * 1024),
    "file-small": lambda: FailingFile(200_000, 100_000),
    "file-resumable": lambda: FailingFile(20 * 1024 * 1024, 12 * 1024 * 1024),
}


@pytest.mark.parametrize("source", list(FAILING_SOURCES))
def test_a_failed_put_stores_nothing(storage: Storage, source: str) -> None:
    with pytest.raises((Boom, BackendUnavailable)):
        storage.put(KEY, FAILING_SOURCES[source](), {"record": "x"})  # type: ignore[arg-type]
    assert not storage.exists(KEY)
    assert list(storage.list_keys()) == []
    with pytest.raises(NotFound):
        storage.open(KEY)
    put_bytes(storage, KEY, b"retry")  # the key is still free
    assert storage.read_bytes(KEY) == b"retry"


def test_reads_are_seekable_for_ranges(storage: Storage) -> None:
    data = os.urandom(5 * 1024 * 1024 + 123)
    put_bytes(storage, KEY, data)
    stored = storage.open(KEY)
    with stored.stream:
        for start, length in (
            (0, 10),
            (len(data) - 64 * 1024, 64 * 1024),
            (2 * 1024 * 1024 - 5, 4 * 1024 * 1024),
        ):
            stored.stream.seek(start)
            assert stored.stream.read(length) == data[start : start + length]


def test_meta_round_trips(storage: Storage) -> None:
    meta = {"record": '{"name": "démo", "summary": "ünïcode ✓"}', "other": "value"}
    put_bytes(storage, KEY, b"data", meta)
    assert storage.get_meta(KEY) == meta


def test_large_meta_round_trips(storage: Storage) -> None:
    # Bigger than GCS allows as custom metadata (8 KiB): a record with long dependency lists.
    meta = {"record": "requires-dist " * 2000}
    put_bytes(storage, KEY, b"data", meta)
    assert storage.get_meta(KEY) == meta
    smaller = {"record": "small"}
    storage.set_meta(KEY, smaller)
    assert storage.get_meta(KEY) == smaller
    storage.set_meta(KEY, meta)
    assert storage.get_meta(KEY) == meta
    assert list(storage.list_keys()) == [KEY]


def test_set_meta_replaces_the_whole_mapping(storage: Storage) -> None:
    put_bytes(storage, KEY, b"data", {"record": "old", "gone": "soon"})
    storage.set_meta(KEY, {"record": "new"})
    assert storage.get_meta(KEY) == {"record": "new"}
    assert storage.read_bytes(KEY) == b"data"


@pytest.mark.parametrize(
    "operation",
    [
        lambda s: s.open(KEY),
        lambda s: s.get_meta(KEY),
        lambda s: s.set_meta(KEY, {"record": "x"}),
        lambda s: s.read_bytes(KEY),
    ],
    ids=["open", "get_meta", "set_meta", "read_bytes"],
)
def test_missing_objects_raise_not_found(storage: Storage, operation: Callable[[Storage], object]) -> None:
    with pytest.raises(NotFound):
        operation(storage)
    assert not storage.exists(KEY)


def test_list_keys_filters_by_prefix(storage: Storage) -> None:
    keys = ["a/a-1.0.tar.gz", "a/a-1.0-py3-none-any.whl", "ab/ab-1.0.tar.gz", "b/b-2.0.tar.gz"]
    for key in keys:
        put_bytes(storage, key, key.encode(), {"record": "r" * 9000})
    assert sorted(storage.list_keys()) == sorted(keys)
    assert sorted(storage.list_keys("a/")) == ["a/a-1.0-py3-none-any.whl", "a/a-1.0.tar.gz"]
    assert sorted(storage.list_keys("a")) == sorted(keys[:3])
    assert list(storage.list_keys("c/")) == []


def test_delete_removes_and_is_idempotent(storage: Storage) -> None:
    put_bytes(storage, KEY, b"data", {"record": "r" * 9000})
    put_bytes(storage, "demo/other.tar.gz", b"other")
    storage.delete(KEY)
    storage.delete(KEY)
    storage.delete("never/stored.tar.gz")
    assert not storage.exists(KEY)
    assert list(storage.list_keys()) == ["demo/other.tar.gz"]
    with pytest.raises(NotFound):
        storage.get_meta(KEY)
    put_bytes(storage, KEY, b"again", {"record": "new"})  # a deleted key can be written again
    assert storage.read_bytes(KEY) == b"again"
    assert storage.get_meta(KEY) == {"record": "new"}


def test_downloads_stream_through_the_app_by_default(storage: Storage) -> None:
    put_bytes(storage, KEY, b"data")
    assert storage.download_url(KEY) is None


def test_a_working_backend_is_healthy(storage: Storage) -> None:
    storage.check_health()


def test_put_from_an_opened_object_copies_it(storage: Storage) -> None:
    data = os.urandom(300_000)
    put_bytes(storage, "_staging/abc", data, {"uploader": "alice"})
    with storage.open("_staging/abc").stream as stream:
        storage.put(KEY, stream, {"record": "copy"})
    assert storage.read_bytes(KEY) == data
    assert storage.get_meta(KEY) == {"record": "copy"}
    assert storage.read_bytes("_staging/abc") == data


def test_direct_uploads_work_or_are_refused_clearly(storage: Storage) -> None:
    if not storage.direct_uploads:
        with pytest.raises(NotSupported, match="cannot take uploads sent straight to it"):
            storage.create_upload_session("_staging/abc", 4, {"uploader": "alice"})
        return
    url = storage.create_upload_session("_staging/abc", 4, {"uploader": "alice"})
    answer = requests.put(url, data=b"data", headers={"Content-Range": "bytes 0-3/4"}, timeout=10)
    assert answer.status_code in (200, 201), answer.text
    assert storage.read_bytes("_staging/abc") == b"data"
    assert storage.get_meta("_staging/abc") == {"uploader": "alice"}


def test_reserved_prefixes_are_listed_only_when_asked_for(storage: Storage) -> None:
    put_bytes(storage, KEY, b"data")
    put_bytes(storage, "_upstream/up/heads/demo", b"", {"version": "v1"})
    put_bytes(storage, "_upstream/up/pages/demo/v1.json.gz", b"page")
    assert list(storage.list_keys()) == [KEY]  # rebuild, migrate, import and strays never see them
    assert sorted(storage.list_keys("_upstream/")) == [
        "_upstream/up/heads/demo",
        "_upstream/up/pages/demo/v1.json.gz",
    ]
    storage.set_meta("_upstream/up/heads/demo", {"version": "v2"})  # the head is the one thing that changes
    assert storage.get_meta("_upstream/up/heads/demo") == {"version": "v2"}
