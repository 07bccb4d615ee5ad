"""Build real, installable wheels and sdists for tests, without a build backend.

Wheels are written directly as zip files with a proper ``.dist-info`` (METADATA, WHEEL, RECORD)
and an importable module, so pip and uv install them for real. Sdists are ``.tar.gz`` files with
PKG-INFO and a tiny in-tree build backend, so they build offline with full build isolation.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import os
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import canonicalize_name

FIXED_TIME = (2024, 1, 1, 0, 0, 0)  # builds are byte-for-byte reproducible


@dataclass
class Dist:
    """What to build: a project, a version, and its metadata."""

    name: str
    version: str
    requires: list[str] = field(default_factory=list)
    requires_python: str = ""
    summary: str = "A test package"
    extra_metadata: str = ""
    description: str = "Long description of the test package."

    @property
    def module(self) -> str:
        return canonicalize_name(self.name).replace("-", "_")

    @property
    def wheel_name(self) -> str:
        return f"{self.module}-{self.version}-py3-none-any.whl"

    @property
    def sdist_name(self) -> str:
        return f"{self.module}-{self.version}.tar.gz"

    def metadata(self) -> str:
        lines = [
            "Metadata-Version: 2.1",
            f"Name: {self.name}",
            f"Version: {self.version}",
            f"Summary: {self.summary}",
            "Author: Test Author",
            "License: MIT",
            "Project-URL: Homepage, https://example.invalid/home",
            "Classifier: Programming Language :: Python :: 3",
        ]
        if self.requires_python:
            lines.append(f"Requires-Python: {self.requires_python}")
        lines += [f"Requires-Dist: {req}" for req in self.requires]
        text = "\n".join(lines) + "\n"
        if self.extra_metadata:
            text += self.extra_metadata
        return text + "\n" + self.description + "\n"


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def wheel_bytes(dist: Dist, *, omit: tuple[str, ...] = ()) -> bytes:
    """A valid wheel; ``omit`` leaves out dist-info files (METADATA, WHEEL, RECORD) for tests."""
    dist_info = f"{dist.module}-{dist.version}.dist-info"
    files = {
        f"{dist.module}/__init__.py": f"VERSION = {dist.version!r}\n".encode(),
        f"{dist_info}/METADATA": dist.metadata().encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = [_record_line(path, data) for path, data in files.items()] + [f"{dist_info}/RECORD,,"]
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            if path.rsplit("/", 1)[-1] not in omit:
                archive.writestr(zipfile.ZipInfo(path, date_time=FIXED_TIME), data, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def big_wheel_bytes(dist: Dist, payload: int) -> bytes:
    """A valid wheel carrying ``payload`` incompressible bytes (for large-file uploads)."""
    buffer = io.BytesIO(wheel_bytes(dist))
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_STORED) as archive:
        info = zipfile.ZipInfo(f"{dist.module}/data.bin", date_time=FIXED_TIME)
        archive.writestr(info, os.urandom(payload))
    return buffer.getvalue()


# A PEP 517 backend shipped inside each test sdist (``backend-path``), so pip can build it
# with full build isolation and no network: it packs the module and PKG-INFO into a wheel.
IN_TREE_BACKEND = """
import base64, hashlib, os, zipfile

def get_requires_for_build_wheel(config_settings=None):
    return []

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    meta = open("PKG-INFO", "rb").read()
    fields = dict(line.split(": ", 1) for line in meta.decode().splitlines() if ": " in line)
    module = fields["Name"].lower().replace("-", "_").replace(".", "_")
    stem = module + "-" + fields["Version"]
    files = {module + "/__init__.py": open(os.path.join(module, "__init__.py"), "rb").read(),
             stem + ".dist-info/METADATA": meta,
             stem + ".dist-info/WHEEL": b"Wheel-Version: 1.0\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"}
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(path + ",sha256=" + digest + "," + str(len(data)))
    files[stem + ".dist-info/RECORD"] = ("\\n".join(record + [stem + ".dist-info/RECORD,,"]) + "\\n").encode()
    name = stem + "-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return name
"""


def sdist_bytes(dist: Dist) -> bytes:
    """A valid sdist (PKG-INFO, pyproject.toml with an in-tree backend, the module)."""
    top = f"{dist.module}-{dist.version}"
    pyproject = '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'
    files = {
        f"{top}/PKG-INFO": dist.metadata().encode(),
        f"{top}/pyproject.toml": pyproject.encode(),
        f"{top}/backend.py": IN_TREE_BACKEND.encode(),
        f"{top}/{dist.module}/__init__.py": f"VERSION = {dist.version!r}\n".encode(),
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return gzip.compress(buffer.getvalue(), mtime=0)


def write_wheel(directory: Path, dist: Dist) -> Path:
    path = directory / dist.wheel_name
    path.write_bytes(wheel_bytes(dist))
    return path


def write_sdist(directory: Path, dist: Dist) -> Path:
    path = directory / dist.sdist_name
    path.write_bytes(sdist_bytes(dist))
    return path
