"""The framing of an uploaded zip (wheel or .zip sdist): one reading for every zip reader.

Python's ``zipfile`` (and so pip) reads the central directory at the end of the file; other
readers walk the local headers from the front, or trust the end record's entry count. A file
built to be read differently by the two (a second METADATA that only one of them sees, bytes
hidden before, between or after the entries, a false count) is refused, as the public index
refuses it. The check reads the end record and each entry's local header once, with bounded
reads, and never decompresses anything.
"""

from __future__ import annotations

import struct
import zipfile
from typing import BinaryIO

from ..errors import InvalidUpload

_LOCAL = struct.Struct("<4sHHHHHIIIHH")  # signature ... crc, sizes, name and extra lengths
_END = struct.Struct("<4sHHHHIIH")  # signature, disks, entries, directory size/offset, comment
_LOCATOR = struct.Struct("<4sIQI")  # where the ZIP64 end record is
_END64 = struct.Struct("<4sQHHIIQQQQ")
LOCAL_SIG, END_SIG = b"PK\x03\x04", b"PK\x05\x06"
LOCATOR_SIG, END64_SIG = b"PK\x06\x07", b"PK\x06\x06"
_SIGNATURES = (LOCAL_SIG, b"PK\x01\x02", END_SIG, LOCATOR_SIG, END64_SIG)
_ZIP64_EXTRA, _UNICODE_PATH_EXTRA = 0x0001, 0x7075
_ENCRYPTED, _DATA_DESCRIPTOR, _UTF8 = 0x1, 0x8, 0x800
_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflated"}


def _read_at(stream: BinaryIO, offset: int, length: int) -> bytes:
    stream.seek(offset)
    return stream.read(length)


def _end_record(stream: BinaryIO, size: int, what: str) -> int:
    """Where the end record starts: the last one in the file, its comment reaching the end."""
    tail_start = max(0, size - _END.size - 0xFFFF)
    tail = _read_at(stream, tail_start, size - tail_start)
    at = tail.rfind(END_SIG)
    if at < 0 or at + _END.size > len(tail) or at + _END.size + _END.unpack_from(tail, at)[7] != len(tail):
        raise InvalidUpload(f"Invalid {what}: it has data after the end of the zip archive (appended bytes)")
    if any(signature in tail[at + _END.size :] for signature in _SIGNATURES):
        raise InvalidUpload(f"Invalid {what}: its zip comment holds zip records")
    return tail_start + at


def _directory(stream: BinaryIO, end_at: int, what: str) -> tuple[int, int, int, int]:
    """(entries, directory size, directory offset, where the directory must end), ZIP64 or not."""
    _sig, disk, directory_disk, disk_entries, entries, dir_size, dir_offset, _ = _END.unpack(
        _read_at(stream, end_at, _END.size)
    )
    if disk or directory_disk or disk_entries != entries:
        raise InvalidUpload(f"Invalid {what}: multi-disk zip archives are not accepted")
    if end_at < _LOCATOR.size:
        return entries, dir_size, dir_offset, end_at
    locator = _read_at(stream, end_at - _LOCATOR.size, _LOCATOR.size)
    if not locator.startswith(LOCATOR_SIG):
        return entries, dir_size, dir_offset, end_at
    end64_at = _LOCATOR.unpack(locator)[2]
    if end64_at != end_at - _LOCATOR.size - _END64.size:
        raise InvalidUpload(f"Invalid {what}: its ZIP64 end record is not where its locator says")
    fields = _END64.unpack(_read_at(stream, end64_at, _END64.size))
    if fields[0] != END64_SIG or fields[1] != _END64.size - 12 or fields[4] or fields[5]:
        raise InvalidUpload(f"Invalid {what}: its ZIP64 end record is malformed")
    if fields[6] != fields[7]:
        raise InvalidUpload(f"Invalid {what}: multi-disk zip archives are not accepted")
    return fields[7], fields[8], fields[9], end64_at


def _extras(extra: bytes, name: str, what: str) -> dict[int, bytes]:
    """An extra field's records by id; a repeated ZIP64 or Unicode-path record is refused."""
    found: dict[int, bytes] = {}
    while len(extra) >= 4:
        kind, length = struct.unpack_from("<HH", extra)
        if kind in found and kind in (_ZIP64_EXTRA, _UNICODE_PATH_EXTRA):
            raise InvalidUpload(f"Invalid {what}: {name!r} has a repeated zip extra field")
        found[kind] = extra[4 : 4 + length]
        extra = extra[4 + length :]
    unicode_path = found.get(_UNICODE_PATH_EXTRA)
    if unicode_path is not None and unicode_path[5:] != name.encode("utf-8", "surrogateescape"):
        raise InvalidUpload(f"Invalid {what}: {name!r} carries a second, different name")
    return found


def _local_sizes(compressed: int, size: int, extras: dict[int, bytes]) -> tuple[int, int]:
    """A local header's sizes, read from its ZIP64 record where the header says 0xFFFFFFFF."""
    record = extras.get(_ZIP64_EXTRA, b"")
    values = [struct.unpack_from("<Q", record, at)[0] for at in range(0, len(record) - 7, 8)]
    if size == 0xFFFFFFFF and values:
        size = values.pop(0)
    if compressed == 0xFFFFFFFF and values:
        compressed = values.pop(0)
    return compressed, size


def _check_entry(info: zipfile.ZipInfo, what: str) -> None:
    """What the central directory says of one entry: no comment, encryption or odd compression."""
    name = info.orig_filename
    if info.comment:
        raise InvalidUpload(f"Invalid {what}: {name!r} has a comment in the central directory")
    if info.flag_bits & _ENCRYPTED:
        raise InvalidUpload(f"Invalid {what}: {name!r} is encrypted")
    if info.flag_bits & _DATA_DESCRIPTOR:
        raise InvalidUpload(f"Invalid {what}: {name!r} uses a data descriptor (streamed zip)")
    if info.compress_type not in _METHODS:
        raise InvalidUpload(
            f"Invalid {what}: {name!r} uses compression method {info.compress_type}; "
            "only stored and deflated are accepted"
        )
    _extras(info.extra, name, what)


def _check_local_header(stream: BinaryIO, info: zipfile.ZipInfo, what: str) -> int:
    """Check an entry's local header against the central directory; return where its data ends."""
    name = info.orig_filename
    header = _read_at(stream, info.header_offset, _LOCAL.size)
    if len(header) < _LOCAL.size or not header.startswith(LOCAL_SIG):
        raise InvalidUpload(f"Invalid {what}: the central directory points at no local header for {name!r}")
    _sig, _v, flags, method, _t, _d, crc, compressed, size, name_length, extra_length = _LOCAL.unpack(header)
    raw = stream.read(name_length + extra_length)
    local_name = raw[:name_length].decode("utf-8" if flags & _UTF8 else "cp437", "surrogateescape")
    extras = _extras(raw[name_length:], local_name, what)
    compressed, size = _local_sizes(compressed, size, extras)
    local = (local_name, method, crc, compressed, size)
    central = (name, info.compress_type, info.CRC, info.compress_size, info.file_size)
    if local != central or len(raw) != name_length + extra_length:
        raise InvalidUpload(
            f"Invalid {what}: the local header of {name!r} disagrees with the central directory"
        )
    return info.header_offset + _LOCAL.size + len(raw) + compressed


def check_zip_layout(stream: BinaryIO, archive: zipfile.ZipFile, size: int, what: str) -> None:
    """Refuse a zip that two zip readers could read differently.

    ``archive`` is ``stream`` already opened by ``zipfile`` (its central directory read).

    :raises InvalidUpload: bytes before, between or after the entries; a false entry count;
        duplicate names; a local header that disagrees with the central directory; encrypted,
        streamed or exotically compressed entries; comments that could hide zip records.
    """
    end_at = _end_record(stream, size, what)
    entries, dir_size, dir_offset, dir_end = _directory(stream, end_at, what)
    infos = archive.infolist()
    if entries != len(infos):
        raise InvalidUpload(
            f"Invalid {what}: its end record counts {entries} entries, its central directory has {len(infos)}"
        )
    if dir_offset + dir_size != dir_end:
        raise InvalidUpload(f"Invalid {what}: it has data before the zip archive (prepended bytes)")
    names: set[str] = set()
    expected = 0
    for info in sorted(infos, key=lambda item: item.header_offset):
        if info.orig_filename in names:
            raise InvalidUpload(f"Invalid {what}: the name {info.orig_filename!r} appears twice")
        names.add(info.orig_filename)
        _check_entry(info, what)
        if info.header_offset != expected:
            place = "before the first entry" if expected == 0 else "between entries, or entries overlap"
            raise InvalidUpload(f"Invalid {what}: it has data {place}")
        expected = _check_local_header(stream, info, what)
    if expected != dir_offset:
        raise InvalidUpload(f"Invalid {what}: it has data between its last entry and its central directory")
