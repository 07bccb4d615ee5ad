"""The config object: file + environment, validation messages, generated docs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from registry import create_app
from registry.config import SETTINGS, load_config
from registry.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_without_a_file() -> None:
    config = load_config(environ={})
    assert config.values["pypi.storage"] == "file"
    assert config.values["pypi.db"] == "sqlite"
    assert config.values["pypi.default_read"] == ("everyone",)
    assert config.values["pypi.default_write"] == ("authenticated",)
    assert config.values["pypi.fallback"] == "none"
    assert config.values["pypi.max_file_size"] == 100 * 1024 * 1024


def test_ini_file_with_pypicloud_keys(tmp_path: Path) -> None:
    path = tmp_path / "registry.ini"
    path.write_text(
        "[app:main]\npypi.default_read = authenticated\npypi.fallback = cache\n"
        "pypi.fallback_url = http://127.0.0.1:9/simple/\n"
        "storage.dir = %(here)s/files\ndb.url = sqlite:///%(here)s/db.sqlite\nauth.admins = alice bob\n"
        "user.alice = $pbkdf2-sha256$hash\n"
    )
    config = load_config(path, environ={})
    assert config.values["pypi.default_read"] == ("authenticated",)
    assert config.values["auth.admins"] == ("alice", "bob")
    assert config.section("storage") == {"dir": f"{tmp_path}/files"}
    assert config.users == {"alice": "$pbkdf2-sha256$hash"}


def test_environment_overrides_file(tmp_path: Path) -> None:
    path = tmp_path / "registry.ini"
    path.write_text("[app:main]\npypi.default_read = authenticated\n")
    environ = {
        "REGISTRY_PYPI_DEFAULT_READ": "everyone",
        "REGISTRY_USER_CAROL": "h",
        "REGISTRY_STORAGE_DIR": "/x",
    }
    config = load_config(path, environ=environ)
    assert config.values["pypi.default_read"] == ("everyone",)
    assert config.users == {"carol": "h"}
    assert config.section("storage") == {"dir": "/x"}


def test_config_file_from_environment(tmp_path: Path) -> None:
    path = tmp_path / "registry.ini"
    path.write_text("[app:main]\npypi.fallback = redirect\npypi.fallback_url = http://127.0.0.1:9/simple/\n")
    assert load_config(environ={"REGISTRY_CONFIG": str(path)}).settings.fallback.mode == "redirect"


@pytest.mark.parametrize(
    ("key", "value", "phrases"),
    [
        ("pypi.fallback", "cash", ["pypi.fallback", "'cash'", "none, redirect, cache"]),
        ("pypi.default_read", "no body!", ["pypi.default_read", "body!", "everyone, authenticated"]),
        ("pypi.max_file_size", "lots", ["pypi.max_file_size", "'lots'", "100MiB"]),
        ("pypi.always_show_upstream", "maybe", ["pypi.always_show_upstream", "true or false"]),
        ("pypi.storage", "s4", ["pypi.storage", "'s4'", "file, gcs"]),
        ("pypi.db", "mongo", ["pypi.db", "'mongo'", "sqlite, firestore"]),
        ("pypi.fallbak", "none", ["unknown setting", "pypi.fallback"]),
        ("db.url", "postgres://x", ["db.url", "sqlite:///"]),
    ],
)
def test_bad_values_stop_startup_with_a_clear_message(key: str, value: str, phrases: list[str]) -> None:
    with pytest.raises(ConfigError) as caught:
        create_app({key: value})
    for phrase in phrases:
        assert phrase in caught.value.message


def test_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.ini", environ={})


def test_config_is_frozen() -> None:
    config = load_config(environ={})
    with pytest.raises(AttributeError):
        config.values = {}  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.values["pypi.fallback"] = "cache"  # type: ignore[index]


def test_generated_docs_are_current() -> None:
    generated = subprocess.run(
        [sys.executable, "-m", "registry", "config-docs"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert (ROOT / "docs" / "configuration.md").read_text() == generated, "run `make docs`"
    for setting in SETTINGS:
        assert f"`{setting.key}`" in generated
        assert setting.env_var in generated
