"""What an uploaded archive may contain: member paths, member kinds, and one format per file.

Installers unpack sdists (and build tools unpack them again), so a member that lands outside
the unpack directory, a device node, or a link to ``/etc`` is refused before anything is
stored. Everything here works on names and headers as the archive is read once; nothing is
extracted. Link targets are resolved the way an extractor would meet them, through the links
already in the archive, so a chain of links that each look harmless cannot climb out either.
"""

from __future__ import annotations

import re
import tarfile
import zipfile
from typing import BinaryIO

from packaging.utils import InvalidSdistFilename, NormalizedName, parse_sdist_filename
from packaging.version import Version

from ..errors import InvalidUpload

FILE, DIRECTORY, SYMLINK, HARDLINK = "file", "directory", "symlink", "hard link"
MAX_LINK_HOPS = 40  # as the Linux kernel: a longer chain is a loop
_CONTROL = re.compile("[\x00-\x1f\x7f]")


def member_parts(name: str, what: str) -> list[str]:
    """The parts of a member's path, which must be relative and plain.

    >>> member_parts("pkg-1.0/src/pkg/__init__.py", "sdist")
    ['pkg-1.0', 'src', 'pkg', '__init__.py']

    :raises InvalidUpload: an absolute path, a ``..``, ``.`` or empty part, a backslash, or a
        control character.
    """
    if _CONTROL.search(name):
        raise InvalidUpload(f"Invalid {what}: the member name {name!r} holds a control character")
    if "\\" in name:
        raise InvalidUpload(f"Invalid {what}: the member name {name!r} holds a backslash")
    if name.startswith("/"):
        raise InvalidUpload(f"Invalid {what}: the member {name!r} has an absolute path")
    parts = name.split("/")
    if "" in parts or "." in parts or ".." in parts:
        raise InvalidUpload(
            f"Invalid {what}: the member name {name!r} has an empty, '.' or '..' part "
            "(it could be unpacked outside its directory)"
        )
    return parts


def zip_member_parts(info: zipfile.ZipInfo, what: str) -> list[str]:
    """A zip member's path parts (a directory's name ends with ``/``)."""
    name = info.orig_filename
    return member_parts(name[:-1] if name.endswith("/") else name, what)


def tar_member_kind(member: tarfile.TarInfo) -> str:
    """FILE, DIRECTORY, SYMLINK or HARDLINK.

    :raises InvalidUpload: a device node, a FIFO, a sparse file, or a type tar readers differ on.
    """
    if member.issparse():
        raise InvalidUpload(f"Invalid sdist: {member.name!r} is a sparse file (not allowed in an sdist)")
    if member.ischr() or member.isblk() or member.isfifo():
        raise InvalidUpload(f"Invalid sdist: {member.name!r} is a device node or a FIFO")
    for kind, test in ((FILE, member.isreg), (DIRECTORY, member.isdir), (SYMLINK, member.issym)):
        if test():
            return kind
    if member.islnk():
        return HARDLINK
    raise InvalidUpload(f"Invalid sdist: {member.name!r} has an unsupported tar type {member.type!r}")


class SdistTree:
    """An sdist's members, checked one by one as the archive is read, then as a whole.

    Every member must sit under one top directory (named ``{name}-{version}`` for this project
    and version: ``check_top_name``), and links must resolve, through the archive's other
    links, inside it.
    """

    def __init__(self, project: NormalizedName, version: Version) -> None:
        self.project = project
        self.version = version
        self.top = ""
        self.kinds: dict[str, str] = {}
        self.links: dict[str, tuple[str, str]] = {}  # path -> (kind, target)

    def add(self, name: str, kind: str, target: str = "") -> str:
        """Check one member; return its normalized path.

        :raises InvalidUpload: a bad path, a second top directory, or a repeated file.
        """
        parts = member_parts(name.rstrip("/") if kind == DIRECTORY else name, "sdist")
        top_level = len(parts) == 1 and kind != DIRECTORY
        if not self.top and not top_level:
            self.top = parts[0]
        if top_level or parts[0] != self.top:
            where = f"its single top-level directory {self.top + '/'!r}" if self.top else "any directory"
            raise InvalidUpload(f"Invalid sdist: {name!r} is outside {where}")
        path = "/".join(parts)
        if path in self.kinds and not (kind == DIRECTORY and self.kinds[path] == DIRECTORY):
            raise InvalidUpload(f"Invalid sdist: the member {path!r} appears twice")
        self.kinds[path] = kind
        if kind in (SYMLINK, HARDLINK):
            self._check_target(path, target)
            self.links[path] = (kind, target)
        return path

    def check_top_name(self) -> None:
        """:raises InvalidUpload: the top directory is not ``{name}-{version}`` of this release."""
        try:
            name, version = parse_sdist_filename(f"{self.top}.tar.gz")
        except InvalidSdistFilename:
            name, version = None, None
        if name != self.project or version != self.version:
            raise InvalidUpload(
                f"Invalid sdist: its top-level directory {self.top!r} is not "
                f"'{{name}}-{{version}}' for {self.project} {self.version}"
            )

    def _check_target(self, path: str, target: str) -> None:
        if not target or "\\" in target or target.startswith("/"):
            raise InvalidUpload(f"Invalid sdist: the link {path!r} points to {target!r} (outside the sdist)")

    def _resolve(self, parts: list[str]) -> list[str] | None:
        """Where ``parts`` (from the archive root) lead, following the symlinks met on the way
        as an extractor's file system would; None if the walk climbs above the root or loops."""
        resolved: list[str] = []
        pending = list(parts)
        hops = 0
        while pending:
            part = pending.pop(0)
            if part == "..":
                if not resolved:
                    return None
                resolved.pop()
                continue
            resolved.append(part)
            link = self.links.get("/".join(resolved))
            if link is not None and link[0] == SYMLINK and pending:
                hops += 1
                if hops > MAX_LINK_HOPS:
                    return None
                resolved.pop()
                pending = [step for step in link[1].split("/") if step not in ("", ".")] + pending
        return resolved

    def finish(self) -> None:
        """Check where every link leads, now that all of them are known.

        :raises InvalidUpload: the archive is empty, or a link leads outside the top directory.
        """
        if not self.top:
            raise InvalidUpload("Invalid sdist: the archive is empty")
        for path, (kind, target) in self.links.items():
            start = path.split("/")[:-1] if kind == SYMLINK else []
            resolved = self._resolve(start + [step for step in target.split("/") if step not in ("", ".")])
            if resolved is None or len(resolved) < 2 or resolved[0] != self.top:
                raise InvalidUpload(
                    f"Invalid sdist: the {kind} {path!r} points to {target!r}, outside the sdist's "
                    f"top-level directory {self.top + '/'!r}"
                )


def refuse_zip_polyglot(stream: BinaryIO) -> None:
    """:raises InvalidUpload: the file (a .tar.gz) is also a readable zip archive."""
    stream.seek(0)
    try:
        with zipfile.ZipFile(stream):
            pass
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OSError):
        return
    finally:
        stream.seek(0)
    raise InvalidUpload("Invalid sdist: the file is both a gzip-compressed tar and a zip archive")


def refuse_tar_polyglot(stream: BinaryIO, what: str) -> None:
    """:raises InvalidUpload: the file (a zip) also starts with a valid tar header."""
    stream.seek(0)
    block = stream.read(tarfile.BLOCKSIZE)
    stream.seek(0)
    try:
        tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
    except (tarfile.HeaderError, ValueError):
        return
    raise InvalidUpload(f"Invalid {what}: the file is both a zip and a tar archive")
