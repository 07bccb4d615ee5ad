"""The permission rules, without HTTP: defaults, project rules, groups, admins, token scopes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from registry.access.models import (
    ANONYMOUS,
    READ,
    WRITE,
    AccessData,
    Directory,
    Group,
    Identity,
    Rule,
    Token,
    User,
)
from registry.access.policy import Defaults, Policy

ALICE = Identity("alice", groups=frozenset({"staff"}))
BOB = Identity("bob")
ADMIN = Identity("root", is_admin=True)


def policy(rules: tuple[Rule, ...] = (), **defaults: tuple[str, ...]) -> Policy:
    data = AccessData(
        users={name: User(name, "x") for name in ("alice", "bob", "root")},
        groups={"staff": Group("staff", frozenset({"alice"}))},
        rules=rules,
    )
    return Policy(Directory.build(data), Defaults(**defaults))


def token(owner: Identity, permissions: set[str], projects: tuple[str, ...] = ()) -> Identity:
    scoped = Token("0" * 12, str(owner.username), "d" * 64, frozenset(permissions), projects)
    return Identity(owner.username, owner.is_admin, owner.groups, scoped)


SECRET = (Rule("secret", "user", "alice", "rw"),)


def test_defaults_apply_to_projects_without_rules() -> None:
    rules = policy(read=("authenticated",), write=("staff",))
    assert not rules.can(ANONYMOUS, READ, "any")
    assert rules.can(BOB, READ, "any") and not rules.can(BOB, WRITE, "any")
    assert rules.can(ALICE, WRITE, "any")


def test_project_rules_replace_the_defaults() -> None:
    rules = policy(SECRET, read=("everyone",), write=("authenticated",))
    assert rules.can(ALICE, WRITE, "secret")
    assert not rules.can(BOB, READ, "secret")
    assert not rules.can(ANONYMOUS, READ, "secret")
    assert rules.can(BOB, WRITE, "other")


def test_group_and_pseudo_group_rules() -> None:
    rules = policy(
        (Rule("p", "group", "staff", "r"), Rule("q", "group", "authenticated", "rw")),
        read=("admin",),
        write=("admin",),
    )
    assert rules.can(ALICE, READ, "p") and not rules.can(ALICE, WRITE, "p")
    assert not rules.can(BOB, READ, "p")
    assert rules.can(BOB, WRITE, "q") and not rules.can(ANONYMOUS, READ, "q")


def test_admins_may_read_and_write_everything() -> None:
    rules = policy(SECRET, read=("admin",), write=("admin",))
    assert rules.can(ADMIN, READ, "secret") and rules.can(ADMIN, WRITE, "anything")


def test_a_token_narrows_its_owner() -> None:
    rules = policy(read=("authenticated",), write=("authenticated",))
    reader = token(ALICE, {"read"}, ("p",))
    assert rules.can(reader, READ, "p")
    assert not rules.can(reader, WRITE, "p")
    assert not rules.can(reader, READ, "q")
    uploader = token(ALICE, {"upload"})
    assert rules.can(uploader, WRITE, "any") and not rules.can(uploader, READ, "any")


def test_an_admin_token_gets_only_its_scope() -> None:
    rules = policy(SECRET, read=("admin",), write=("admin",))
    scoped = token(ADMIN, {"read"}, ("p",))
    assert rules.can(scoped, READ, "p")
    assert not rules.can(scoped, READ, "secret")
    assert not rules.can(scoped, WRITE, "p")


def test_everyone_may_do_what_anonymous_may() -> None:
    rules = policy(read=("everyone",))
    assert rules.can(token(BOB, {"upload"}, ("elsewhere",)), READ, "public-project")


@pytest.mark.parametrize(
    ("caller", "read_default", "status"),
    [
        (ANONYMOUS, "everyone", 404),
        (BOB, "everyone", 404),
        (ANONYMOUS, "authenticated", 401),
        (BOB, "authenticated", 404),
        (BOB, "staff", 403),
        (token(BOB, {"read"}, ("elsewhere",)), "authenticated", 403),
    ],
    ids=["anon-open", "user-open", "anon-private", "user-private", "user-not-in-group", "scoped-token"],
)
def test_denied_read_answers_like_a_missing_project(caller: Identity, read_default: str, status: int) -> None:
    rules = policy(SECRET, read=(read_default,))
    assert not rules.can(caller, READ, "secret")
    assert rules.read_denial(caller, "secret") == status
    # A project that does not exist (no rules) answers the same status, or is readable (404).
    missing = rules.can(caller, READ, "missing")
    assert (404 if missing else rules.read_denial(caller, "missing")) == status


def test_public_projects_and_listing_filters() -> None:
    rules = policy(SECRET, read=("everyone",))
    assert rules.is_public("open") and not rules.is_public("secret")
    assert rules.hidden_from_anonymous() == {"secret"}
    assert rules.sees_everything(ALICE) and rules.sees_everything(ADMIN)
    assert not rules.sees_everything(BOB) and not rules.sees_everything(ANONYMOUS)
    assert policy(read=("everyone",)).sees_everything(token(BOB, {"read"}, ("x",)))


def test_overwrite_needs_the_group_and_write_permission() -> None:
    rules = policy(SECRET, write=("authenticated",), allow_overwrite=("staff",))
    assert rules.may_overwrite(ALICE, "any")
    assert not rules.may_overwrite(BOB, "any")
    assert not rules.may_overwrite(ADMIN, "any")  # off unless listed, even for admins
    assert policy(allow_overwrite=("admin",)).may_overwrite(ADMIN, "any")


def test_delete_is_for_admins_and_the_allow_delete_group_never_tokens() -> None:
    rules = policy(write=("authenticated",), allow_delete=("staff",))
    assert rules.may_delete(ADMIN, "p") and rules.may_delete(ALICE, "p")
    assert not rules.may_delete(BOB, "p") and not rules.may_delete(ANONYMOUS, "p")
    assert not rules.may_delete(token(ALICE, {"read", "upload"}), "p")
    assert not policy(write=("authenticated",)).may_delete(ALICE, "p")


def test_cache_update_principals() -> None:
    assert policy(cache_update=("staff",)).may_update_cache(ALICE)
    assert not policy(cache_update=("staff",)).may_update_cache(BOB)
    assert policy(cache_update=("staff",)).may_update_cache(ADMIN)


def test_token_expiry_and_scope() -> None:
    now = datetime.now(UTC)
    scoped = Token("0" * 12, "a", "d", frozenset({"read"}), ("p",), expires=now + timedelta(seconds=5))
    assert not scoped.expired(now) and scoped.expired(now + timedelta(seconds=5))
    assert scoped.allows(READ, "p") and not scoped.allows(READ, "q") and not scoped.allows(WRITE, "p")
    assert "digest" not in scoped.describe()
    assert Token.from_doc(scoped.id, scoped.to_doc()) == scoped
