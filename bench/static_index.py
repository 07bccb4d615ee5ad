"""A static simple index that models the public one, built once from real downloaded files.

``pip download`` fetches a realistic set of projects (wheels only) into ``download/``, from
wherever pip is configured to look: the upstream is named only by pip's own configuration.
From those files this module writes a tree nginx serves as is:

- ``files/<filename>`` and ``files/<filename>.metadata`` (PEP 658, taken from the wheel);
- ``simple/index.html``, ``simple/<project>/index.html`` (PEP 503) and ``index.json`` (PEP 691,
  with sizes, upload times, requires-python and metadata hashes), each also gzipped for
  ``gzip_static``;
- padding: older releases that exist only on the pages (their files are never fetched, since
  the real release is the newest one and satisfies every requirement), so pages have the sizes
  of the public index's: a few hundred files for most projects, thousands for the SDKs and the
  projects that ship many wheels per release (the largest JSON page is ~6.5 MB).
"""

from __future__ import annotations

import gzip
import hashlib
import html
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.parser import BytesParser
from pathlib import Path

from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename
from packaging.version import Version

#: What the benchmark installs: a realistic application's dependencies (wheels only).
REQUIREMENTS = (
    "requests", "flask", "django", "fastapi", "sqlalchemy", "boto3", "jinja2", "click", "attrs",
    "rich", "pydantic", "httpx", "pandas", "pyyaml", "pytest", "packaging",
)  # fmt: skip
#: Files listed on a page beyond the real one, roughly as many as the public index lists.
PADDING = {
    "botocore": 14000, "pydantic-core": 6000, "numpy": 4000, "boto3": 3500, "sqlalchemy": 2500,
    "pandas": 2000, "greenlet": 1500, "pyyaml": 700, "django": 800, "s3transfer": 300,
}  # fmt: skip
DEFAULT_PADDING = 150
JSON_TYPE = "application/vnd.pypi.simple.v1+json"
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Entry:
    """One file on a page: real (with a metadata file) or padding."""

    filename: str
    url: str
    sha256: str
    size: int
    upload_time: datetime
    requires_python: str = ""
    metadata_sha256: str = ""

    def as_json(self) -> dict[str, object]:
        metadata: dict[str, str] | bool = {"sha256": self.metadata_sha256} if self.metadata_sha256 else False
        entry: dict[str, object] = {
            "filename": self.filename,
            "url": self.url,
            "hashes": {"sha256": self.sha256},
            "core-metadata": metadata,
            "data-dist-info-metadata": metadata,
            "size": self.size,
            "upload-time": self.upload_time.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "yanked": False,
        }
        if self.requires_python:
            entry["requires-python"] = self.requires_python
        return entry

    def as_html(self) -> str:
        attributes = f'href="{html.escape(self.url)}#sha256={self.sha256}"'
        if self.requires_python:
            attributes += f' data-requires-python="{html.escape(self.requires_python)}"'
        if self.metadata_sha256:
            attributes += f' data-core-metadata="sha256={self.metadata_sha256}"'
            attributes += f' data-dist-info-metadata="sha256={self.metadata_sha256}"'
        return f"    <a {attributes}>{html.escape(self.filename)}</a><br />\n"


def download(directory: Path, log: Path) -> None:
    """``pip download`` the set once (a marker file says it is complete)."""
    marker = directory / ".complete"
    if marker.is_file() and marker.read_text() == "\n".join(REQUIREMENTS):
        return
    directory.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "-q", "--only-binary", ":all:", "-d", str(directory)]
    with log.open("ab") as out:
        subprocess.run(
            [*command, *REQUIREMENTS], check=True, stdout=out, stderr=subprocess.STDOUT, timeout=1800
        )
    marker.write_text("\n".join(REQUIREMENTS))


def _wheel_metadata(path: Path) -> bytes:
    with zipfile.ZipFile(path) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA") and n.count("/") == 1)
        return archive.read(name)


def _real_entry(path: Path, files: Path, number: int) -> Entry:
    """Copy one downloaded wheel and its metadata file into ``files/``."""
    data = path.read_bytes()
    metadata = _wheel_metadata(path)
    shutil.copyfile(path, files / path.name)
    (files / (path.name + ".metadata")).write_bytes(metadata)
    requires = BytesParser().parsebytes(metadata, headersonly=True).get("Requires-Python", "")
    return Entry(
        filename=path.name,
        url=f"../../files/{path.name}",
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        upload_time=EPOCH + timedelta(days=300, minutes=number),
        requires_python=str(requires).strip(),
        metadata_sha256=hashlib.sha256(metadata).hexdigest(),
    )


def _padding(project: str, count: int) -> Iterable[Entry]:
    """``count`` files of older releases 0.0.0.N (below any real one): half wheels, half sdists."""
    stem = project.replace("-", "_")
    for number in range(count):
        release = number // 2
        filename = f"{stem}-0.0.0.{release}" + ("-py3-none-any.whl" if number % 2 else ".tar.gz")
        digest = hashlib.sha256(filename.encode()).hexdigest()
        yield Entry(
            filename=filename,
            url=f"../../files/padding/{digest[:2]}/{digest[2:4]}/{digest[4:60]}/{filename}",
            sha256=digest,
            size=100_000 + number,
            upload_time=EPOCH + timedelta(hours=release),
            requires_python=">=3.8" if number % 3 else "",
            metadata_sha256=hashlib.sha256(digest.encode()).hexdigest() if number % 2 else "",
        )


def _version(filename: str) -> str:
    if filename.endswith(".whl"):
        return str(parse_wheel_filename(filename)[1])
    return str(parse_sdist_filename(filename)[1])


def _write(path: Path, body: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    with gzip.open(str(path) + ".gz", "wb", compresslevel=6) as out:
        out.write(body)


def _write_project(simple: Path, project: str, entries: list[Entry]) -> None:
    document = {
        "meta": {"api-version": "1.1"},
        "name": project,
        "versions": sorted({_version(entry.filename) for entry in entries}, key=Version),
        "files": [entry.as_json() for entry in entries],
    }
    _write(simple / project / "index.json", json.dumps(document).encode())
    links = "".join(entry.as_html() for entry in entries)
    page = '<!DOCTYPE html>\n<html><head><meta name="pypi:repository-version" content="1.1">'
    page += f"<title>Links for {project}</title></head><body><h1>Links for {project}</h1>\n"
    page += f"{links}</body></html>\n"
    _write(simple / project / "index.html", page.encode())


def build(work: Path, log: Path) -> tuple[Path, list[str]]:
    """The index root (built once) and the projects it holds."""
    downloaded, root = work / "download", work / "index"
    download(downloaded, log)
    marker = root / ".complete"
    wheels = sorted(downloaded.glob("*.whl"))
    if marker.is_file() and marker.read_text() == "\n".join(w.name for w in wheels):
        return root, sorted(p.name for p in (root / "simple").iterdir() if p.is_dir())
    shutil.rmtree(root, ignore_errors=True)
    (root / "files").mkdir(parents=True)
    pages: dict[str, list[Entry]] = {}
    for number, wheel in enumerate(wheels):
        name = canonicalize_name(parse_wheel_filename(wheel.name)[0])
        pages.setdefault(name, []).append(_real_entry(wheel, root / "files", number))
    for project, entries in pages.items():
        padded = [*_padding(project, PADDING.get(project, DEFAULT_PADDING)), *entries]
        _write_project(root / "simple", project, padded)
    index = "".join(f'<a href="{name}/">{name}</a><br />\n' for name in sorted(pages))
    _write(root / "simple" / "index.html", f"<!DOCTYPE html>\n<html><body>\n{index}</body></html>\n".encode())
    marker.write_text("\n".join(w.name for w in wheels))
    return root, sorted(pages)


def page_sizes(root: Path) -> dict[str, int]:
    """Bytes of each project's JSON page, for the report."""
    return {p.parent.name: p.stat().st_size for p in (root / "simple").glob("*/index.json")}


def nginx_config(root: Path, port: int, work: Path) -> str:
    """nginx serving ``root``: PEP 691 JSON or PEP 503 HTML by ``Accept``, gzip, ETags."""
    temp = work / "nginx-temp"
    os.makedirs(temp, exist_ok=True)
    return f"""daemon off;
master_process off;
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log {work}/nginx-access.log;
    client_body_temp_path {temp}/body; proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi; uwsgi_temp_path {temp}/uwsgi; scgi_temp_path {temp}/scgi;
    default_type application/octet-stream;
    sendfile on; tcp_nopush on; keepalive_timeout 60; keepalive_requests 10000;
    gzip_static on; gzip_vary on;
    map $http_accept $page {{
        default index.html;
        "~application/vnd\\.pypi\\.simple\\.v1\\+json" index.json;
    }}
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location /simple/ {{
            types {{ text/html html; {JSON_TYPE} json; }}
            add_header Vary Accept;
            try_files $uri$page $uri =404;
        }}
        location /files/ {{
            types {{ text/plain metadata; }}
        }}
    }}
}}
"""
