"""Choosing backends: registered names, classes of one's own by dotted path, and a missing
cloud library stopping start-up with the command that installs it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from registry.access import access_class
from registry.backends import ROOT, load_backend_class
from registry.cache import Cache, cache_class
from registry.config import load_config
from registry.config.parsers import backend_choice
from registry.errors import ConfigError
from registry.storage import BACKENDS, Storage, storage_class, storage_from_config
from tests.example_backend import MemoryStorage


@pytest.mark.parametrize(
    "name", ["tests.example_backend:MemoryStorage", "tests.example_backend.MemoryStorage"]
)
def test_a_dotted_path_names_a_class_of_ones_own(name: str) -> None:
    assert storage_class(name) is MemoryStorage
    config = load_config(environ={}, overrides={"pypi.storage": name, "storage.memory_limit": "1MiB"})
    built = storage_from_config(config)
    assert isinstance(built, MemoryStorage) and built.limit == 1024 * 1024


@pytest.mark.parametrize(
    ("load", "name", "message"),
    [
        (
            storage_class,
            "tests.example_backend:Nothing",
            "tests.example_backend.Nothing is nothing, not a subclass",
        ),
        (
            storage_class,
            "tests.example_backend:io",
            "is a module, not a subclass of registry.storage.base.Storage",
        ),
        (cache_class, "tests.example_backend:MemoryStorage", "not a subclass of registry.cache.base.Cache"),
        (
            access_class,
            "tests.example_backend:MemoryStorage",
            "not a subclass of registry.access.base.AccessBackend",
        ),
        (
            storage_class,
            "no_such_package.storage:Thing",
            "cannot be loaded: No module named 'no_such_package'",
        ),
        (storage_class, "s4", "choose one of file, gcs, s3, azure-blob, or name a class"),
        (storage_class, "mypkg.storage:", "is not valid"),
    ],
)
def test_a_wrong_backend_is_a_config_error_naming_it(load: object, name: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as caught:
        load(name)  # type: ignore[operator]
    assert repr(name) in caught.value.message


def test_the_base_class_itself_is_checked_not_just_named() -> None:
    assert load_backend_class("pypi.db", {}, "registry.cache.base:Cache", Cache) is Cache
    with pytest.raises(ConfigError, match=re.escape("not a subclass of registry.storage.base.Storage")):
        load_backend_class("pypi.storage", {}, "registry.cache.base:Cache", Storage)


def test_pypi_auth_takes_its_names_or_a_dotted_path() -> None:
    parse = backend_choice("config", "db")
    assert parse(" DB ") == "db"
    assert parse("mypkg.access.LdapAccess") == "mypkg.access.LdapAccess"
    with pytest.raises(ValueError, match="choose one of config, db"):
        parse("ldap")
    config = load_config(environ={}, overrides={"pypi.auth": "mypkg.access:LdapAccess"})
    assert config.settings.backends.auth == "mypkg.access:LdapAccess"
    with pytest.raises(ConfigError, match=re.escape("pypi.auth = 'ldap' is not valid")):
        load_config(environ={}, overrides={"pypi.auth": "ldap"})


@pytest.mark.parametrize(
    ("name", "module", "requirements"),
    [("s3", "boto3", "requirements-aws.txt"), ("azure-blob", "azure.storage.blob", "requirements-azure.txt")],
)
def test_a_missing_cloud_library_names_the_command_that_installs_it(
    monkeypatch: pytest.MonkeyPatch, name: str, module: str, requirements: str
) -> None:
    # Fault injection at the loader's edge: the library's import fails as if not installed.
    monkeypatch.setitem(sys.modules, module, None)
    monkeypatch.delitem(sys.modules, BACKENDS[name].partition(":")[0], raising=False)
    with pytest.raises(ConfigError) as caught:
        storage_class(name)
    command = f"{sys.executable} -m pip install -r {ROOT / requirements}"
    assert caught.value.message.endswith(f"Install it with: {command}")
    assert (ROOT / requirements).is_file()


def test_serve_stops_with_that_command_when_boto3_is_missing() -> None:
    """``python -m registry serve`` with ``pypi.storage = s3`` and boto3 made unimportable."""
    script = "import sys; sys.modules['boto3'] = None; from registry.cli import cli; cli(['serve'])"
    env = {"PATH": "/usr/bin:/bin", "REGISTRY_PYPI_STORAGE": "s3", "REGISTRY_STORAGE_BUCKET": "packages"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1, result.stderr
    assert "pypi.storage = 's3' cannot be loaded" in result.stderr
    assert f"-m pip install -r {ROOT / 'requirements-aws.txt'}" in result.stderr
    assert "Traceback" not in result.stderr


def test_without_a_checkout_the_hint_names_the_package(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """In the container image there are no requirements files: pip installs the package by name."""
    monkeypatch.setattr("registry.backends.ROOT", tmp_path)
    monkeypatch.setitem(sys.modules, "azure.storage.blob", None)
    monkeypatch.delitem(sys.modules, "registry.storage.azure_blob", raising=False)
    with pytest.raises(ConfigError) as caught:
        storage_class("azure-blob")
    assert caught.value.message.endswith(
        f"Install it with: {sys.executable} -m pip install azure-storage-blob"
    )
