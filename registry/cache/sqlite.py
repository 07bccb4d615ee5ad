"""Metadata in one SQLite file: the embedded default.

WAL mode lets every gunicorn worker read while one writes; each thread keeps its own
connection, opened on first use. Writes run in ``BEGIN IMMEDIATE`` transactions so the serial
bump and the record change are one atomic step across processes.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from packaging.utils import NormalizedName

from ..config import Config, Setting, parse_text
from ..errors import AlreadyExists, BackendUnavailable, ConfigError, NotFound
from ..models import FileRecord, ProjectSummary
from .base import Cache
from .claims import Claim, first_conflict, releasable
from .documents import DocumentStore

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    project TEXT NOT NULL,
    filename TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (project, filename)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS projects (
    name TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    serial INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS docs (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (kind, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS claims (
    key TEXT PRIMARY KEY,
    owner TEXT NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO counters (name, value) VALUES ('serial', 0);
INSERT OR IGNORE INTO counters (name, value) VALUES ('docs', 0);
"""


_SETUP_WAIT_SECONDS = 10.0


def _path_from_url(url: str) -> str:
    """``sqlite:///relative.db`` or ``sqlite:////abs/path.db`` -> the path (pypicloud's form)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        raise ConfigError(f"db.url = {url!r} is not valid: expected sqlite:///PATH")
    return url[len(prefix) :]


class SQLiteCache(Cache, DocumentStore):
    """Metadata in a local SQLite database file."""

    settings = (
        Setting("db.url", "", parse_text, "`sqlite` cache: pypicloud's form, `sqlite:///PATH`."),
        Setting(
            "db.path",
            "data/registry.sqlite3",
            parse_text,
            "`sqlite` cache: the database file (`db.url` wins when both are set).",
        ),
    )

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._schema_ready = False
        self._setup_lock = threading.Lock()

    @classmethod
    def from_config(cls, config: Config) -> SQLiteCache:
        url_setting, path_setting = cls.settings
        url = config.get_setting(url_setting)
        path = _path_from_url(url) if url else config.get_setting(path_setting)
        return cls(config.path(path))

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
                connection.execute("PRAGMA synchronous=NORMAL")  # per connection
                if not self._schema_ready:
                    self._set_up(connection)
            except (OSError, sqlite3.Error) as exc:
                raise BackendUnavailable(f"cannot open SQLite database {self.path}: {exc}") from exc
            self._local.connection = connection
        return connection

    def _set_up(self, connection: sqlite3.Connection) -> None:
        """WAL mode and the schema, once per process.

        Switching a new database to WAL answers "database is locked" at once, without waiting
        on the busy timeout, when another connection is doing the same: so threads take turns
        here, and another process's set-up is waited out for a few seconds.
        """
        with self._setup_lock:
            if self._schema_ready:
                return
            deadline = time.monotonic() + _SETUP_WAIT_SECONDS
            while True:
                try:
                    connection.execute("PRAGMA journal_mode=WAL")
                    connection.executescript(_SCHEMA)
                    break
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) or time.monotonic() > deadline:
                        raise
                    time.sleep(0.02)
            self._schema_ready = True

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        try:
            yield self._connection()
        except sqlite3.Error as exc:
            raise BackendUnavailable(f"SQLite read failed: {exc}") from exc

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction; our own errors roll it back unchanged."""
        connection = self._connection()
        try:
            connection.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise BackendUnavailable(f"SQLite write failed: {exc}") from exc
        try:
            yield connection
            connection.execute("COMMIT")
        except sqlite3.Error as exc:
            connection.execute("ROLLBACK")
            raise BackendUnavailable(f"SQLite write failed: {exc}") from exc
        except BaseException:
            connection.execute("ROLLBACK")
            raise

    @staticmethod
    def _bump(connection: sqlite3.Connection, project: str, display_name: str | None) -> None:
        serial = connection.execute(
            "UPDATE counters SET value = value + 1 WHERE name = 'serial' RETURNING value"
        ).fetchone()[0]
        remaining = connection.execute("SELECT 1 FROM files WHERE project = ? LIMIT 1", (project,)).fetchone()
        if remaining is None:
            connection.execute("DELETE FROM projects WHERE name = ?", (project,))
        elif display_name is not None:
            connection.execute(
                "INSERT INTO projects (name, display_name, serial) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET serial = excluded.serial",
                (project, display_name, serial),
            )
        else:
            connection.execute("UPDATE projects SET serial = ? WHERE name = ?", (serial, project))

    # -- files --------------------------------------------------------------------------

    def add_file(self, record: FileRecord, claims: Sequence[Claim] = ()) -> None:
        with self._write() as connection:
            held = self._claims(connection, [claim.key for claim in claims])
            conflict = first_conflict(claims, held)
            if conflict is not None:
                raise conflict
            connection.executemany(
                "INSERT OR IGNORE INTO claims (key, owner) VALUES (?, ?)",
                [(claim.key, claim.owner) for claim in claims],
            )
            try:
                connection.execute(
                    "INSERT INTO files (project, filename, record) VALUES (?, ?, ?)",
                    (record.project, record.filename, json.dumps(record.to_dict())),
                )
            except sqlite3.IntegrityError as exc:
                raise AlreadyExists(f"{record.filename} is already recorded") from exc
            self._bump(connection, record.project, record.display_name)

    def get_file(self, project: NormalizedName, filename: str) -> FileRecord | None:
        with self._read() as connection:
            row = connection.execute(
                "SELECT record FROM files WHERE project = ? AND filename = ?", (project, filename)
            ).fetchone()
        return FileRecord.from_dict(json.loads(row[0])) if row else None

    def list_files(self, project: NormalizedName) -> list[FileRecord]:
        with self._read() as connection:
            rows = connection.execute("SELECT record FROM files WHERE project = ?", (project,)).fetchall()
        return [FileRecord.from_dict(json.loads(row[0])) for row in rows]

    def update_files(self, records: Iterable[FileRecord]) -> None:
        records = list(records)
        with self._write() as connection:
            for record in records:
                cursor = connection.execute(
                    "UPDATE files SET record = ? WHERE project = ? AND filename = ?",
                    (json.dumps(record.to_dict()), record.project, record.filename),
                )
                if cursor.rowcount != 1:
                    raise NotFound(f"{record.filename} is not recorded")
            for project in {record.project for record in records}:
                self._bump(connection, project, None)

    def remove_file(
        self,
        project: NormalizedName,
        filename: str,
        release: Sequence[Claim] = (),
        mark: Sequence[Claim] = (),
    ) -> None:
        with self._write() as connection:
            cursor = connection.execute(
                "DELETE FROM files WHERE project = ? AND filename = ?", (project, filename)
            )
            if cursor.rowcount != 1:
                raise NotFound(f"{filename} is not recorded")
            held = self._claims(connection, [claim.key for claim in release])
            connection.executemany(
                "DELETE FROM claims WHERE key = ?", [(key,) for key in releasable(release, held)]
            )
            connection.executemany(
                "INSERT INTO claims (key, owner) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET owner = excluded.owner",
                [(claim.key, claim.owner) for claim in mark],
            )
            self._bump(connection, project, None)

    # -- claims ---------------------------------------------------------------------------

    @staticmethod
    def _claims(connection: sqlite3.Connection, keys: list[str]) -> dict[str, str]:
        held: dict[str, str] = {}
        for key in keys:
            row = connection.execute("SELECT owner FROM claims WHERE key = ?", (key,)).fetchone()
            if row is not None:
                held[key] = row[0]
        return held

    def get_claims(self, keys: Iterable[str]) -> dict[str, str]:
        with self._read() as connection:
            return self._claims(connection, list(keys))

    def set_claims(self, put: Sequence[Claim] = (), drop: Sequence[str] = ()) -> None:
        with self._write() as connection:
            connection.executemany(
                "INSERT OR IGNORE INTO claims (key, owner) VALUES (?, ?)",
                [(claim.key, claim.owner) for claim in put],
            )
            connection.executemany("DELETE FROM claims WHERE key = ?", [(key,) for key in drop])

    def list_projects(self) -> list[ProjectSummary]:
        with self._read() as connection:
            rows = connection.execute("SELECT name, display_name, serial FROM projects").fetchall()
        return [ProjectSummary(name=row[0], display_name=row[1], serial=row[2]) for row in rows]

    def project_serial(self, project: NormalizedName) -> int | None:
        with self._read() as connection:
            row = connection.execute("SELECT serial FROM projects WHERE name = ?", (project,)).fetchone()
        return row[0] if row else None

    def index_serial(self) -> int:
        with self._read() as connection:
            row = connection.execute("SELECT value FROM counters WHERE name = 'serial'").fetchone()
        return int(row[0])

    def is_empty(self) -> bool:
        with self._read() as connection:
            return connection.execute("SELECT 1 FROM files LIMIT 1").fetchone() is None

    # -- access documents -----------------------------------------------------------------

    def list_docs(self, kind: str) -> dict[str, dict[str, Any]]:
        with self._read() as connection:
            rows = connection.execute("SELECT key, data FROM docs WHERE kind = ?", (kind,)).fetchall()
        return {row[0]: json.loads(row[1]) for row in rows}

    def get_doc(self, kind: str, key: str) -> dict[str, Any] | None:
        with self._read() as connection:
            row = connection.execute(
                "SELECT data FROM docs WHERE kind = ? AND key = ?", (kind, key)
            ).fetchone()
        return json.loads(row[0]) if row else None

    def put_doc(self, kind: str, key: str, data: dict[str, Any], *, create_only: bool = False) -> None:
        text = json.dumps(data, separators=(",", ":"))
        with self._write() as connection:
            if create_only:
                try:
                    connection.execute(
                        "INSERT INTO docs (kind, key, data) VALUES (?, ?, ?)", (kind, key, text)
                    )
                except sqlite3.IntegrityError as exc:
                    raise AlreadyExists(f"{kind} {key!r} already exists") from exc
            else:
                connection.execute(
                    "INSERT INTO docs (kind, key, data) VALUES (?, ?, ?) "
                    "ON CONFLICT (kind, key) DO UPDATE SET data = excluded.data",
                    (kind, key, text),
                )
            connection.execute("UPDATE counters SET value = value + 1 WHERE name = 'docs'")

    def delete_doc(self, kind: str, key: str) -> bool:
        with self._write() as connection:
            cursor = connection.execute("DELETE FROM docs WHERE kind = ? AND key = ?", (kind, key))
            if cursor.rowcount:
                connection.execute("UPDATE counters SET value = value + 1 WHERE name = 'docs'")
        return cursor.rowcount == 1

    def docs_serial(self) -> int:
        with self._read() as connection:
            row = connection.execute("SELECT value FROM counters WHERE name = 'docs'").fetchone()
        return int(row[0])

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None
