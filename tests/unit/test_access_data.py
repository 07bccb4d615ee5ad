"""Access data: config lines, database changes, tokens, export and import."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from registry.access import manage
from registry.access.passwords import hash_password
from registry.access.tokens import PREFIX, create_token, list_tokens, parse_expiry, revoke_token
from registry.access.transfer import export_data, import_data
from registry.errors import AlreadyExists, ConfigError, InvalidRequest, NotFound, ReadOnly, Unauthorized
from tests.access_helpers import expired_token, local_services

HASH = hash_password("config-password")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("user.bad name", HASH, "user.bad name is not valid: Invalid user name"),
        ("user.alice", "plaintext", "not a password hash"),
        ("group.everyone", "alice", "reserved"),
        ("package.foo.user.alice", "write", "use r (read) or rw"),
        ("package.foo.owner.alice", "r", "expected package.<project>.user.<name>"),
        ("package.not valid!.user.alice", "r", "Invalid project name"),
        ("pypi.default_read", "everyone, Not A Group!", "is neither one of"),
        ("pypi.auth", "ldap", "choose one of config, db"),
    ],
)
def test_bad_config_lines_stop_start_up_naming_the_key(
    tmp_path: Path, key: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        local_services(tmp_path, **{key: value})
    assert key.split(".")[0] in caught.value.message and message in caught.value.message


def test_config_lines_are_parsed(tmp_path: Path) -> None:
    services = local_services(
        tmp_path,
        **{
            "pypi.auth": "config",
            "user.alice": HASH,
            "group.staff": "alice, bob",
            "package.zope.interface.user.alice": "rw",
            "package.Foo_Bar.group.everyone": "r",
            "package.my_project_group_staff": "r",  # REGISTRY_PACKAGE_MY_PROJECT_GROUP_STAFF
        },
    )
    directory = services.access.directory()
    assert directory.users["alice"].source == "config"
    assert directory.groups["staff"].members == {"alice", "bob"}
    assert {rule.key for rule in directory.all_rules()} == {
        "zope-interface:user:alice",
        "foo-bar:group:everyone",
        "my-project:group:staff",
    }
    assert services.authn.authenticate("alice", "config-password").groups == {"staff"}


def test_config_backend_refuses_changes_but_keeps_tokens(tmp_path: Path) -> None:
    services = local_services(tmp_path, **{"pypi.auth": "config", "user.alice": HASH})
    access, authn = services.access, services.authn
    with pytest.raises(ReadOnly, match=r"pypi\.auth = config"):
        manage.add_user(access, "bob", "long-enough-pw")
    token, secret = create_token(access, "alice", permissions=("read", "upload"))
    assert authn.authenticate("__token__", secret).token == token


def test_db_users_groups_and_permissions(tmp_path: Path) -> None:
    services = local_services(tmp_path, **{"user.root": HASH, "auth.admins": "root"})
    access, authn = services.access, services.authn
    manage.add_user(access, "Bob", "bob-password")
    with pytest.raises(AlreadyExists):
        manage.add_user(access, "bob", "bob-password")
    with pytest.raises(AlreadyExists):
        manage.add_user(access, "root", "root-password")
    with pytest.raises(ReadOnly, match=r"config file \(user.root\)"):
        manage.set_password(access, "root", "new-password")
    manage.add_members(access, "staff", ["bob", "carol"])
    manage.set_rule(access, "Secret", "user:bob", "rw")
    manage.set_rule(access, "secret", "group:staff", "r")
    assert authn.authenticate("bob", "bob-password").groups == {"staff"}
    assert services.permissions.can_write(authn.authenticate("bob", "bob-password"), "secret")
    manage.set_password(access, "bob", "other-password")
    with pytest.raises(Unauthorized):
        authn.authenticate("bob", "bob-password")
    assert manage.list_rules(access, "SECRET")[0].project == "secret"
    with pytest.raises(NotFound):
        manage.remove_rule(access, "secret", "user:nobody")


def test_removing_a_user_takes_their_tokens_memberships_and_permissions(tmp_path: Path) -> None:
    services = local_services(tmp_path)
    access, authn = services.access, services.authn
    manage.add_user(access, "bob", "bob-password")
    manage.add_members(access, "staff", ["bob", "carol"])
    manage.set_rule(access, "p", "user:bob", "rw")
    _, secret = create_token(access, "bob")
    assert manage.remove_user(access, "bob") == 1
    manage.add_user(access, "bob", "new-bob-password")  # same name, nothing inherited
    with pytest.raises(Unauthorized):
        authn.authenticate("__token__", secret)
    assert access.directory().groups["staff"].members == {"carol"}
    assert manage.list_rules(access) == []


def test_tokens_create_list_revoke_expire(tmp_path: Path) -> None:
    services = local_services(tmp_path)
    access, authn = services.access, services.authn
    manage.add_user(access, "bob", "bob-password")
    token, secret = create_token(access, "bob", projects=["Foo_Bar"], description="ci")
    assert secret.startswith(PREFIX + token.id + "_") and len(secret) > 50
    assert token.projects == ("foo-bar",)
    assert secret not in json.dumps(access.documents.list_docs("token"))
    identity = authn.authenticate("__token__", secret)
    assert identity.username == "bob" and identity.token == token
    assert authn.authenticate(secret, "").token == token  # https://<token>@host/simple/
    assert [found.id for found in list_tokens(access, "bob")] == [token.id]
    with pytest.raises(NotFound):
        revoke_token(access, token.id, owner="someone-else")
    revoke_token(access, token.id, owner="bob")
    with pytest.raises(Unauthorized, match="Invalid or expired API token"):
        authn.authenticate("__token__", secret)
    with pytest.raises(Unauthorized, match="Invalid or expired API token"):
        authn.authenticate("__token__", expired_token(access, "bob"))
    with pytest.raises(InvalidRequest, match="read and/or upload"):
        create_token(access, "bob", permissions=("admin",))
    with pytest.raises(NotFound):
        create_token(access, "nobody")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", None), ("never", None), ("90m", timedelta(minutes=90)), ("2w", timedelta(days=14))],
)
def test_parse_expiry(text: str, expected: timedelta | None) -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    parsed = parse_expiry(text, now)
    assert parsed == (now + expected if expected else None)


@pytest.mark.parametrize("text", ["soon", "-1d", "2000-01-01"])
def test_parse_expiry_refuses(text: str) -> None:
    with pytest.raises(InvalidRequest):
        parse_expiry(text, datetime(2030, 1, 1, tzinfo=UTC))


def test_export_import_round_trip(tmp_path: Path) -> None:
    source = local_services(tmp_path / "a").access
    manage.add_user(source, "bob", "bob-password", admin=True)
    manage.add_members(source, "staff", ["bob"])
    manage.set_rule(source, "secret", "group:staff", "rw")
    _, secret = create_token(source, "bob", permissions=("upload",), projects=("secret",))
    document = json.loads(json.dumps(export_data(source)))
    assert secret not in json.dumps(document) and "bob-password" not in json.dumps(document)

    target_services = local_services(tmp_path / "b")
    target = target_services.access
    manage.add_user(target, "stale", "stale-password")
    done = import_data(target, document, replace=True)
    assert (len(done.users), len(done.groups), len(done.rules), len(done.tokens)) == (1, 1, 1, 1)
    assert done.deleted == ["user stale"]
    assert export_data(target) == document
    identity = target_services.authn.authenticate("__token__", secret)
    assert identity.is_admin and target_services.permissions.can_write(identity, "secret")


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "expected a JSON object with version 1"),
        ({"version": 1, "users": {}}, "users: expected a list"),
        ({"version": 1, "users": [{"name": "x"}]}, "users[0]: missing 'password_hash'"),
        (
            {"version": 1, "users": [{"name": "bad name", "password_hash": HASH}]},
            "users[0]: Invalid user name",
        ),
        (
            {"version": 1, "permissions": [{"project": "p", "kind": "user", "name": "a", "permission": "x"}]},
            "r (read)",
        ),
        ({"version": 1, "tokens": [{"id": "zz"}]}, "tokens[0]: id must be 12"),
    ],
)
def test_import_refuses_malformed_documents_and_writes_nothing(
    tmp_path: Path, document: object, message: str
) -> None:
    services = local_services(tmp_path)
    access = services.access
    good = {"name": "good", "password_hash": HASH}
    if isinstance(document, dict) and "users" not in document:
        document = {**document, "users": [good]}
    with pytest.raises(InvalidRequest) as caught:
        import_data(access, document)
    assert message in caught.value.message
    assert access.documents.list_docs("user") == {}
