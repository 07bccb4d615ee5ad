"""The access data: users, groups, project permissions, API tokens, and who is asking.

Everything here is an immutable value. A ``Directory`` is one consistent snapshot of all of it,
indexed for the lookups every request makes, so checking a permission never touches a backend.
Documents (``to_doc``/``from_doc``) are the JSON-safe form the Cache stores.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from packaging.utils import canonicalize_name

from ..config import NAME_PATTERN, PSEUDO_GROUPS
from ..errors import InvalidRequest
from ..models import format_time, parse_time

READ = "read"
WRITE = "write"
#: What a ``package.<project>.user.<name> = ...`` value grants.
PERMISSION_VALUES: Mapping[str, frozenset[str]] = MappingProxyType(
    {"r": frozenset({READ}), "rw": frozenset({READ, WRITE})}
)
#: What an API token may be allowed to do, and the permission each needs.
TOKEN_PERMISSIONS: Mapping[str, str] = MappingProxyType({"read": READ, "upload": WRITE})
RULE_KINDS = ("user", "group")
#: The basic-auth user name that says "the password is an API token" (as on PyPI).
TOKEN_USERNAME = "__token__"


def check_name(name: str, what: str = "user") -> str:
    """A user or group name, lower-cased (config keys are case-insensitive, so names are too).

    >>> check_name("Alice")
    'alice'

    :raises InvalidRequest: empty, too long, or characters other than a-z 0-9 . _ @ + -.
    """
    lowered = name.strip().lower()
    if not NAME_PATTERN.fullmatch(lowered):
        raise InvalidRequest(
            f"Invalid {what} name {name!r}: use 1 to 100 of a-z 0-9 . _ @ + -, "
            "starting with a letter or digit"
        )
    if lowered == TOKEN_USERNAME or (what == "group" and lowered in PSEUDO_GROUPS):
        raise InvalidRequest(f"Invalid {what} name {name!r}: it is reserved")
    return lowered


def check_project(name: str) -> str:
    """A project name, canonicalized (PEP 503).

    :raises InvalidRequest: not a valid project name.
    """
    try:
        return str(canonicalize_name(name.strip(), validate=True))
    except ValueError as exc:
        raise InvalidRequest(f"Invalid project name {name!r}") from exc


def check_permission(value: str) -> str:
    """:raises InvalidRequest: not ``r`` or ``rw``."""
    cleaned = value.strip().lower()
    if cleaned not in PERMISSION_VALUES:
        raise InvalidRequest(f"Invalid permission {value!r}: use r (read) or rw (read and upload)")
    return cleaned


@dataclass(frozen=True)
class User:
    """A user who logs in with a password. ``source`` is ``config`` or ``db``."""

    name: str
    password_hash: str
    admin: bool = False
    source: str = "db"

    def to_doc(self) -> dict[str, Any]:
        return {"password_hash": self.password_hash, "admin": self.admin}

    @classmethod
    def from_doc(cls, name: str, data: Mapping[str, Any]) -> User:
        return cls(name=name, password_hash=str(data["password_hash"]), admin=bool(data.get("admin")))


@dataclass(frozen=True)
class Group:
    """A named set of users."""

    name: str
    members: frozenset[str] = frozenset()
    source: str = "db"

    def to_doc(self) -> dict[str, Any]:
        return {"members": sorted(self.members)}

    @classmethod
    def from_doc(cls, name: str, data: Mapping[str, Any]) -> Group:
        return cls(name=name, members=frozenset(str(member) for member in data["members"]))


@dataclass(frozen=True)
class Rule:
    """``package.<project>.<kind>.<name> = <permission>``: one grant on one project."""

    project: str
    kind: str  # "user" or "group" (including the pseudo-groups everyone and authenticated)
    name: str
    permission: str  # "r" or "rw"
    source: str = "db"

    @property
    def key(self) -> str:
        return rule_key(self.project, self.kind, self.name)

    @property
    def principal(self) -> str:
        return f"user:{self.name}" if self.kind == "user" else self.name

    def to_doc(self) -> dict[str, Any]:
        return {"project": self.project, "kind": self.kind, "name": self.name, "permission": self.permission}

    @classmethod
    def from_doc(cls, data: Mapping[str, Any]) -> Rule:
        kind = str(data["kind"])
        if kind not in RULE_KINDS:
            raise ValueError(f"unknown rule kind {kind!r}")
        return cls(
            project=str(data["project"]),
            kind=kind,
            name=str(data["name"]),
            permission=check_permission(str(data["permission"])),
        )


def rule_key(project: str, kind: str, name: str) -> str:
    return f"{project}:{kind}:{name}"


@dataclass(frozen=True)
class Token:
    """An API token: only a digest of the secret is kept. Empty ``projects`` means any project."""

    id: str
    owner: str
    digest: str
    permissions: frozenset[str] = frozenset({"read"})
    projects: tuple[str, ...] = ()
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    expires: datetime | None = None
    description: str = ""

    def expired(self, now: datetime) -> bool:
        return self.expires is not None and now >= self.expires

    def allows(self, permission: str, project: str | None) -> bool:
        """Whether the token's scope covers ``permission`` (read/write) on ``project``."""
        if not any(TOKEN_PERMISSIONS[name] == permission for name in self.permissions):
            return False
        return not self.projects or project in self.projects

    def describe(self) -> dict[str, Any]:
        """What listing a token shows: never the digest."""
        return {
            "id": self.id,
            "user": self.owner,
            "permissions": sorted(self.permissions),
            "projects": list(self.projects),
            "created": format_time(self.created),
            "expires": format_time(self.expires) if self.expires else None,
            "description": self.description,
        }

    def to_doc(self) -> dict[str, Any]:
        data = self.describe()
        del data["id"]
        data["digest"] = self.digest
        return data

    @classmethod
    def from_doc(cls, token_id: str, data: Mapping[str, Any]) -> Token:
        permissions = frozenset(str(name) for name in data["permissions"])
        if not permissions or not permissions <= set(TOKEN_PERMISSIONS):
            raise ValueError(f"invalid permissions {sorted(permissions)}")
        expires = data.get("expires")
        return cls(
            id=token_id,
            owner=str(data["user"]),
            digest=str(data["digest"]),
            permissions=permissions,
            projects=tuple(str(project) for project in data.get("projects") or ()),
            created=parse_time(str(data["created"])),
            expires=parse_time(str(expires)) if expires else None,
            description=str(data.get("description") or ""),
        )


@dataclass(frozen=True)
class AccessData:
    """What an Access backend loads: users, groups and rules (tokens come from the Cache)."""

    users: Mapping[str, User] = field(default_factory=dict)
    groups: Mapping[str, Group] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()


@dataclass(frozen=True)
class Directory:
    """One consistent snapshot of all access data, indexed for per-request lookups."""

    users: Mapping[str, User]
    groups: Mapping[str, Group]
    rules: Mapping[str, tuple[Rule, ...]]  # project -> its rules
    tokens: Mapping[str, Token]  # id -> token
    memberships: Mapping[str, frozenset[str]]  # user -> the groups they are in
    by_digest: Mapping[str, Token]

    @classmethod
    def build(cls, data: AccessData, tokens: Iterable[Token] = ()) -> Directory:
        rules: dict[str, list[Rule]] = {}
        for rule in data.rules:
            rules.setdefault(rule.project, []).append(rule)
        memberships: dict[str, set[str]] = {}
        for group in data.groups.values():
            for member in group.members:
                memberships.setdefault(member, set()).add(group.name)
        token_map = {token.id: token for token in tokens}
        return cls(
            users=MappingProxyType(dict(data.users)),
            groups=MappingProxyType(dict(data.groups)),
            rules=MappingProxyType({project: tuple(found) for project, found in rules.items()}),
            tokens=MappingProxyType(token_map),
            memberships=MappingProxyType({user: frozenset(names) for user, names in memberships.items()}),
            by_digest=MappingProxyType({token.digest: token for token in token_map.values()}),
        )

    def all_rules(self) -> list[Rule]:
        return [rule for project in sorted(self.rules) for rule in self.rules[project]]


@dataclass(frozen=True)
class Identity:
    """The caller: a user (by password or by one of their API tokens), or anonymous."""

    username: str | None = None
    is_admin: bool = False
    groups: frozenset[str] = frozenset()
    token: Token | None = None

    @property
    def authenticated(self) -> bool:
        return self.username is not None

    @property
    def label(self) -> str:
        """The user name, or ``anonymous``: what an upload records as its uploader."""
        return self.username or "anonymous"

    @property
    def log_label(self) -> str:
        """What the access log shows: the user and, for a token, its public id."""
        if self.token is not None:
            return f"{self.username}/token/{self.token.id}"
        return self.label


ANONYMOUS = Identity()
