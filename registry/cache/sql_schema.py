"""The ``sql`` cache's tables, their migrations, and the engine built from ``db.url``.

Table names start with ``registry_`` so the tables can live beside another application's
(a pypicloud database being imported, say). Key columns are bounded VARCHARs with a binary
collation on MySQL/MariaDB: those cannot index TEXT, and their default collations would make
``Demo-1.0.tar.gz`` and ``demo-1.0.tar.gz`` the same key. Records are JSON text.

Migrations are numbered steps recorded in ``registry_schema``; each process brings the database
up to date on first use. MySQL commits DDL at once, so every step must be idempotent
(``checkfirst``), and a step two processes race on is simply retried.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from ..errors import BackendUnavailable
from .claims import KEY_LENGTH

#: Longest project name, filename and document key the tables hold (filenames are refused
#: past 255 at upload). utf8mb4 x (255 + 255) stays under InnoDB's 3072-byte key limit.
NAME_LENGTH = 255
DOC_KEY_LENGTH = 512
SETUP_ATTEMPTS = 20
#: utf8mb4 x 600 = 2400 bytes, under InnoDB's 3072-byte key limit.
CLAIM_KEY_LENGTH = KEY_LENGTH


def _key(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length).with_variant(mysql.VARCHAR(length, collation="utf8mb4_bin"), "mysql", "mariadb")


_JSON_TEXT = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")
_MYSQL: dict[str, Any] = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}

METADATA = sa.MetaData()

FILES = sa.Table(
    "registry_files",
    METADATA,
    sa.Column("project", _key(NAME_LENGTH), primary_key=True),
    sa.Column("filename", _key(NAME_LENGTH), primary_key=True),
    sa.Column("record", _JSON_TEXT, nullable=False),
    **_MYSQL,
)
PROJECTS = sa.Table(
    "registry_projects",
    METADATA,
    sa.Column("name", _key(NAME_LENGTH), primary_key=True),
    sa.Column("display_name", sa.String(NAME_LENGTH), nullable=False),
    sa.Column("serial", sa.BigInteger, nullable=False),
    **_MYSQL,
)
#: ``index`` (the serial of file changes) and ``docs`` (of access documents). Every write
#: transaction updates its counter first: that row lock orders writers, and its new value is
#: the serial of what the transaction changed.
COUNTERS = sa.Table(
    "registry_counters",
    METADATA,
    sa.Column("name", _key(32), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
    **_MYSQL,
)
DOCS = sa.Table(
    "registry_docs",
    METADATA,
    sa.Column("kind", _key(32), primary_key=True),
    sa.Column("key", _key(DOC_KEY_LENGTH), primary_key=True),
    sa.Column("data", _JSON_TEXT, nullable=False),
    **_MYSQL,
)
#: Claims (``registry.cache.claims``): written in the transactions of ``registry_files``.
CLAIMS = sa.Table(
    "registry_claims",
    METADATA,
    sa.Column("key", _key(CLAIM_KEY_LENGTH), primary_key=True),
    sa.Column("owner", _JSON_TEXT, nullable=False),
    **_MYSQL,
)
SCHEMA = sa.Table(
    "registry_schema",
    METADATA,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    **_MYSQL,
)


def _create_tables(connection: sa.Connection) -> None:
    METADATA.create_all(connection, tables=[FILES, PROJECTS, COUNTERS, DOCS], checkfirst=True)
    present = set(connection.scalars(sa.select(COUNTERS.c.name)))
    for name in ("index", "docs"):
        if name not in present:
            connection.execute(sa.insert(COUNTERS).values(name=name, value=0))


def _create_claims(connection: sa.Connection) -> None:
    METADATA.create_all(connection, tables=[CLAIMS], checkfirst=True)


#: Step n brings the schema from version n - 1 to n. Append; never change a released step.
MIGRATIONS: tuple[Callable[[sa.Connection], None], ...] = (_create_tables, _create_claims)


def _migrate_once(connection: sa.Connection) -> None:
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA journal_mode=WAL")
    SCHEMA.create(connection, checkfirst=True)
    current = connection.scalar(sa.select(sa.func.max(SCHEMA.c.version))) or 0
    if current > len(MIGRATIONS):
        raise BackendUnavailable(
            f"the SQL database has schema version {current}, newer than this registry knows "
            f"({len(MIGRATIONS)}): upgrade the registry"
        )
    for version in range(current + 1, len(MIGRATIONS) + 1):
        MIGRATIONS[version - 1](connection)
        connection.execute(sa.insert(SCHEMA).values(version=version))


def migrate(engine: sa.Engine) -> None:
    """Create or upgrade the tables; a step another process is running at once is retried.

    :raises BackendUnavailable: the database cannot be reached or refused the change.
    """
    for attempt in range(SETUP_ATTEMPTS):
        try:
            connection = engine.connect()
        except sa.exc.DBAPIError as exc:
            raise BackendUnavailable(f"cannot connect to the SQL database: {describe(exc)}") from exc
        try:
            with connection, connection.begin():
                _migrate_once(connection)
            return
        except sa.exc.DBAPIError as exc:
            if attempt == SETUP_ATTEMPTS - 1:
                raise BackendUnavailable(f"SQL schema set-up failed: {describe(exc)}") from exc
            time.sleep(0.05 * (attempt + 1))


def describe(exc: sa.exc.SQLAlchemyError) -> str:
    """The driver's message without the SQL text and parameters SQLAlchemy appends."""
    cause = getattr(exc, "orig", None) or exc
    text = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {text[0] if text else ''}"
