"""``python -m registry user|group|perm|token|access``, in-process with click's runner."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from registry.access.transfer import import_data
from registry.cli import cli
from tests.access_helpers import local_services

Run = Callable[..., Result]


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """Run a command against a registry in ``tmp_path`` (settings from the environment)."""
    for name in list(os.environ):
        if name.startswith("REGISTRY_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("REGISTRY_DB_PATH", str(tmp_path / "registry.sqlite3"))
    monkeypatch.setenv("REGISTRY_STORAGE_DIR", str(tmp_path / "packages"))

    def invoke(*args: str, stdin: str | None = None, ok: bool = True) -> Result:
        result = CliRunner().invoke(cli, list(args), input=stdin)
        assert (result.exit_code == 0) is ok, result.output
        return result

    return invoke


def test_users(run: Run) -> None:
    run("user", "add", "Alice", "--password-stdin", stdin="alice-password\n")
    run("user", "add", "root", "--admin", stdin="root-password\nroot-password\n")
    listed = json.loads(run("user", "list", "--json").output)
    assert [(user["name"], user["admin"]) for user in listed] == [("alice", False), ("root", True)]
    assert "password" not in run("user", "list").output
    assert "already exists" in run("user", "add", "alice", stdin="x" * 10 + "\n", ok=False).output
    assert (
        "Invalid password" in run("user", "add", "bob", "--password-stdin", stdin="short\n", ok=False).output
    )
    run("user", "passwd", "alice", "--password-stdin", stdin="new-alice-password\n")
    run("user", "admin", "alice")
    assert "no longer" in run("user", "admin", "alice", "--revoke").output
    assert "not found" in run("user", "passwd", "nobody", ok=False).output
    run("user", "remove", "alice")
    assert "alice" not in run("user", "list").output


def test_groups_and_permissions(run: Run) -> None:
    run("group", "add", "staff", "alice", "bob")
    run("group", "remove", "staff", "bob")
    assert json.loads(run("group", "list", "--json").output) == [
        {"name": "staff", "members": ["alice"], "source": "db"}
    ]
    run("perm", "set", "My.Project", "group:staff", "rw")
    run("perm", "set", "my-project", "group:everyone", "r")
    run("perm", "set", "other", "user:alice", "r")
    rules = json.loads(run("perm", "list", "my_project", "--json").output)
    assert {(rule["project"], rule["name"], rule["permission"]) for rule in rules} == {
        ("my-project", "staff", "rw"),
        ("my-project", "everyone", "r"),
    }
    assert "Invalid principal" in run("perm", "set", "p", "alice", "r", ok=False).output
    assert "'rx' is not one of" in run("perm", "set", "p", "user:alice", "rx", ok=False).output
    run("perm", "remove", "my-project", "group:everyone")
    assert "everyone" not in run("perm", "list").output
    run("group", "remove", "staff")
    assert run("group", "list").output == ""


def test_tokens(run: Run) -> None:
    run("user", "add", "ci", "--password-stdin", stdin="ci-password\n")
    options = ["--permission", "upload", "--project", "Foo", "--expires", "30d", "--json"]
    made = json.loads(run("token", "create", "--user", "ci", *options).output)
    assert made["token"].startswith("pyreg_") and made["projects"] == ["foo"]
    plain = run("token", "create", "--user", "ci")
    assert plain.stdout.startswith("pyreg_") and "shown once" in plain.stderr
    listed = run("token", "list", "--user", "ci").output
    assert made["id"] in listed and made["token"] not in listed
    run("token", "revoke", made["id"])
    assert made["id"] not in run("token", "list").output
    assert "not found" in run("token", "revoke", made["id"], ok=False).output
    assert "Invalid expiry" in run("token", "create", "--user", "ci", "--expires", "later", ok=False).output


def test_export_and_import(run: Run, tmp_path: Path) -> None:
    run("user", "add", "alice", "--password-stdin", stdin="alice-password\n")
    run("group", "add", "staff", "alice")
    run("perm", "set", "p", "group:staff", "rw")
    run("token", "create", "--user", "alice")
    out = tmp_path / "access.json"
    run("access", "export", "--output", str(out))
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    document = json.loads(out.read_text())
    assert [len(document[key]) for key in ("users", "groups", "permissions", "tokens")] == [1, 1, 1, 1]

    target_services = local_services(tmp_path / "target")
    import_data(target_services.access, document)
    assert target_services.authn.authenticate("alice", "alice-password").groups == {"staff"}
    run("user", "remove", "alice")
    imported = run("access", "import", str(out), "--replace")
    assert "imported 1 users, 1 groups, 1 permissions, 1 tokens" in imported.output
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert "not valid JSON" in run("access", "import", str(broken), ok=False).output
    broken.write_text(json.dumps({"version": 1, "users": [{"name": "x"}]}))
    assert "users[0]: missing 'password_hash'" in run("access", "import", str(broken), ok=False).output


def test_config_mode_refuses_changes_with_a_hint(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGISTRY_PYPI_AUTH", "config")
    result = run("user", "add", "alice", "--password-stdin", stdin="alice-password\n", ok=False)
    assert "pypi.auth = config" in result.output and "Traceback" not in result.output
