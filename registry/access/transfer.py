"""Export and import of all access data as one JSON document.

The document holds users (with their password hashes), groups, project permissions and API
tokens (with their digests): never a password or a token, but still secret enough that the
command line writes it readable by its owner only. Import checks the whole document before it
writes anything; ``replace`` also deletes what the document does not mention.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from ..errors import InvalidRequest
from .models import Group, Rule, Token, User, check_name, check_project
from .passwords import is_password_hash
from .store import AccessStore
from .tokens import check_scope

EXPORT_VERSION = 1
KINDS = ("user", "group", "perm", "token")
_TOKEN_ID = re.compile(r"[0-9a-f]{12}")
_DIGEST = re.compile(r"[0-9a-f]{64}")
T = TypeVar("T")


def export_data(store: AccessStore) -> dict[str, Any]:
    """Every user, group, permission and token (``source`` says config file or database)."""
    directory = store.directory(fresh=True)
    return {
        "version": EXPORT_VERSION,
        "users": [
            {
                "name": user.name,
                "password_hash": user.password_hash,
                "admin": user.admin,
                "source": user.source,
            }
            for user in sorted(directory.users.values(), key=lambda user: user.name)
        ],
        "groups": [
            {"name": group.name, "members": sorted(group.members), "source": group.source}
            for group in sorted(directory.groups.values(), key=lambda group: group.name)
        ],
        "permissions": [{**rule.to_doc(), "source": rule.source} for rule in directory.all_rules()],
        "tokens": [{"id": token.id, **token.to_doc()} for token in store.load_tokens()],
    }


@dataclass
class Imported:
    """What an import wrote, skipped (defined in the target's config) and deleted."""

    users: list[User] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    tokens: list[Token] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


def _entries(document: dict[str, Any], section: str, parse: Callable[[dict[str, Any]], T]) -> list[T]:
    entries = document.get(section, [])
    if not isinstance(entries, list):
        raise InvalidRequest(f"{section}: expected a list")
    parsed = []
    for index, entry in enumerate(entries):
        try:
            if not isinstance(entry, dict):
                raise ValueError("expected an object")
            parsed.append(parse(entry))
        except InvalidRequest as exc:
            raise InvalidRequest(f"{section}[{index}]: {exc.message}") from exc
        except (KeyError, TypeError, ValueError) as exc:
            detail = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
            raise InvalidRequest(f"{section}[{index}]: {detail}") from exc
    return parsed


def _user(entry: dict[str, Any]) -> User:
    password_hash = str(entry["password_hash"])
    if not is_password_hash(password_hash):
        raise ValueError("password_hash is not a hash this registry recognises")
    return User(check_name(str(entry["name"])), password_hash, admin=entry.get("admin") is True)


def _group(entry: dict[str, Any]) -> Group:
    members = entry["members"]
    if not isinstance(members, list):
        raise ValueError("members: expected a list")
    return Group(check_name(str(entry["name"]), "group"), frozenset(check_name(str(m)) for m in members))


def _rule(entry: dict[str, Any]) -> Rule:
    rule = Rule.from_doc(entry)
    pseudo = rule.kind == "group" and rule.name in ("everyone", "authenticated")
    name = rule.name if pseudo else check_name(rule.name, rule.kind)
    return Rule(check_project(rule.project), rule.kind, name, rule.permission)


def _token(entry: dict[str, Any]) -> Token:
    token_id = str(entry["id"])
    if not _TOKEN_ID.fullmatch(token_id) or not _DIGEST.fullmatch(str(entry["digest"])):
        raise ValueError("id must be 12 and digest 64 lower-case hex digits")
    token = Token.from_doc(token_id, entry)
    check_scope(token.permissions, token.projects)
    return replace(token, owner=check_name(token.owner))


def import_data(store: AccessStore, document: Any, *, replace: bool = False) -> Imported:
    """Write a document made by ``export_data`` into the database.

    :raises InvalidRequest: the document is malformed (naming the first bad entry); nothing
        was written.
    :raises ReadOnly: it holds users, groups or permissions and ``pypi.auth = config``.
    """
    if not isinstance(document, dict) or document.get("version") != EXPORT_VERSION:
        raise InvalidRequest(f"Not an access export: expected a JSON object with version {EXPORT_VERSION}")
    users = _entries(document, "users", _user)
    groups = _entries(document, "groups", _group)
    rules = _entries(document, "permissions", _rule)
    tokens = _entries(document, "tokens", _token)
    done = _write(store, users, groups, rules, tokens)
    if replace:
        keep = {
            "user": {u.name for u in users},
            "group": {g.name for g in groups},
            "perm": {r.key for r in rules},
            "token": {t.id for t in tokens},
        }
        _delete_others(store, keep, done)
    store.invalidate()
    return done


def _write(
    store: AccessStore, users: list[User], groups: list[Group], rules: list[Rule], tokens: list[Token]
) -> Imported:
    """Save every entry, except those the config file defines (skipped: they win anyway)."""
    directory = store.directory(fresh=True)
    done = Imported()
    fixed = {
        "user": {u.name for u in directory.users.values() if u.source == "config"},
        "group": {g.name for g in directory.groups.values() if g.source == "config"},
        "perm": {r.key for r in directory.all_rules() if r.source == "config"},
    }
    for user in users:
        if user.name in fixed["user"]:
            done.skipped.append(f"user {user.name}")
        else:
            store.save_user(user)
            done.users.append(user)
    for group in groups:
        if group.name in fixed["group"]:
            done.skipped.append(f"group {group.name}")
        else:
            store.save_group(group)
            done.groups.append(group)
    for rule in rules:
        if rule.key in fixed["perm"]:
            done.skipped.append(f"permission {rule.key}")
        else:
            store.save_rule(rule)
            done.rules.append(rule)
    for token in tokens:
        store.put_token(token)
        done.tokens.append(token)
    return done


def _delete_others(store: AccessStore, keep: dict[str, set[str]], done: Imported) -> None:
    """Delete the documents of each kind that the import does not hold (``replace``)."""
    for kind in KINDS:
        for key in store.documents.list_docs(kind):
            if key not in keep[kind]:
                store.documents.delete_doc(kind, key)
                done.deleted.append(f"{kind} {key}")
