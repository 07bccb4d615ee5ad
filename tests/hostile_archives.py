"""Hostile wheels and sdists for tests, built in memory with zipfile, tarfile and byte surgery.

Each builder starts from a valid file (tests/distributions.py) and changes one thing, so a test
that sees it refused knows which check refused it.
"""

from __future__ import annotations

import gzip
import io
import struct
import tarfile
import warnings
import zipfile
from collections.abc import Iterable

from tests.distributions import FIXED_TIME, Dist, sdist_bytes, wheel_bytes

END_SIG = b"PK\x05\x06"
LOCAL_SIG = b"PK\x03\x04"


def dist_info(dist: Dist) -> str:
    return f"{dist.module}-{dist.version}.dist-info"


def zip_bytes(files: Iterable[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip of ``files`` in order (a name may repeat: zipfile only warns)."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name"
        with zipfile.ZipFile(buffer, "w", method) as archive:
            for name, data in files:
                archive.writestr(zipfile.ZipInfo(name, date_time=FIXED_TIME), data, method)
    return buffer.getvalue()


def wheel_files(dist: Dist, metadata: str | None = None) -> list[tuple[str, bytes]]:
    """The members of ``dist``'s valid wheel, with ``metadata`` as its METADATA if given."""
    with zipfile.ZipFile(io.BytesIO(wheel_bytes(dist))) as archive:
        files = [(info.filename, archive.read(info)) for info in archive.infolist()]
    if metadata is not None:
        files = [(name, metadata.encode() if name.endswith("/METADATA") else data) for name, data in files]
    return files


def wheel_with_metadata(dist: Dist, metadata: str) -> bytes:
    return zip_bytes(wheel_files(dist, metadata))


def wheel_adding(dist: Dist, *extra: tuple[str, bytes]) -> bytes:
    """``dist``'s wheel with more members after its own."""
    return zip_bytes([*wheel_files(dist), *extra])


def end_record_at(data: bytes) -> int:
    return data.rindex(END_SIG)


def with_entry_count(data: bytes, count: int) -> bytes:
    """The zip with its end record claiming ``count`` entries (the central directory unchanged)."""
    at = end_record_at(data)
    return data[: at + 8] + struct.pack("<HH", count, count) + data[at + 12 :]


def with_local_name(data: bytes, old: str, new: str) -> bytes:
    """The zip with one local header naming ``new`` where its central directory says ``old``."""
    assert len(old) == len(new)
    at = data.index(old.encode())  # local headers come first, and the members are compressed
    return data[:at] + new.encode() + data[at + len(old) :]


def with_comment(data: bytes, comment: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        files = [(info.filename, source.read(info)) for info in source.infolist()]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files:
            archive.writestr(zipfile.ZipInfo(name, date_time=FIXED_TIME), content)
        archive.comment = comment
    return buffer.getvalue()


def with_gap_between_entries(dist: Dist) -> bytes:
    """A wheel whose first two entries have bytes (a hidden local header) between them."""
    files = wheel_files(dist)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for index, (name, data) in enumerate(files):
            archive.writestr(zipfile.ZipInfo(name, date_time=FIXED_TIME), data)
            if index == 0:
                buffer.write(LOCAL_SIG + b"\0" * 26 + b"hidden")
                archive.start_dir = buffer.tell()  # zipfile goes on writing after the hidden bytes
    return buffer.getvalue()


def self_extractor_style(dist: Dist, prefix: bytes) -> bytes:
    """``prefix`` then a wheel whose offsets count from the start of the file (as ``zip -A`` makes)."""
    buffer = io.BytesIO(prefix)
    buffer.seek(0, io.SEEK_END)
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as archive:
        for name, data in wheel_files(dist):
            archive.writestr(zipfile.ZipInfo(name, date_time=FIXED_TIME), data)
    return buffer.getvalue()


def streamed_wheel(dist: Dist) -> bytes:
    """A wheel written to a stream that cannot seek: every entry has a data descriptor."""

    class Unseekable(io.RawIOBase):
        def __init__(self) -> None:
            self.data = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, chunk: bytes) -> int:  # type: ignore[override]
            self.data += chunk
            return len(chunk)

    sink = Unseekable()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in wheel_files(dist):
            with archive.open(zipfile.ZipInfo(name, date_time=FIXED_TIME), "w") as member:
                member.write(data)
    return bytes(sink.data)


def zip_that_is_also_tar(dist: Dist) -> bytes:
    """A wheel whose first 512 bytes are also a valid tar header (the first member's long name
    carries the tar fields and checksum, in the local header and the central directory alike)."""
    filler = "x" * (tarfile.BLOCKSIZE - 30)  # the first local header's name fills the block
    first = wheel_files(dist)
    data = zip_bytes([(filler, b""), *first])
    block = bytearray(data[: tarfile.BLOCKSIZE])
    fields = {
        100: b"0000644 ",
        108: b"0000000 ",
        116: b"0000000 ",
        124: b"00000000000 ",
        136: b"00000000000 ",
    }
    fields |= {329: b"0000000 ", 337: b"0000000 "}
    for at, value in fields.items():
        block[at : at + len(value)] = value
    block[148:156] = b" " * 8
    block[156:157] = b"0"
    block[148:156] = b"%07o " % sum(block)
    name = bytes(block[30:])
    return data.replace(filler.encode(), name)


def tar_gz(
    members: Iterable[tuple[tarfile.TarInfo, bytes | None]], format: int = tarfile.GNU_FORMAT
) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=format) as archive:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return gzip.compress(buffer.getvalue(), mtime=0)


def sdist_members(dist: Dist, pkg_info: str | None = None) -> list[tuple[tarfile.TarInfo, bytes | None]]:
    """The members of ``dist``'s valid sdist (with ``pkg_info`` as its PKG-INFO if given)."""
    with tarfile.open(fileobj=io.BytesIO(sdist_bytes(dist)), mode="r:gz") as archive:
        members: list[tuple[tarfile.TarInfo, bytes | None]] = []
        for info in archive.getmembers():
            extracted = archive.extractfile(info)
            data = extracted.read() if extracted else None
            if pkg_info is not None and info.name.endswith("/PKG-INFO"):
                data = pkg_info.encode()
            members.append((info, data))
    return members


def top(dist: Dist) -> str:
    return f"{dist.module}-{dist.version}"


def member(name: str, kind: bytes = tarfile.REGTYPE, target: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


def sdist_adding(dist: Dist, *extra: tuple[tarfile.TarInfo, bytes | None]) -> bytes:
    """``dist``'s sdist with more members after its own."""
    return tar_gz([*sdist_members(dist), *extra])
