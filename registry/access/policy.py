"""The permission rules, as pure functions over a ``Directory`` snapshot.

A project's grants are its ``package.<project>.*`` rules or, when it has none, the defaults
(``pypi.default_read`` / ``pypi.default_write``). A caller holds principals: ``everyone``;
``authenticated``, ``user:<name>`` and their groups once logged in; ``admin`` for admins.
Admins may read and upload everywhere. An API token narrows its owner's rights to its scope
(permissions and projects) and never carries admin powers beyond read and upload.

Every caller may do at least what an anonymous caller may. That is what makes an answer
that anonymous may read the same for everyone, so a CDN may share it.

A denied read answers exactly like a project that does not exist: when the caller could read a
project without rules, that is 404 (so a hidden project's existence does not leak), otherwise
401 (anonymous, so clients send credentials) or 403.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..config.views import AccessDefaults
from .models import ANONYMOUS, PERMISSION_VALUES, READ, WRITE, Directory, Identity

Grants = Mapping[str, frozenset[str]]  # principal -> permissions


@dataclass(frozen=True)
class Defaults:
    """The ``pypi.*`` principal lists that apply where a project has no rule."""

    read: tuple[str, ...] = ("everyone",)
    write: tuple[str, ...] = ("authenticated",)
    cache_update: tuple[str, ...] = ("authenticated",)
    allow_overwrite: tuple[str, ...] = ()
    allow_delete: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: AccessDefaults) -> Defaults:
        return cls(
            read=settings.read,
            write=settings.write,
            cache_update=settings.cache_update,
            allow_overwrite=settings.allow_overwrite,
            allow_delete=settings.allow_delete,
        )

    @functools.cached_property
    def grants(self) -> Grants:
        """The grants of a project without rules (computed once: asked on every request)."""
        found: dict[str, set[str]] = {}
        for principal in self.read:
            found.setdefault(principal, set()).add(READ)
        for principal in self.write:
            found.setdefault(principal, set()).add(WRITE)
        return {principal: frozenset(permissions) for principal, permissions in found.items()}


def principals(identity: Identity) -> frozenset[str]:
    """Who the caller counts as."""
    found = {"everyone"}
    if identity.username is not None:
        found |= {"authenticated", f"user:{identity.username}", *identity.groups}
    if identity.is_admin:
        found.add("admin")
    return frozenset(found)


def project_grants(directory: Directory, defaults: Defaults, project: str | None) -> Grants:
    """The grants that apply to ``project``: its rules, or the defaults when it has none."""
    rules = directory.rules.get(project or "")
    if not rules:
        return defaults.grants
    found: dict[str, frozenset[str]] = {}
    for rule in rules:
        found[rule.principal] = found.get(rule.principal, frozenset()) | PERMISSION_VALUES[rule.permission]
    return found


def _holds(held: Iterable[str], grants: Grants, permission: str) -> bool:
    return any(permission in grants.get(principal, ()) for principal in held)


def allowed(identity: Identity, permission: str, project: str | None, grants: Grants) -> bool:
    """Whether ``identity`` has ``permission`` (read/write) on ``project`` under ``grants``."""
    if _holds(("everyone",), grants, permission):
        return True
    if identity.token is not None and not identity.token.allows(permission, project):
        return False
    if identity.is_admin:
        return True
    return _holds(principals(identity), grants, permission)


def member_of(identity: Identity, listed: Iterable[str]) -> bool:
    """Whether the caller is one of ``listed`` (pseudo-groups or group names)."""
    return bool(principals(identity) & set(listed))


@dataclass(frozen=True)
class Policy:
    """The rules bound to one snapshot of the access data."""

    directory: Directory
    defaults: Defaults

    def can(self, identity: Identity, permission: str, project: str | None) -> bool:
        return allowed(identity, permission, project, project_grants(self.directory, self.defaults, project))

    def can_by_default(self, identity: Identity, permission: str, project: str | None = None) -> bool:
        """Whether the caller would have ``permission`` on ``project`` if it had no rule."""
        return allowed(identity, permission, project, self.defaults.grants)

    def read_denial(self, identity: Identity, project: str | None) -> int:
        """The status for a denied read: what a project that does not exist would answer."""
        if self.can_by_default(identity, READ, project):
            return 404
        return 403 if identity.authenticated else 401

    def is_public(self, project: str) -> bool:
        """Whether anonymous callers (and so everyone) may read ``project``."""
        return self.can(ANONYMOUS, READ, project)

    def hidden_from_anonymous(self) -> frozenset[str]:
        """Projects with rules that anonymous callers may not read."""
        return frozenset(project for project in self.directory.rules if not self.is_public(project))

    def sees_everything(self, identity: Identity) -> bool:
        """Whether the caller may read every project (so a listing needs no filtering)."""
        if identity.token is not None and identity.token.projects:
            return self.can_by_default(ANONYMOUS, READ) and not self.hidden_from_anonymous()
        if not self.can_by_default(identity, READ):
            return False
        return all(self.can(identity, READ, project) for project in self.directory.rules)

    def may_overwrite(self, identity: Identity, project: str) -> bool:
        return self.can(identity, WRITE, project) and member_of(identity, self.defaults.allow_overwrite)

    def may_delete(self, identity: Identity, project: str) -> bool:
        """Admins, or members of ``pypi.allow_delete`` who may upload; never with a token."""
        if identity.token is not None or not identity.authenticated:
            return False
        if identity.is_admin:
            return True
        return self.can(identity, WRITE, project) and member_of(identity, self.defaults.allow_delete)

    def may_update_cache(self, identity: Identity) -> bool:
        return identity.is_admin or member_of(identity, self.defaults.cache_update)
