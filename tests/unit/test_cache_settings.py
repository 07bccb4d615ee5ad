"""Settings of the ``sql`` and ``dynamo`` caches: URL resolution, validation, missing libraries.

No database is needed: ``from_config`` validates and never connects.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from registry.cache import cache_from_config
from registry.cache import dynamo as dynamo_module
from registry.cache import sql as sql_module
from registry.cache.dynamo import DynamoCache
from registry.cache.sql import SQLCache
from registry.config import load_config
from registry.errors import ConfigError
from tests.server import ROOT


def sql_cache(url: str, **settings: str) -> SQLCache:
    config = load_config(environ={}, overrides={"pypi.db": "sql", "db.url": url, **settings})
    cache = cache_from_config(config)
    assert isinstance(cache, SQLCache)
    return cache


@pytest.mark.parametrize(
    ("given", "driver", "query"),
    [
        ("postgresql://app:pw@127.0.0.1:5432/app", "postgresql+psycopg", {}),
        ("postgres://app:pw@127.0.0.1/app", "postgresql+psycopg", {}),
        ("mysql://app:pw@127.0.0.1:3306/app", "mysql+pymysql", {"charset": "utf8mb4"}),
        ("mariadb://app:pw@127.0.0.1/app?charset=utf8", "mariadb+pymysql", {"charset": "utf8"}),
        ("mysql+pymysql://app:pw@127.0.0.1/app", "mysql+pymysql", {"charset": "utf8mb4"}),
    ],
)
def test_plain_schemes_get_the_installed_driver(given: str, driver: str, query: dict[str, str]) -> None:
    url = sql_cache(given).url
    assert url.drivername == driver
    assert dict(url.query) == query
    assert url.password == "pw"


def test_a_sqlite_path_is_relative_to_the_config_file(tmp_path: Path) -> None:
    ini = tmp_path / "registry.ini"
    ini.write_text("[app:main]\npypi.db = sql\ndb.url = sqlite:///data/meta.sqlite3\n")
    cache = cache_from_config(load_config(ini, environ={}))
    assert isinstance(cache, SQLCache)
    assert cache.url.database == str(tmp_path / "data" / "meta.sqlite3")
    assert not (tmp_path / "data").exists(), "from_config must not touch the database"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "db.url is required for pypi.db = sql"),
        ("sqlite://", "in-memory SQLite"),
        ("not a url", "not a valid SQLAlchemy URL"),
        ("postgresql://app:s3cret-pw@127.0.0.1:port/app", "not a valid SQLAlchemy URL"),
        ("postgresql+psycopg2://app:s3cret-pw@127.0.0.1/app", "driver postgresql+psycopg2 cannot be loaded"),
        ("oracle+nosuch://app:s3cret-pw@127.0.0.1/app", "cannot be loaded"),
    ],
)
def test_bad_urls_stop_start_up_without_showing_the_password(url: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        sql_cache(url)
    assert message in raised.value.message
    assert "s3cret-pw" not in raised.value.message


def test_pool_settings_are_checked() -> None:
    assert sql_cache("sqlite:////tmp/x.db", **{"db.pool_size": "12"}).pool_size == 12
    with pytest.raises(ConfigError, match=r"db\.pool_size = 'many'"):
        sql_cache("sqlite:////tmp/x.db", **{"db.pool_size": "many"})


def _pretend_missing(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    """A fault a real install cannot produce in this venv: the library is not there."""
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name in names else real(name, *a)
    )


def test_a_missing_driver_names_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    _pretend_missing(monkeypatch, "psycopg")
    with pytest.raises(ConfigError) as raised:
        sql_cache("postgresql://app:pw@127.0.0.1/app")
    assert raised.value.message.endswith("pip install 'psycopg[binary]==3.3.9'")
    sql_cache("mysql://app:pw@127.0.0.1/app")  # needs no psycopg


def test_missing_sqlalchemy_and_driver_are_named_together(monkeypatch: pytest.MonkeyPatch) -> None:
    _pretend_missing(monkeypatch, "sqlalchemy", "pymysql")
    with pytest.raises(ConfigError) as raised:
        sql_cache("mariadb://app:pw@127.0.0.1/app")
    assert "needs sqlalchemy and pymysql" in raised.value.message
    assert raised.value.message.endswith("pip install 'SQLAlchemy==2.1.9' 'PyMySQL==1.2.4'")


def test_missing_boto3_names_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    _pretend_missing(monkeypatch, "boto3")
    with pytest.raises(ConfigError) as raised:
        cache_from_config(load_config(environ={}, overrides={"pypi.db": "dynamo"}))
    assert raised.value.message.endswith("pip install 'boto3==1.44.8'")


def _requirements(name: str) -> set[str]:
    lines = (ROOT / name).read_text().splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def test_pip_commands_match_the_requirement_files() -> None:
    assert set(sql_module.PIP_REQUIREMENTS.values()) == _requirements("requirements-sql.txt")
    assert {dynamo_module.PIP_REQUIREMENT} == _requirements("requirements-aws.txt")
    assert "-r requirements-sql.txt" in _requirements("requirements-dev.txt")
    assert "-r requirements-aws.txt" in _requirements("requirements-dev.txt")
    runtime = (ROOT / "requirements.txt").read_text().lower()
    assert "sqlalchemy" not in runtime and "boto3" not in runtime, "the Cloud Run image stays GCP-only"


def dynamo_cache(**settings: str) -> DynamoCache:
    cache = cache_from_config(load_config(environ={}, overrides={"pypi.db": "dynamo", **settings}))
    assert isinstance(cache, DynamoCache)
    return cache


def test_dynamo_settings() -> None:
    cache = dynamo_cache(**{"db.namespace": "prod-", "db.region_name": "eu-west-1",
                            "db.endpoint_url": "http://127.0.0.1:8000/"})  # fmt: skip
    table = cache.table
    assert (table.name, table.region_name, table.endpoint_url) == (
        "prod-registry",
        "eu-west-1",
        "http://127.0.0.1:8000",
    )
    assert dynamo_cache().table.name == "registry"
    keyed = dynamo_cache(**{"db.aws_access_key_id": "AKIA1", "db.aws_secret_access_key": "s3cret"})
    assert keyed.table.credentials == {"aws_access_key_id": "AKIA1", "aws_secret_access_key": "s3cret"}


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"db.namespace": "no spaces"}, "db.namespace = 'no spaces' is not valid"),
        ({"db.endpoint_url": "127.0.0.1:8000"}, "db.endpoint_url = '127.0.0.1:8000' is not valid"),
        ({"db.aws_access_key_id": "AKIA1"}, "set both or neither"),
        ({"db.aws_secret_access_key": "s3cret"}, "set both or neither"),
    ],
)
def test_bad_dynamo_settings_stop_start_up(settings: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        dynamo_cache(**settings)
    assert message in raised.value.message
    assert "s3cret" not in raised.value.message
