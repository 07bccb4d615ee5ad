"""A static PEP 691 index: JSON project pages written into a folder and served by the standard
library's ``http.server``, as a mirror on a plain file server would be.

Unlike pypiserver it states each file's ``upload-time``, so tests control how old an upstream
file is (the release cooldown).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import threading
from datetime import UTC, datetime
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from packaging.utils import canonicalize_name

from tests.distributions import Dist, sdist_bytes, wheel_bytes

JSON_PAGE = "application/vnd.pypi.simple.v1+json"


class _Handler(SimpleHTTPRequestHandler):
    def guess_type(self, path: str | os.PathLike[str]) -> str:
        if str(path).endswith("index.html"):  # the project pages are JSON (PEP 691)
            return JSON_PAGE
        return super().guess_type(path)

    def log_message(self, format: str, *args: object) -> None:
        pass


class StaticIndex:
    """``root/simple/<project>/index.html`` (JSON) and ``root/files/<filename>``, on loopback."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "files").mkdir(parents=True, exist_ok=True)
        self.pages: dict[str, list[dict[str, object]]] = {}
        handler = functools.partial(_Handler, directory=str(root))
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    @property
    def url(self) -> str:
        return self.base + "simple/"

    def add(self, dist: Dist, uploaded: datetime | None, *, sdist: bool = False) -> dict[str, str]:
        """Publish ``dist``'s wheel (and sdist) with this upload time (None: not stated);
        returns filename -> sha256."""
        built = {dist.wheel_name: wheel_bytes(dist)}
        if sdist:
            built[dist.sdist_name] = sdist_bytes(dist)
        entries = self.pages.setdefault(canonicalize_name(dist.name), [])
        digests = {}
        for filename, content in built.items():
            (self.root / "files" / filename).write_bytes(content)
            digests[filename] = hashlib.sha256(content).hexdigest()
            entry: dict[str, object] = {
                "filename": filename,
                "url": f"../../files/{filename}",
                "hashes": {"sha256": digests[filename]},
                "size": len(content),
            }
            if uploaded is not None:
                entry["upload-time"] = uploaded.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            entries.append(entry)
        self._write(canonicalize_name(dist.name))
        return digests

    def _write(self, project: str) -> None:
        page = {"meta": {"api-version": "1.1"}, "name": project, "files": self.pages[project]}
        folder = self.root / "simple" / project
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "index.html").write_text(json.dumps(page))

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
