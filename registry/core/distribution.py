"""Checks on an uploaded distribution file: its name, its archive, its own metadata.

Each check raises ``InvalidUpload`` with a message a person understands (twine shows it).
Filenames, names and versions go through ``packaging``; the archive is opened with the
standard library and read with bounded sizes, so a zip or gzip bomb is refused without being
unpacked. Uploads get every check the public index makes (``inspect_upload``: zip framing in
``zip_layout``, member paths and kinds in ``archives``, core metadata in ``core_metadata``), in
the same single pass over the archive; files cached from upstream or found by ``rebuild`` were
accepted once and are read leniently (``inspect_distribution``). docs/uploads.md lists the rules.
"""

from __future__ import annotations

import re
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from typing import BinaryIO

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
from . import core_metadata
from .archives import (
    DIRECTORY,
    FILE,
    SdistTree,
    refuse_tar_polyglot,
    refuse_zip_polyglot,
    tar_member_kind,
    zip_member_parts,
)
from .zip_layout import check_zip_layout

WHEEL = "bdist_wheel"
SDIST = "sdist"
SDIST_EXTENSIONS = (".tar.gz", ".zip")
MAX_METADATA_SIZE = 8 * 1024 * 1024
MAX_FILENAME_LENGTH = 255
# A distribution filename is a name, a version and tags: ASCII letters, digits and these (the
# characters a URL, a shell or an HTML attribute would treat specially never occur).
_FILENAME_PUNCTUATION = frozenset("._-+!")
# The same rules as regular expressions: the fast path for the usual, valid name (a big upstream
# page has thousands of files, each checked), the loops only to name what is wrong.
_FILENAME_ALLOWED = re.compile(r"[A-Za-z0-9._+!-]*")
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


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
    if _CONTROL_CHARACTERS.search(filename):
        raise InvalidUpload("Invalid filename: control characters are not allowed")
    if "/" in filename or "\\" in filename or ".." in filename or filename.startswith("."):
        raise InvalidUpload(f"Invalid filename {filename!r}: it must be a plain file name")
    _check_characters(filename)
    try:
        if filename.endswith(".whl"):
            name, version, _build, tags = parse_wheel_filename(filename)
            _check_wheel_tags(filename)
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


def _check_characters(filename: str) -> None:
    if _FILENAME_ALLOWED.fullmatch(filename):
        return
    for char in filename:
        if not (char.isascii() and char.isalnum()) and char not in _FILENAME_PUNCTUATION:
            raise InvalidUpload(
                f"Invalid filename {filename!r}: the character {char!r} is not allowed in a "
                "distribution filename (ASCII letters, digits and . _ - + ! only)"
            )


def _check_wheel_tags(filename: str) -> None:
    """A wheel's build, python, abi and platform tags: ASCII letters, digits, ``_`` and ``.``."""
    for tag in filename[: -len(".whl")].split("-")[2:]:
        if not tag.replace("_", "").replace(".", "").isalnum():
            raise InvalidUpload(
                f"Invalid wheel filename {filename!r}: the tag {tag!r} may hold only ASCII letters, "
                "digits, '_' and '.'"
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
    info = core_metadata.read_fields(raw)
    if not info.get("name") or not info.get("version"):
        raise InvalidUpload("Invalid distribution: its metadata has no Name or no Version")
    return DistributionMetadata(raw=raw, info=info)


def _checked_metadata(raw: bytes, where: str, strict: bool) -> DistributionMetadata:
    if not strict:
        return parse_metadata(raw)
    return DistributionMetadata(raw=raw, info=core_metadata.validate(raw, where))


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


def _open_zip(stream: BinaryIO, what: str, size: int, limit: int, strict: bool = False) -> zipfile.ZipFile:
    """Open a zip (reading its central directory once); ``strict`` checks its framing too."""
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
        raise InvalidUpload(f"Invalid {what}: the file is not a valid zip archive") from exc
    _check_declared_size(sum(info.file_size for info in archive.infolist()), size, limit)
    if strict:
        check_zip_layout(stream, archive, size, what)
        refuse_tar_polyglot(stream, what)
    return archive


def inspect_wheel(
    stream: BinaryIO, parsed: ParsedFilename, size: int, limit: int, *, strict: bool = False
) -> DistributionMetadata:
    """Check a wheel's structure and return its METADATA (``strict``: as for an upload).

    :raises InvalidUpload: not a zip, no single ``.dist-info`` with METADATA, WHEEL and RECORD,
        or declared sizes that look like a zip bomb; if ``strict``, also a zip framing or a
        member path the public index refuses, or invalid core metadata.
    """
    archive = _open_zip(stream, "wheel", size, limit, strict)
    with archive:
        if strict:
            for info in archive.infolist():
                zip_member_parts(info, "wheel")
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
    return _checked_metadata(raw, f"{dist_info}/METADATA", strict)


def _is_pkg_info(name: str) -> bool:
    parts = name.strip("/").split("/")
    return len(parts) == 2 and parts[1] == "PKG-INFO"


def _zip_sdist(
    stream: BinaryIO, parsed: ParsedFilename, size: int, limit: int, strict: bool
) -> tuple[bytes, SdistTree]:
    """A .zip sdist's PKG-INFO (``strict``: every member under one top directory, no links)."""
    raw: bytes | None = None
    tree = SdistTree(parsed.project, parsed.version)
    with _open_zip(stream, "sdist", size, limit, strict) as archive:
        for info in archive.infolist():
            if strict:
                if (info.external_attr >> 16) & 0o170000 == 0o120000:
                    raise InvalidUpload(f"Invalid sdist: {info.filename!r} is a link (not allowed in a zip)")
                path = tree.add(info.filename, DIRECTORY if info.is_dir() else FILE)
                is_pkg_info = path == f"{tree.top}/PKG-INFO" and not info.is_dir()
            else:
                is_pkg_info = _is_pkg_info(info.filename)
            if raw is None and is_pkg_info:
                raw = _read_zip_member(archive, info)
    if raw is None:
        raise InvalidUpload("Invalid sdist: it has no top-level PKG-INFO file")
    return raw, tree


def _tar_sdist(
    stream: BinaryIO, parsed: ParsedFilename, size: int, limit: int, strict: bool
) -> tuple[bytes, SdistTree]:
    """A .tar.gz sdist's PKG-INFO, reading every header once (``strict``: checking each member)."""
    raw: bytes | None = None
    total = 0
    tree = SdistTree(parsed.project, parsed.version)
    with tarfile.open(fileobj=stream, mode="r:gz") as tar:
        for member in tar:
            total += member.size
            _check_declared_size(total, size, limit)
            if strict:
                kind = tar_member_kind(member)
                path = tree.add(member.name, kind, member.linkname)
                is_pkg_info = kind == FILE and path == f"{tree.top}/PKG-INFO"
            else:
                is_pkg_info = member.isfile() and _is_pkg_info(member.name)
            if raw is None and is_pkg_info:
                if member.size > MAX_METADATA_SIZE:
                    raise InvalidUpload("Invalid sdist: PKG-INFO is too large")
                extracted = tar.extractfile(member)
                raw = extracted.read() if extracted else None
    if strict:
        tree.finish()
    if raw is None:
        raise InvalidUpload("Invalid sdist: it has no top-level PKG-INFO file")
    return raw, tree


def inspect_sdist(
    stream: BinaryIO, parsed: ParsedFilename, size: int, limit: int, *, strict: bool = False
) -> DistributionMetadata:
    """Check an sdist archive and return its top-level PKG-INFO (``strict``: as for an upload).

    :raises InvalidUpload: not a readable archive, no PKG-INFO, or a bomb; if ``strict``, also
        a member outside the top directory, a link out of it, a device node, a sparse file, a
        file that is also a zip, or invalid core metadata.
    """
    if parsed.filename.endswith(".zip"):
        raw, tree = _zip_sdist(stream, parsed, size, limit, strict)
    else:
        if strict:
            refuse_zip_polyglot(stream)
        try:
            raw, tree = _tar_sdist(stream, parsed, size, limit, strict)
        except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
            raise InvalidUpload(
                "Invalid sdist: the file is not a readable gzip-compressed tar archive"
            ) from exc
    metadata = _checked_metadata(raw, "PKG-INFO", strict)
    if strict:
        _check_agrees(metadata, parsed)  # the clearer message when another project's sdist is renamed
        tree.check_top_name()
    return metadata


def _check_agrees(metadata: DistributionMetadata, parsed: ParsedFilename) -> None:
    """:raises InvalidUpload: the metadata's name or version is not the filename's."""
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


def _inspect(
    stream: BinaryIO, parsed: ParsedFilename, size: int, limit: int, strict: bool
) -> DistributionMetadata:
    stream.seek(0)
    if parsed.packagetype == WHEEL:
        metadata = inspect_wheel(stream, parsed, size, limit, strict=strict)
    else:
        metadata = inspect_sdist(stream, parsed, size, limit, strict=strict)
    _check_agrees(metadata, parsed)
    return metadata


def inspect_distribution(
    stream: BinaryIO, parsed: ParsedFilename, size: int, limit: int
) -> DistributionMetadata:
    """Open the archive, read its core metadata, and check it agrees with the filename.

    Lenient, for files that were accepted once (cached from upstream, found by ``rebuild``);
    uploads go through ``inspect_upload``.

    :raises InvalidUpload: any structural problem, or a name/version that disagrees.
    """
    return _inspect(stream, parsed, size, limit, strict=False)


def inspect_upload(stream: BinaryIO, parsed: ParsedFilename, size: int, limit: int) -> DistributionMetadata:
    """``inspect_distribution`` with every check the public index makes on an uploaded file:
    zip framing, member paths and kinds, one archive format per file, valid core metadata.

    Reads the zip's central directory and local headers, or the tar's headers, once; nothing
    is extracted.

    :raises InvalidUpload: the first problem found, with what to fix.
    """
    return _inspect(stream, parsed, size, limit, strict=True)
