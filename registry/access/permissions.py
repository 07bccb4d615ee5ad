"""Permission questions over the current access data, and the refusals that answer them.

Every read and write asks here (through the core layer), so the rules in ``policy`` are applied
in one place. A denied read answers exactly like a project that does not exist.
"""

from __future__ import annotations

from ..errors import Forbidden, NotFound, Unauthorized
from .models import ANONYMOUS, READ, WRITE, Identity
from .store import AccessStore


class Permissions:
    """What a caller may do, from the ``AccessStore``'s snapshot."""

    def __init__(self, store: AccessStore) -> None:
        self.store = store

    def can_read(self, identity: Identity, project: str | None = None) -> bool:
        """Whether the caller may read ``project`` (None: a project without rules)."""
        if project is None:
            return self.store.policy().can_by_default(identity, READ)
        return self.store.policy().can(identity, READ, project)

    def can_list(self, identity: Identity) -> bool:
        """Whether the caller may read any project at all (and so list the index)."""
        policy = self.store.policy()
        if policy.can_by_default(identity, READ):
            return True
        scoped = identity.token.projects if identity.token is not None else ()
        return any(policy.can(identity, READ, project) for project in (*policy.directory.rules, *scoped))

    def sees_everything(self, identity: Identity) -> bool:
        """Whether the caller may read every project (a listing needs no filtering)."""
        return self.store.policy().sees_everything(identity)

    def can_write(self, identity: Identity, project: str | None = None) -> bool:
        """Whether the caller may upload to ``project`` (None: a project without rules)."""
        if project is None:
            return self.store.policy().can_by_default(identity, WRITE)
        return self.store.policy().can(identity, WRITE, project)

    def can_overwrite(self, identity: Identity, project: str) -> bool:
        return self.store.policy().may_overwrite(identity, project)

    def can_delete(self, identity: Identity, project: str) -> bool:
        return self.store.policy().may_delete(identity, project)

    def can_update_cache(self, identity: Identity) -> bool:
        return self.store.policy().may_update_cache(identity)

    def has_rules(self, project: str) -> bool:
        """Whether ``project`` has ``package.*`` rules: such a name belongs to this registry
        (it is never looked up upstream, even before its first upload)."""
        return project in self.store.directory().rules

    def is_public(self, project: str) -> bool:
        """Whether every caller may read ``project`` (so its answers may be cached publicly)."""
        return self.store.policy().is_public(project)

    @property
    def reads_are_public(self) -> bool:
        """Whether every project is readable by everyone (every read answer is shareable)."""
        policy = self.store.policy()
        return policy.can_by_default(ANONYMOUS, READ) and not policy.hidden_from_anonymous()

    def require_list(self, identity: Identity) -> None:
        """:raises Unauthorized | Forbidden: the caller may read nothing here."""
        self.require(identity, self.can_list(identity), "read this registry")

    def require_read(self, identity: Identity, project: str, hidden: NotFound) -> None:
        """:raises NotFound | Unauthorized | Forbidden: as for a project that does not exist."""
        policy = self.store.policy()
        if policy.can(identity, READ, project):
            return
        if policy.read_denial(identity, project) == 404:
            raise hidden
        self.require(identity, False, "read this registry")

    @staticmethod
    def require(identity: Identity, allowed: bool, action: str) -> None:
        """:raises Unauthorized: anonymous and not allowed. :raises Forbidden: logged in, not allowed."""
        if allowed:
            return
        if not identity.authenticated:
            raise Unauthorized(f"Authentication required to {action}")
        raise Forbidden(f"User {identity.username!r} is not allowed to {action}")

    @staticmethod
    def require_admin(identity: Identity, action: str) -> None:
        """Admins only, logged in with their password (an API token never carries admin powers)."""
        Permissions.require_password(identity, action)
        Permissions.require(identity, identity.is_admin, action)

    @staticmethod
    def require_password(identity: Identity, action: str) -> None:
        """A logged-in user, with a password rather than an API token."""
        if identity.token is not None:
            raise Forbidden(f"An API token cannot {action}: log in with a password")
        Permissions.require(identity, identity.authenticated, action)
