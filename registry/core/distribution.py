"""Checks on an uploaded distribution file: its name, its archive, its own metadata.

Each check raises ``InvalidUpload`` with a message a person understands (twine shows it).
Filenames, names and versions go through ``packaging``; the archive is opened with the
standard library and read with bounded sizes, so a zip or gzip bomb is refused without being
unpacked.
"""

from __future__ import annotations

import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from typing import BinaryIO

import pkginfo
from packaging.utils import (
    InvalidName,
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from ..errors import InvalidUpload
from ..models import INFO_FIELDS

WHEEL = "bdist_wheel"
SDIST = "sdist"
SDIST_EXTENSIONS = (".tar.gz", ".zip")
MAX_METADATA_SIZE = 8 * 1024 * 1024
MAX_FILENAME_LENGTH = 255


@dataclass(frozen=True)
class ParsedFilename:
    """What a distribution filename says about itself."""

    filename: str
    project: NormalizedName
    version: Version
    packagetype: str
    python_version: str  # the wheel's python tag(s), or "source"


def parse_filename(filename: str) -> ParsedFilename:
    """Validate a distribution filename and split it into its parts.

    >>> parse_filename("Foo_Bar-1.0-py3-none-any.whl").project
    'foo-bar'

    :raises InvalidUpload: unsafe characters, an unknown extension, or an unparsable name.
    """
    if not filename or len(filename) > MAX_FILENAME_LENGTH:
        raise InvalidUpload(f"Invalid filename: must be 1 to {MAX_FILENAME_LENGTH} characters")
    if any(ord(char) < 32 or ord(char) == 127 for char in filename):
        raise InvalidUpload("Invalid filename: control characters are not allowed")
    if "/" in filename or "\\" in filename or ".." in filename or filename.startswith("."):
        raise InvalidUpload(f"Invalid filename {filename!r}: it must be a plain file name")
    try:
        if filename.endswith(".whl"):
            name, version, _build, tags = parse_wheel_filename(filename)
            python = ".".join(sorted({tag.interpreter for tag in tags}))
            return ParsedFilename(filename, name, version, WHEEL, python)
        if filename.endswith(SDIST_EXTENSIONS):
            name, version = parse_sdist_filename(filename)
            return ParsedFilename(filename, name, version, SDIST, "source")
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion, InvalidName) as exc:
        raise InvalidUpload(f"Invalid distribution filename {filename!r}: {exc}") from exc
    raise InvalidUpload(
        f"Invalid filename {filename!r}: unknown file extension; "
        "expected a wheel (.whl) or an sdist (.tar.gz or .zip)"
    )


def check_name(name: str) -> NormalizedName:
    """A project name as given in the upload form, validated and normalized.

    :raises InvalidUpload: not a valid project name.
    """
    try:
        return canonicalize_name(name, validate=True)
    except InvalidName as exc:
        raise InvalidUpload(f"Invalid project name {name!r}: {exc}") from exc


def check_version(version: str) -> Version:
    """:raises InvalidUpload: not a valid PEP 440 version."""
    try:
        return Version(version)
    except InvalidVersion as exc:
        raise InvalidUpload(f"Invalid version {version!r}: it is not a PEP 440 version") from exc


@dataclass(frozen=True)
class DistributionMetadata:
    """The core metadata read from inside a distribution."""

    raw: bytes  # METADATA / PKG-INFO as stored, served as the PEP 658 file for wheels
    info: dict[str, object]

    @property
    def name(self) -> str:
        return str(self.info.get("name") or "")

    @property
    def version(self) -> str:
        return str(self.info.get("version") or "")

    @property
    def requires_python(self) -> str:
        return str(self.info.get("requires_python") or "")


def parse_metadata(raw: bytes) -> DistributionMetadata:
    """Parse METADATA / PKG-INFO bytes into the fields the JSON API shows.

    :raises InvalidUpload: the metadata has no name or no version.
    """
    parsed = pkginfo.Distribution()
    parsed.parse(raw)
    info: dict[str, object] = {}
    for field_name in INFO_FIELDS:
        value = getattr(parsed, field_name, None)
        if isinstance(value, tuple | list):
            value = [str(item) for item in value] or None  # the JSON API shows null, not []
        info[field_name] = value if value not in (None, "UNKNOWN") else None
    if not info.get("name") or not info.get("version"):
        raise InvalidUpload("Invalid distribution: its metadata has no Name or no Version")
    return DistributionMetadata(raw=raw, info=info)


def _check_declared_size(total: int, compressed: int, limit: int) -> None:
    if total > limit:
        raise InvalidUpload(
            f"Invalid distribution: it unpacks to {total} bytes, more than the "
            f"{limit} allowed (possible zip bomb)"
        )
    if compressed and total > 64 * 1024 * 1024 and total > 200 * compressed:
        raise InvalidUpload(
            "Invalid distribution: its compression ratio is implausibly high (possible zip bomb)"
        )


def _read_zip_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bytes:
    if member.file_size > MAX_METADATA_SIZE:
        raise InvalidUpload(f"Invalid distribution: {member.filename} is too large")
    try:
        with archive.open(member) as stream:
            return stream.read(MAX_METADATA_SIZE + 1)[:MAX_METADATA_SIZE]
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, EOFError) as exc:
        raise InvalidUpload(f"Invalid distribution: {member.filename} cannot be read: {exc}") from exc


def _open_zip(stream: BinaryIO, what: str, size: int, limit: int) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
        raise InvalidUpload(f"Invalid {what}: the file is not a valid zip archive") from exc
    _check_declared_size(sum(info.file_size for info in archive.infolist()), size, limit)
    return archive


def inspect_wheel(stream: BinaryIO, parsed: ParsedFilename, size: int, limit: int) -> DistributionMetadata:
    """Check a wheel's structure and return its METADATA.

    :raises InvalidUpload: not a zip, no single ``.dist-info`` with METADATA, WHEEL and RECORD,
        or declared sizes that look like a zip bomb.
    """
    archive = _open_zip(stream, "wheel", size, limit)
    with archive:
        members = {info.filename: info for info in archive.infolist()}
        dist_infos = {
            name.split("/", 1)[0]
            for name in members
            if name.count("/") == 1 and name.split("/", 1)[0].endswith(".dist-info")
        }
        expected_prefix = f"{parsed.project}-"
        candidates = [
            d
            for d in dist_infos
            if canonicalize_name(d[: -len(".dist-info")].rsplit("-", 1)[0]) == parsed.project
        ]
        if len(candidates) != 1:
            found = ", ".join(sorted(dist_infos)) or "none"
            raise InvalidUpload(
                f"Invalid wheel: expected one {expected_prefix}<version>.dist-info directory "
                f"matching the filename, found {found}"
            )
        dist_info = candidates[0]
        for required in ("METADATA", "WHEEL", "RECORD"):
            if f"{dist_info}/{required}" not in members:
                raise InvalidUpload(f"Invalid wheel: {dist_info}/{required} is missing")
        raw = _read_zip_member(archive, members[f"{dist_info}/METADATA"])
    return parse_metadata(raw)


def _is_pkg_info(name: str) -> bool:
    parts = name.strip("/").split("/")
    return len(parts) == 2 and parts[1] == "PKG-INFO"


def inspect_sdist(stream: BinaryIO, parsed: ParsedFilename, size: int, limit: int) -> DistributionMetadata:
    """Check an sdist archive and return its top-level PKG-INFO.

    :raises InvalidUpload: not a readable archive, no PKG-INFO, or a bomb.
    """
    if parsed.filename.endswith(".zip"):
        archive = _open_zip(stream, "sdist", size, limit)
        with archive:
            for info in archive.infolist():
                if _is_pkg_info(info.filename):
                    return parse_metadata(_read_zip_member(archive, info))
        raise InvalidUpload("Invalid sdist: it has no top-level PKG-INFO file")
    raw: bytes | None = None
    total = 0
    try:
        with tarfile.open(fileobj=stream, mode="r:gz") as tar:
            for member in tar:
                total += member.size
                _check_declared_size(total, size, limit)
                if raw is None and member.isfile() and _is_pkg_info(member.name):
                    if member.size > MAX_METADATA_SIZE:
                        raise InvalidUpload("Invalid sdist: PKG-INFO is too large")
                    extracted = tar.extractfile(member)
                    raw = extracted.read() if extracted else None
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise InvalidUpload("Invalid sdist: the file is not a readable gzip-compressed tar archive") from exc
    if raw is None:
        raise InvalidUpload("Invalid sdist: it has no top-level PKG-INFO file")
    return parse_metadata(raw)


def inspect_distribution(
    stream: BinaryIO, parsed: ParsedFilename, size: int, limit: int
) -> DistributionMetadata:
    """Open the archive, read its core metadata, and check it agrees with the filename.

    :raises InvalidUpload: any structural problem, or a name/version that disagrees.
    """
    stream.seek(0)
    if parsed.packagetype == WHEEL:
        metadata = inspect_wheel(stream, parsed, size, limit)
    else:
        metadata = inspect_sdist(stream, parsed, size, limit)
    if canonicalize_name(metadata.name) != parsed.project:
        raise InvalidUpload(
            f"Invalid distribution: its metadata says the project is {metadata.name!r}, "
            f"but the filename says {parsed.project!r}"
        )
    try:
        same_version = Version(metadata.version) == parsed.version
    except InvalidVersion:
        same_version = False
    if not same_version:
        raise InvalidUpload(
            f"Invalid distribution: its metadata says version {metadata.version!r}, "
            f"but the filename says {str(parsed.version)!r}"
        )
    return metadata
