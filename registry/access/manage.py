"""Managing users, groups and project permissions.

Used by the command line (``python -m registry user|group|perm``). Every function
validates its input first and raises ``InvalidRequest``, ``NotFound``, ``AlreadyExists`` or
``ReadOnly`` (an entry defined in the config file, or ``pypi.auth = config``) with a message
that says what to do.
"""

from __future__ import annotations

from dataclasses import replace

from ..errors import AlreadyExists, InvalidRequest, NotFound, ReadOnly
from .models import Group, Rule, User, check_name, check_permission, check_project
from .passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, hash_password
from .store import AccessStore
from .tokens import revoke_user_tokens


def check_password(password: str) -> str:
    """:raises InvalidRequest: shorter than 8 or longer than 1024 characters."""
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidRequest(
            f"Invalid password: use {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters"
        )
    return password


def _not_in_config(source: str, what: str, key: str) -> None:
    if source == "config":
        raise ReadOnly(f"{what} is defined in the config file ({key}); change it there")


# -- users -------------------------------------------------------------------------------


def get_user(store: AccessStore, name: str) -> User:
    """:raises NotFound: no such user."""
    name = check_name(name)
    user = store.directory(fresh=True).users.get(name)
    if user is None:
        raise NotFound(f"User {name!r} not found")
    return user


def check_new_user(store: AccessStore, name: str) -> str:
    """The checked name of a user to add.

    :raises AlreadyExists: the name is taken (in the database or the config file).
    """
    name = check_name(name)
    if name in store.directory(fresh=True).users:
        raise AlreadyExists(f"User {name!r} already exists")
    return name


def add_user(store: AccessStore, name: str, password: str, *, admin: bool = False) -> User:
    """:raises AlreadyExists: the name is taken (in the database or the config file)."""
    user = User(check_new_user(store, name), hash_password(check_password(password)), admin=admin)
    store.save_user(user, create_only=True)
    return user


def set_password(store: AccessStore, name: str, password: str) -> User:
    user = get_user(store, name)
    _not_in_config(user.source, f"User {user.name!r}", f"user.{user.name}")
    changed = replace(user, password_hash=hash_password(check_password(password)))
    store.save_user(changed)
    return changed


def set_admin(store: AccessStore, name: str, admin: bool) -> User:
    user = get_user(store, name)
    _not_in_config(user.source, f"User {user.name!r}", f"user.{user.name} and auth.admins")
    changed = replace(user, admin=admin)
    store.save_user(changed)
    return changed


def remove_user(store: AccessStore, name: str) -> int:
    """Delete a user, their API tokens, group memberships and permissions (so a new user of
    the same name inherits nothing); returns how many tokens were revoked."""
    user = get_user(store, name)
    _not_in_config(user.source, f"User {user.name!r}", f"user.{user.name}")
    store.delete_user(user.name)
    directory = store.directory(fresh=True)
    for group in directory.groups.values():
        if user.name in group.members and group.source != "config":
            store.save_group(replace(group, members=group.members - {user.name}))
    for rule in directory.all_rules():
        if rule.kind == "user" and rule.name == user.name and rule.source != "config":
            store.delete_rule(rule.project, rule.kind, rule.name)
    return revoke_user_tokens(store, user.name)


def is_admin(store: AccessStore, user: User) -> bool:
    return user.admin or user.name in store.admins


# -- groups ------------------------------------------------------------------------------


def add_members(store: AccessStore, group: str, members: list[str]) -> Group:
    """Add users to a group, creating it if needed."""
    name = check_name(group, "group")
    names = frozenset(check_name(member) for member in members)
    existing = store.directory(fresh=True).groups.get(name)
    if existing is not None:
        _not_in_config(existing.source, f"Group {name!r}", f"group.{name}")
    changed = Group(name, (existing.members if existing else frozenset()) | names)
    store.save_group(changed)
    return changed


def remove_members(store: AccessStore, group: str, members: list[str]) -> Group | None:
    """Remove users from a group, or the whole group when no member is named."""
    name = check_name(group, "group")
    existing = store.directory(fresh=True).groups.get(name)
    if existing is None:
        raise NotFound(f"Group {name!r} not found")
    _not_in_config(existing.source, f"Group {name!r}", f"group.{name}")
    if not members:
        store.delete_group(name)
        return None
    changed = replace(existing, members=existing.members - {check_name(member) for member in members})
    store.save_group(changed)
    return changed


# -- project permissions -----------------------------------------------------------------


def parse_principal(text: str) -> tuple[str, str]:
    """``user:NAME`` or ``group:NAME`` (``group:everyone``, ``group:authenticated`` too).

    :raises InvalidRequest: anything else.
    """
    kind, _, name = text.partition(":")
    kind = kind.strip().lower()
    if kind == "group" and name.strip().lower() in ("everyone", "authenticated"):
        return kind, name.strip().lower()
    if kind not in ("user", "group") or not name:
        raise InvalidRequest(f"Invalid principal {text!r}: use user:NAME or group:NAME")
    return kind, check_name(name, kind)


def set_rule(store: AccessStore, project: str, principal: str, permission: str) -> Rule:
    kind, name = parse_principal(principal)
    rule = Rule(check_project(project), kind, name, check_permission(permission))
    for existing in store.directory(fresh=True).rules.get(rule.project, ()):
        if existing.key == rule.key:
            _not_in_config(existing.source, "This permission", f"package.{rule.project}.{kind}.{name}")
    store.save_rule(rule)
    return rule


def remove_rule(store: AccessStore, project: str, principal: str) -> None:
    kind, name = parse_principal(principal)
    project = check_project(project)
    for existing in store.directory(fresh=True).rules.get(project, ()):
        if existing.kind == kind and existing.name == name:
            _not_in_config(existing.source, "This permission", f"package.{project}.{kind}.{name}")
            store.delete_rule(project, kind, name)
            return
    raise NotFound(f"No permission for {kind}:{name} on project {project!r}")


def list_rules(store: AccessStore, project: str | None = None) -> list[Rule]:
    rules = store.directory(fresh=True).all_rules()
    wanted = check_project(project) if project else None
    return [rule for rule in rules if wanted is None or rule.project == wanted]
