"""Read the pins of lock files: ``requirements.txt`` (with or without hashes), ``uv.lock``,
``pylock.toml`` (PEP 751) and ``poetry.lock``, into one model for ``python -m registry mirror``.

A ``Pin`` is one project at one version from an index, with the exact files the lock lists
(filename -> sha256) when it lists them, or the sha256 values it allows (``--hash``).
Packages that do not come from an index (the locked project itself, git, local paths, URLs)
are not pins: they are reported as skipped. Entries that cannot be mirrored exactly (a range
instead of one version, a file without a sha256) are problems.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name

from .errors import InvalidRequest


@dataclass(frozen=True)
class Pin:
    """One project at one version, as a lock file pins it."""

    project: NormalizedName
    version: str
    files: Mapping[str, str] = field(default_factory=dict)  # filename -> sha256, if listed
    hashes: frozenset[str] = frozenset()  # sha256 values allowed (requirements --hash)
    origin: str = ""  # the lock file, for messages


@dataclass
class Locked:
    """What the lock files say: pins, entries skipped (not from an index), and problems."""

    pins: list[Pin] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def read_lock(path: Path) -> Locked:
    """The pins of one lock file, chosen by its name (``*.txt`` and others: requirements).

    :raises InvalidRequest: the file cannot be read or parsed.
    """
    try:
        text = path.read_text(encoding="utf-8")
        if path.name == "uv.lock":
            return _uv(tomllib.loads(text), str(path))
        if path.name == "poetry.lock":
            return _poetry(tomllib.loads(text), str(path))
        if re.fullmatch(r"pylock\.([^.]+\.)?toml", path.name):
            return _pylock(tomllib.loads(text), str(path))
        return _requirements(path, set())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InvalidRequest(f"Cannot read {path}: {exc}") from exc


def _sha256(text: object) -> str:
    """``sha256:<hex>`` (uv, poetry) -> the hex digest, or ""."""
    if isinstance(text, str) and text.startswith("sha256:") and len(text) == 71:
        return text[7:].lower()
    return ""


def _filename(url: str) -> str:
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


def _add_files(locked: Locked, pin: Pin, entries: list[tuple[str, str]]) -> None:
    """Add ``pin`` with its (filename, sha256) files; a file without a sha256 is a problem."""
    files = {}
    for filename, sha256 in entries:
        if not filename:
            continue
        if not sha256:
            locked.problems.append(f"{pin.origin}: {filename} has no sha256 to check it against")
            continue
        files[filename] = sha256
    if files:
        locked.pins.append(Pin(pin.project, pin.version, files, origin=pin.origin))
    elif not entries:
        locked.pins.append(pin)  # no files listed: all files of the version


def _uv(document: dict[str, Any], origin: str) -> Locked:
    locked = Locked()
    for package in document.get("package", []):
        name, version, source = package.get("name", "?"), package.get("version"), package.get("source", {})
        if "registry" not in source or not version:
            locked.skipped.append(f"{name} ({', '.join(source) or 'no source'}: not from an index)")
            continue
        files = [*package.get("wheels", []), *([package["sdist"]] if "sdist" in package else [])]
        entries = [(_filename(f.get("url", "")), _sha256(f.get("hash"))) for f in files]
        _add_files(locked, Pin(canonicalize_name(name), str(version), origin=origin), entries)
    return locked


def _pylock_file(entry: dict[str, Any]) -> tuple[str, str]:
    name = entry.get("name") or _filename(entry.get("url", "") or entry.get("path", ""))
    return str(name), str((entry.get("hashes") or {}).get("sha256", "")).lower()


def _pylock(document: dict[str, Any], origin: str) -> Locked:
    locked = Locked()
    for package in document.get("packages", []):
        name, version = package.get("name", "?"), package.get("version")
        kinds = [kind for kind in ("vcs", "directory", "archive") if kind in package]
        if kinds or not version:
            locked.skipped.append(f"{name} ({', '.join(kinds) or 'no version'}: not from an index)")
            continue
        entries = [_pylock_file(wheel) for wheel in package.get("wheels", [])]
        if "sdist" in package:
            entries.append(_pylock_file(package["sdist"]))
        _add_files(locked, Pin(canonicalize_name(name), str(version), origin=origin), entries)
    return locked


def _poetry(document: dict[str, Any], origin: str) -> Locked:
    locked = Locked()
    for package in document.get("package", []):
        name, version = package.get("name", "?"), package.get("version")
        kind = (package.get("source") or {}).get("type", "legacy")
        if kind != "legacy" or not version:
            locked.skipped.append(f"{name} ({kind}: not from an index)")
            continue
        entries = [(str(f.get("file", "")), _sha256(f.get("hash"))) for f in package.get("files", [])]
        _add_files(locked, Pin(canonicalize_name(name), str(version), origin=origin), entries)
    return locked


def _logical_lines(text: str) -> Iterator[str]:
    """Lines with continuations joined and comments removed."""
    joined = re.sub(r"\\\r?\n", " ", text)
    for line in joined.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", line).strip()
        if line:
            yield line


def _requirements(path: Path, seen: set[Path]) -> Locked:
    """A pip requirements file: ``name==version`` lines, ``--hash`` options, ``-r`` includes."""
    locked = Locked()
    seen.add(path.resolve())
    for line in _logical_lines(path.read_text(encoding="utf-8")):
        include = re.fullmatch(r"(?:-r|--requirement)(?:\s+|=)(\S+)", line)
        if include:
            nested = (path.parent / include.group(1)).resolve()
            if nested not in seen:
                found = _requirements(nested, seen)
                locked.pins += found.pins
                locked.skipped += found.skipped
                locked.problems += found.problems
            continue
        if line.startswith("-"):
            continue  # index options, editables (-e: local), constraints
        _requirement(locked, line, str(path))
    return locked


def _requirement(locked: Locked, line: str, origin: str) -> None:
    spec, _, options = line.partition(" --")
    hashes = frozenset(h.lower() for h in re.findall(r"--hash[=\s]sha256:([0-9a-fA-F]{64})", " --" + options))
    try:
        requirement = Requirement(spec.strip())
    except InvalidRequirement as exc:
        locked.problems.append(f"{origin}: {line!r} is not a requirement ({exc})")
        return
    if requirement.url:
        locked.skipped.append(f"{requirement.name} (a URL: not from an index)")
        return
    pinned = list(requirement.specifier)
    if len(pinned) != 1 or pinned[0].operator not in ("==", "===") or "*" in pinned[0].version:
        locked.problems.append(f"{origin}: {spec.strip()!r} is not pinned to one version (name==version)")
        return
    project = canonicalize_name(requirement.name)
    locked.pins.append(Pin(project, pinned[0].version, hashes=hashes, origin=origin))
