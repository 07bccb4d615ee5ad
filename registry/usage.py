"""Count metadata-store document reads and writes per request type, for the benchmark.

``measure_usage(config)`` builds the app in-process on ``config``, sends one request of each
type a client sends (through the real views and services, with the page cache cold and warm),
and returns the reads and writes the Cache counted for each. Only the Firestore backend
counts (it bills per document); ``python -m registry backend-usage CONFIG --allow-writes``
prints the same table. It writes a throwaway project and user and removes them afterwards (and,
on a database without users, the app's first start creates ``admin`` as it always does), so
point it at an emulator or a scratch database, not a production one.
"""

from __future__ import annotations

import base64
import hashlib
import io
import secrets
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from .access.models import User
from .access.passwords import hash_password
from .config import Config
from .core.app import Registry
from .core.manage import COMMAND_LINE
from .errors import ConfigError
from .names import project_name


class CountingCache(Protocol):
    """A Cache that counts: ``reset_usage`` returns {operation: [reads, writes]} and zeroes it."""

    def reset_usage(self) -> dict[str, list[int]]: ...


@dataclass(frozen=True)
class Usage:
    """What one request cost: its status and the documents it read and wrote."""

    status: int
    reads: int
    writes: int
    operations: dict[str, list[int]]


def _wheel(project: str, version: str) -> tuple[str, bytes]:
    """A minimal valid wheel, so the upload runs every real check."""
    module = project.replace("-", "_")
    dist_info = f"{module}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {project}\nVersion: {version}\nSummary: usage probe\n"
    files = {
        f"{module}/__init__.py": b"",
        f"{dist_info}/METADATA": metadata.encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{dist_info}/RECORD": b"",
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return f"{module}-{version}-py3-none-any.whl", buffer.getvalue()


def measure_usage(config: Config, existing_files: int = 20) -> dict[str, Usage]:
    """Reads and writes per request type on ``config``'s Cache (see the module docstring).

    ``existing_files`` are uploaded first, so page reads are measured on a project that has
    some history. :raises ConfigError: the configured Cache does not count its operations.
    """
    from . import create_app

    # Access data is re-read only when it changes (checked at most every auth.refresh_seconds):
    # pin the check out of the way so each request's count is its own, not the clock's.
    app = create_app(config.replace(**{"auth.refresh_seconds": "3600"}))
    registry: Registry = app.extensions["registry"]
    cache: Any = registry.stores.cache
    if not hasattr(cache, "reset_usage"):
        db = config.settings.backends.db
        raise ConfigError(f"pypi.db = {db!r} does not count document reads and writes")
    registry.start()
    probe = _Probe(app.test_client(), cache, f"usage-probe-{secrets.token_hex(4)}")
    user, password = f"{probe.project}-admin", secrets.token_urlsafe(16)
    registry.access.store.save_user(User(user, hash_password(password), admin=True), create_only=True)
    probe.auth = {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}
    try:
        probe.client.get("/health", headers=probe.auth)  # remembers the credentials, as a live server would
        for number in range(existing_files):
            probe.upload(f"0.{number}")
        probe.run_all()
    finally:
        name = project_name(probe.project)
        for leftover in cache.list_files(name):
            registry.manager.delete_file(COMMAND_LINE, name, leftover.filename)
        registry.access.store.delete_user(user)
        cache.close()
    return probe.results


class _Probe:
    """Sends each request type once and records what the Cache counted for it."""

    def __init__(self, client: Any, cache: CountingCache, project: str) -> None:
        self.client, self.cache, self.project = client, cache, project
        self.auth: dict[str, str] = {}
        self.results: dict[str, Usage] = {}

    def measure(self, label: str, send: Callable[[], Any]) -> Any:
        self.cache.reset_usage()
        response = send()
        operations = self.cache.reset_usage()
        reads = sum(count[0] for count in operations.values())
        writes = sum(count[1] for count in operations.values())
        self.results[label] = Usage(response.status_code, reads, writes, operations)
        return response

    def upload(self, version: str) -> Any:
        filename, content = _wheel(self.project, version)
        digest = hashlib.sha256(content).hexdigest()
        form = {":action": "file_upload", "name": self.project, "version": version, "sha256_digest": digest}
        form["content"] = (io.BytesIO(content), filename)  # type: ignore[assignment]
        return self.client.post("/", data=form, headers=self.auth)

    def run_all(self) -> None:
        client, project, auth = self.client, self.project, self.auth
        self.measure("upload a new file", lambda: self.upload("1.0"))
        self.measure("upload identical bytes again", lambda: self.upload("1.0"))
        for note in ("after a change", "unchanged"):
            self.measure(f"GET /simple/ ({note})", lambda: client.get("/simple/"))
            self.measure(f"GET /simple/<project>/ ({note})", lambda: client.get(f"/simple/{project}/"))
            self.measure(f"GET /pypi/<project>/json ({note})", lambda: client.get(f"/pypi/{project}/json"))
        for note in ("after a change", "unchanged"):  # the web UI's pages, as an anonymous visitor
            self.measure(f"GET /project/<project>/ ({note})", lambda: client.get(f"/project/{project}/"))
            self.measure(f"GET / ({note})", lambda: client.get("/"))
            self.measure(f"GET /search/?q=<name> ({note})", lambda: client.get(f"/search/?q={project}"))
        filename = _wheel(project, "1.0")[0]
        found = self.cache.get_file(project_name(project), filename)  # type: ignore[attr-defined]
        url = found.url_path if found else f"/packages/{project}/missing/{filename}"
        manage_url = f"/manage/projects/{project}"
        self.measure("download a file", lambda: client.get(url))
        self.measure("download a .metadata file", lambda: client.get(url + ".metadata"))
        self.measure("yank a release", lambda: client.post(f"{manage_url}/releases/1.0/yank", headers=auth))
        self.measure("GET /health", lambda: client.get("/health"))
        self.measure("delete a file", lambda: client.delete(f"{manage_url}/files/{filename}", headers=auth))


def usage_table(results: dict[str, Usage]) -> str:
    """The results as a Markdown table."""
    lines = ["| request | status | document reads | document writes |", "| --- | ---: | ---: | ---: |"]
    lines += [f"| {label} | {u.status} | {u.reads} | {u.writes} |" for label, u in results.items()]
    return "\n".join(lines) + "\n"
