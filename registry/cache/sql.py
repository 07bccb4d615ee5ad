"""Metadata in a relational database through SQLAlchemy: PostgreSQL, MySQL/MariaDB or SQLite.

``db.url`` is an SQLAlchemy URL, as in pypicloud. A plain scheme gets the driver this registry
installs (``requirements-sql.txt``): ``postgresql://`` psycopg 3, ``mysql://`` and
``mariadb://`` PyMySQL (with ``charset=utf8mb4`` unless the URL names one). A URL that names
its driver (``postgresql+psycopg2://``) is used as given.

Every write is one transaction that starts by incrementing a counter row (``index`` for files,
``docs`` for access documents). That row lock puts writers in a queue, so a transaction reads
what every earlier one committed, never deadlocks, and takes the counter's new value as its
serial: unique, never reused, even when a project is removed and created again. The create-only
guard is the primary key of ``registry_files``. A page view costs one primary-key read
(``project_serial``). Tables and migrations: ``registry/cache/sql_schema.py``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from packaging.utils import NormalizedName

from ..config import Config, Setting, parse_int, parse_text
from ..errors import AlreadyExists, BackendUnavailable, ConfigError, NotFound
from ..models import FileRecord, ProjectSummary
from .base import Cache
from .claims import Claim, first_conflict, releasable
from .documents import DocumentStore

try:
    import sqlalchemy as sa

    from .sql_schema import CLAIMS, COUNTERS, DOCS, FILES, PROJECTS, describe, migrate
except ImportError:  # an optional install: from_config names the pip command
    pass

#: The pip requirement of each library this backend may need, as pinned in requirements-sql.txt.
PIP_REQUIREMENTS = {
    "sqlalchemy": "SQLAlchemy==2.1.9",
    "psycopg": "psycopg[binary]==3.3.9",
    "pymysql": "PyMySQL==1.2.4",
}
#: A URL's plain scheme -> the SQLAlchemy scheme that names our driver, and the driver's module.
SCHEMES: dict[str, tuple[str, str | None]] = {
    "postgresql": ("postgresql+psycopg", "psycopg"),
    "postgres": ("postgresql+psycopg", "psycopg"),
    "mysql": ("mysql+pymysql", "pymysql"),
    "mariadb": ("mariadb+pymysql", "pymysql"),
    "sqlite": ("sqlite", None),
}


def require_libraries(url: str) -> None:
    """Stop start-up with the pip command when a library the URL needs is missing.

    :raises ConfigError: SQLAlchemy or the URL's driver is not installed.
    """
    scheme = url.split(":", 1)[0].lower()
    modules = ["sqlalchemy", SCHEMES.get(scheme, ("", None))[1]]
    missing = [name for name in modules if name and importlib.util.find_spec(name) is None]
    if missing:
        command = " ".join(f"'{PIP_REQUIREMENTS[name]}'" for name in missing)
        raise ConfigError(
            f"pypi.db = sql with a {scheme}:// URL needs {' and '.join(missing)}, which is not "
            f"installed: pip install {command}"
        )


def engine_url(text: str, config: Config) -> sa.URL:
    """``db.url`` made concrete: our driver for a plain scheme, a SQLite path resolved against
    the config file's folder, utf8mb4 for MySQL/MariaDB.

    :raises ConfigError: not a URL SQLAlchemy can use, or an in-memory SQLite database.
    """
    try:
        url = sa.make_url(text)
    except (sa.exc.ArgumentError, ValueError) as exc:  # ValueError: a port that is no number
        raise ConfigError(f"db.url is not a valid SQLAlchemy URL: {exc}") from exc
    url = url.set(drivername=SCHEMES.get(url.drivername, (url.drivername, None))[0])
    backend = url.get_backend_name()
    if backend == "sqlite":
        if url.database in (None, "", ":memory:"):
            raise ConfigError("db.url: an in-memory SQLite database is lost on restart; use sqlite:///PATH")
        url = url.set(database=str(config.path(url.database)))
    elif backend in ("mysql", "mariadb") and "charset" not in url.query:
        url = url.update_query_dict({"charset": "utf8mb4"})
    try:
        url.get_dialect().import_dbapi()
    except (ImportError, sa.exc.NoSuchModuleError) as exc:
        raise ConfigError(f"db.url: the driver {url.drivername} cannot be loaded: {exc}") from exc
    return url


def _unstorable(*names: str) -> bool:
    """Whether no row can hold one of the names (PostgreSQL text takes no NUL): a lookup by it
    finds nothing, instead of failing with a database error."""
    return any("\x00" in name for name in names)


def _sqlite_connected(connection: Any, _record: Any) -> None:
    """Per connection: in WAL mode (set by the schema set-up) NORMAL sync is crash-safe and fast."""
    connection.execute("PRAGMA synchronous=NORMAL")


def _held(connection: sa.Connection, keys: list[str]) -> dict[str, str]:
    """The owner of each held claim among ``keys`` (read inside the caller's transaction)."""
    if not keys:
        return {}
    rows = connection.execute(sa.select(CLAIMS.c.key, CLAIMS.c.owner).where(CLAIMS.c.key.in_(keys))).all()
    return {key: owner for key, owner in rows}


def _insert_claims(connection: sa.Connection, claims: list[Claim]) -> None:
    """Insert ``claims`` (nobody holds them) in one statement; a key given twice goes in once."""
    rows = list({claim.key: {"key": claim.key, "owner": claim.owner} for claim in claims}.values())
    if rows:
        connection.execute(sa.insert(CLAIMS), rows)


class _Unchanged(Exception):
    """Raised inside a write transaction to roll it back when it changed nothing."""


class SQLCache(Cache, DocumentStore):
    """Metadata in PostgreSQL, MySQL/MariaDB or SQLite (``pypi.db = sql``)."""

    settings = (
        Setting(
            "db.url",
            "",
            parse_text,
            "`sql` cache: an SQLAlchemy URL, as in pypicloud: `postgresql://USER:PASSWORD@HOST/DB` "
            "(psycopg 3), `mysql://USER:PASSWORD@HOST/DB` or `mariadb://...` (PyMySQL), "
            "`sqlite:///PATH`. Tables are created and migrated on start.",
            secret=True,
        ),
        Setting("db.pool_size", "5", parse_int, "`sql` cache: connections each process keeps open."),
        Setting(
            "db.max_overflow", "10", parse_int, "`sql` cache: connections a process may open beyond the pool."
        ),
    )

    def __init__(self, url: sa.URL, pool_size: int = 5, max_overflow: int = 10) -> None:
        self.url = url
        self.pool_size = pool_size
        self.max_overflow = max_overflow
        self._current: tuple[sa.Engine, int] | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: Config) -> SQLCache:
        url_setting, pool_setting, overflow_setting = cls.settings
        text = config.get_setting(url_setting)
        if not text:
            raise ConfigError("db.url is required for pypi.db = sql: postgresql://USER:PASSWORD@HOST/DB")
        require_libraries(text)
        pool_size, max_overflow = config.get_setting(pool_setting), config.get_setting(overflow_setting)
        return cls(engine_url(text, config), pool_size, max_overflow)

    # -- plumbing ------------------------------------------------------------------------

    def _engine(self) -> sa.Engine:
        """This process's engine, with the schema up to date (a forked child makes its own)."""
        current = self._current
        if current is not None and current[1] == os.getpid():
            return current[0]
        with self._lock:
            if self._current is not None and self._current[1] == os.getpid():
                return self._current[0]
            if self._current is not None:  # inherited across a fork: leave the parent's sockets
                self._current[0].dispose(close=False)
                self._current = None
            engine = self._create_engine()
            try:
                migrate(engine)
            except BaseException:
                engine.dispose()
                raise
            self._current = (engine, os.getpid())
            return engine

    def _create_engine(self) -> sa.Engine:
        options: dict[str, Any] = {"pool_pre_ping": True}
        options.update(pool_size=self.pool_size, max_overflow=self.max_overflow)
        if self.url.get_backend_name() == "sqlite":
            Path(self.url.database or ".").parent.mkdir(parents=True, exist_ok=True)
            options["connect_args"] = {"timeout": 30}  # seconds a writer waits for the lock
        try:
            engine = sa.create_engine(self.url, **options)
        except (sa.exc.SQLAlchemyError, OSError) as exc:
            raise BackendUnavailable(f"SQL engine for {self.url.drivername} cannot start: {exc}") from exc
        if self.url.get_backend_name() == "sqlite":
            sa.event.listen(engine, "connect", _sqlite_connected)
        return engine

    @contextmanager
    def _read(self, action: str) -> Iterator[sa.Connection]:
        try:
            with self._engine().connect() as connection:
                yield connection
        except sa.exc.SQLAlchemyError as exc:
            raise BackendUnavailable(f"SQL {action} failed: {describe(exc)}") from exc

    @contextmanager
    def _write(self, counter: str, action: str) -> Iterator[tuple[sa.Connection, int]]:
        """One transaction, opened by incrementing ``counter``: yields it and the new value.

        Any exception, ours included, rolls the whole transaction back.
        """
        row = COUNTERS.c.name == counter
        try:
            with self._engine().begin() as connection:
                connection.execute(sa.update(COUNTERS).where(row).values(value=COUNTERS.c.value + 1))
                serial = int(connection.scalar(sa.select(COUNTERS.c.value).where(row)) or 0)
                yield connection, serial
        except sa.exc.SQLAlchemyError as exc:
            raise BackendUnavailable(f"SQL {action} failed: {describe(exc)}") from exc

    @staticmethod
    def _bump(connection: sa.Connection, project: str, serial: int, display_name: str | None) -> None:
        """Give ``project`` the transaction's serial; drop it when it has no file left."""
        if display_name is None:
            left = sa.select(FILES.c.filename).where(FILES.c.project == project).limit(1)
            if connection.scalar(left) is None:
                connection.execute(sa.delete(PROJECTS).where(PROJECTS.c.name == project))
                return
        here = PROJECTS.c.name == project
        if not connection.execute(sa.update(PROJECTS).where(here).values(serial=serial)).rowcount:
            values = {"name": project, "display_name": display_name or project, "serial": serial}
            connection.execute(sa.insert(PROJECTS).values(**values))

    # -- files --------------------------------------------------------------------------

    def add_file(self, record: FileRecord, claims: Sequence[Claim] = ()) -> None:
        row = {"project": record.project, "filename": record.filename, "record": json.dumps(record.to_dict())}
        with self._write("index", "add_file") as (connection, serial):
            held = _held(connection, [claim.key for claim in claims])
            conflict = first_conflict(claims, held)
            if conflict is not None:
                raise conflict
            _insert_claims(connection, [claim for claim in claims if claim.key not in held])
            try:
                connection.execute(sa.insert(FILES).values(**row))
            except sa.exc.IntegrityError as exc:
                raise AlreadyExists(f"{record.filename} is already recorded") from exc
            self._bump(connection, record.project, serial, record.display_name)

    def get_file(self, project: NormalizedName, filename: str) -> FileRecord | None:
        if _unstorable(project, filename):
            return None
        query = sa.select(FILES.c.record).where(FILES.c.project == project, FILES.c.filename == filename)
        with self._read("get_file") as connection:
            text = connection.scalar(query)
        return FileRecord.from_dict(json.loads(text)) if text is not None else None

    def list_files(self, project: NormalizedName) -> list[FileRecord]:
        if _unstorable(project):
            return []
        with self._read("list_files") as connection:
            texts = list(connection.scalars(sa.select(FILES.c.record).where(FILES.c.project == project)))
        return [FileRecord.from_dict(json.loads(text)) for text in texts]

    def update_files(self, records: Iterable[FileRecord]) -> None:
        records = list(records)
        if not records:
            return
        with self._write("index", "update_files") as (connection, serial):
            for record in records:
                here = (FILES.c.project == record.project) & (FILES.c.filename == record.filename)
                text = json.dumps(record.to_dict())
                if connection.execute(sa.update(FILES).where(here).values(record=text)).rowcount != 1:
                    raise NotFound(f"{record.filename} is not recorded")
            for project in {record.project for record in records}:
                self._bump(connection, project, serial, None)

    def remove_file(
        self,
        project: NormalizedName,
        filename: str,
        release: Sequence[Claim] = (),
        mark: Sequence[Claim] = (),
    ) -> None:
        if _unstorable(project, filename):
            raise NotFound(f"{filename} is not recorded")
        here = (FILES.c.project == project) & (FILES.c.filename == filename)
        with self._write("index", "remove_file") as (connection, serial):
            if connection.execute(sa.delete(FILES).where(here)).rowcount != 1:
                raise NotFound(f"{filename} is not recorded")
            dropped = releasable(release, _held(connection, [claim.key for claim in release]))
            marked = [claim.key for claim in mark]
            if dropped or marked:
                connection.execute(sa.delete(CLAIMS).where(CLAIMS.c.key.in_([*dropped, *marked])))
            _insert_claims(connection, list(mark))
            self._bump(connection, project, serial, None)

    # -- claims ---------------------------------------------------------------------------

    def get_claims(self, keys: Iterable[str]) -> dict[str, str]:
        wanted = [key for key in keys if not _unstorable(key)]
        with self._read("get_claims") as connection:
            return _held(connection, wanted)

    def set_claims(self, put: Sequence[Claim] = (), drop: Sequence[str] = ()) -> None:
        if not put and not drop:
            return
        with self._write("index", "set_claims") as (connection, _serial):
            if drop:
                connection.execute(sa.delete(CLAIMS).where(CLAIMS.c.key.in_(list(drop))))
            held = _held(connection, [claim.key for claim in put])
            _insert_claims(connection, [claim for claim in put if claim.key not in held])

    def list_projects(self) -> list[ProjectSummary]:
        query = sa.select(PROJECTS.c.name, PROJECTS.c.display_name, PROJECTS.c.serial)
        with self._read("list_projects") as connection:
            rows = connection.execute(query).all()
        return [ProjectSummary(name=name, display_name=shown, serial=serial) for name, shown, serial in rows]

    def project_serial(self, project: NormalizedName) -> int | None:
        if _unstorable(project):
            return None
        with self._read("project_serial") as connection:
            serial = connection.scalar(sa.select(PROJECTS.c.serial).where(PROJECTS.c.name == project))
        return int(serial) if serial is not None else None

    def index_serial(self) -> int:
        return self._counter("index")

    def is_empty(self) -> bool:
        with self._read("is_empty") as connection:
            return connection.scalar(sa.select(FILES.c.project).limit(1)) is None

    def _counter(self, name: str) -> int:
        with self._read("serial") as connection:
            return int(connection.scalar(sa.select(COUNTERS.c.value).where(COUNTERS.c.name == name)) or 0)

    # -- access documents (DocumentStore) ---------------------------------------------------

    def list_docs(self, kind: str) -> dict[str, dict[str, Any]]:
        query = sa.select(DOCS.c.key, DOCS.c.data).where(DOCS.c.kind == kind)
        with self._read("list_docs") as connection:
            rows = connection.execute(query).all()
        return {key: json.loads(data) for key, data in rows}

    def get_doc(self, kind: str, key: str) -> dict[str, Any] | None:
        if _unstorable(kind, key):
            return None
        query = sa.select(DOCS.c.data).where(DOCS.c.kind == kind, DOCS.c.key == key)
        with self._read("get_doc") as connection:
            data = connection.scalar(query)
        return json.loads(data) if data is not None else None

    def put_doc(self, kind: str, key: str, data: dict[str, Any], *, create_only: bool = False) -> None:
        text = json.dumps(data, separators=(",", ":"))
        here = (DOCS.c.kind == kind) & (DOCS.c.key == key)
        with self._write("docs", "put_doc") as (connection, _serial):
            if not create_only and connection.execute(sa.update(DOCS).where(here).values(data=text)).rowcount:
                return
            try:
                connection.execute(sa.insert(DOCS).values(kind=kind, key=key, data=text))
            except sa.exc.IntegrityError as exc:
                raise AlreadyExists(f"{kind} {key!r} already exists") from exc

    def delete_doc(self, kind: str, key: str) -> bool:
        if _unstorable(kind, key):
            return False
        here = (DOCS.c.kind == kind) & (DOCS.c.key == key)
        try:
            with self._write("docs", "delete_doc") as (connection, _serial):
                if not connection.execute(sa.delete(DOCS).where(here)).rowcount:
                    raise _Unchanged  # roll back the serial's increment
        except _Unchanged:
            return False
        return True

    def docs_serial(self) -> int:
        return self._counter("docs")

    # -- operations ----------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            current, self._current = self._current, None
        if current is not None and current[1] == os.getpid():
            current[0].dispose()
