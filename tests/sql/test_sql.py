"""The ``sql`` cache beyond the Cache contract: schema set-up and migrations, reads per request.

Run on PostgreSQL, MariaDB and SQLite (``tests/db_services.py`` gives each test a new database).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from registry.cache import cache_from_config
from registry.cache.sql import SQLCache
from registry.cache.sql_schema import MIGRATIONS, SCHEMA
from registry.config import load_config
from registry.errors import BackendUnavailable, NotFound
from tests.contract.test_cache import record, run_parallel
from tests.distributions import Dist
from tests.emulators import free_port
from tests.recovery.conftest import build
from tests.server import base_settings

DATABASES = ["sql_postgres_settings", "sql_mariadb_settings", "sql_sqlite_settings"]


@pytest.fixture(params=DATABASES, ids=lambda name: name.split("_")[1])
def settings(request: pytest.FixtureRequest) -> dict[str, str]:
    """Raw settings of an ``sql`` cache on a new, empty database of each kind."""
    found: dict[str, str] = request.getfixturevalue(request.param)
    return found


def new_cache(settings: dict[str, str]) -> SQLCache:
    cache = cache_from_config(load_config(environ={}, overrides=settings))
    assert isinstance(cache, SQLCache)
    return cache


@pytest.fixture
def inspect(settings: dict[str, str]) -> Iterator[sa.Engine]:
    """A separate engine on the same database, to look at it directly."""
    engine = sa.create_engine(new_cache(settings).url, poolclass=sa.NullPool)
    yield engine
    engine.dispose()


def test_processes_starting_at_once_set_the_schema_up_once(
    settings: dict[str, str], inspect: sa.Engine
) -> None:
    caches = [new_cache(settings) for _ in range(8)]  # one engine each, as separate processes have
    outcomes = run_parallel(8, lambda n: caches[n].index_serial())
    assert list(outcomes.values()) == [0] * 8, outcomes
    with inspect.connect() as connection:
        assert list(connection.scalars(sa.select(SCHEMA.c.version))) == list(range(1, len(MIGRATIONS) + 1))
    for cache in caches:
        cache.close()


def test_a_restart_keeps_the_data(settings: dict[str, str]) -> None:
    first = new_cache(settings)
    first.add_file(record())
    serial = first.project_serial("demo")
    first.close()
    second = new_cache(settings)
    assert second.list_files("demo") == [record()]
    assert second.project_serial("demo") == serial
    second.close()


def test_a_database_from_a_newer_registry_is_refused(settings: dict[str, str], inspect: sa.Engine) -> None:
    first = new_cache(settings)
    assert first.index_serial() == 0  # sets the schema up
    first.close()
    with inspect.begin() as connection:
        connection.execute(sa.insert(SCHEMA).values(version=len(MIGRATIONS) + 1))
    cache = new_cache(settings)
    with pytest.raises(BackendUnavailable, match="newer than this registry knows"):
        cache.index_serial()


def test_an_unreachable_database_is_a_backend_error() -> None:
    cache = new_cache({"pypi.db": "sql", "db.url": f"postgresql://app:pw@127.0.0.1:{free_port()}/app"})
    with pytest.raises(BackendUnavailable, match="cannot connect to the SQL database"):
        cache.project_serial("demo")


def test_a_project_page_view_is_one_primary_key_read(settings: dict[str, str], tmp_path: Path) -> None:
    registry = build({**base_settings(tmp_path), **settings, "auth.refresh_seconds": "3600"})
    assert registry.upload_wheel(Dist("reads-demo", "1.0")).status_code == 200
    assert registry.client.get("/simple/reads-demo/").status_code == 200  # renders and keeps the page
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    sa.event.listen(sa.Engine, "before_cursor_execute", count)
    try:
        assert registry.client.get("/simple/reads-demo/").status_code == 200
    finally:
        sa.event.remove(sa.Engine, "before_cursor_execute", count)
    registry.services.cache.close()
    assert len(statements) == 1, statements
    assert "FROM registry_projects" in statements[0] and "WHERE registry_projects.name =" in statements[0]


def test_names_no_row_can_hold_are_simply_not_found(settings: dict[str, str]) -> None:
    cache = new_cache(settings)  # PostgreSQL refuses NUL in text; a URL can carry one (%00)
    cache.add_file(record())
    assert cache.project_serial("de\x00mo") is None
    assert cache.list_files("de\x00mo") == []
    assert cache.get_file("demo", "demo\x00.whl") is None
    with pytest.raises(NotFound):
        cache.remove_file("demo", "demo\x00.whl")
    assert cache.get_doc("user", "al\x00ice") is None
    assert cache.delete_doc("user", "al\x00ice") is False
    assert cache.list_files("demo") == [record()]
    cache.close()
