"""The Access interface: who is asking, and what they may do.

A backend supplies the users, groups and project permissions (``load``) and, if it can, changes
them; this base class does everything else the same way for every backend: it keeps a snapshot
of the access data (re-read when the Cache's ``docs_serial`` moves, checked at most every
``auth.refresh_seconds``), authenticates passwords and API tokens (tokens always live in the
Cache), limits failed logins, and answers permission questions through ``policy``.

A backend implements ``load``; the write methods refuse by default (the data is read-only, as
with ``config``) and a backend that can store changes overrides them. ``verify_password`` may be
overridden by a backend that checks passwords elsewhere (LDAP, say).
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from datetime import UTC, datetime
from typing import ClassVar

from ..cache import Cache
from ..config import Config, Setting
from ..errors import BackendUnavailable, Forbidden, NotFound, ReadOnly, TooManyRequests, Unauthorized
from . import passwords
from .limiter import FailureLimiter
from .models import (
    ANONYMOUS,
    READ,
    TOKEN_USERNAME,
    WRITE,
    AccessData,
    Directory,
    Group,
    Identity,
    Rule,
    Token,
    User,
)
from .passwords import CredentialMemo
from .policy import Defaults, Policy
from .tokens import PREFIX as TOKEN_PREFIX
from .tokens import token_digest

log = logging.getLogger("registry")


class Access(ABC):
    """Authentication and permissions. Subclasses register in ``registry.access.BACKENDS``."""

    #: Settings this backend reads, for validation and the docs.
    settings: ClassVar[tuple[Setting, ...]] = ()

    def __init__(self, config: Config, cache: Cache) -> None:
        self.config = config
        self.cache = cache
        self.defaults = Defaults.from_config(config)
        self.memo = CredentialMemo(config["auth.credential_cache_seconds"])
        self.limiter = FailureLimiter(
            config["auth.max_failures_per_user"],
            config["auth.max_failures_per_address"],
            config["auth.failure_window_seconds"],
        )
        self._refresh = float(config["auth.refresh_seconds"])
        self._policy: Policy | None = None
        self._serial: int | None = None
        self._fresh_until = 0.0
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: Config, cache: Cache) -> Access:
        """Build from settings, validating the access data in the config; connects nothing.

        :raises ConfigError: a ``user.*``, ``group.*`` or ``package.*`` line is invalid.
        """
        return cls(config, cache)

    # -- what a backend provides ---------------------------------------------------------

    @abstractmethod
    def load(self) -> AccessData:
        """Every user, group and project rule. Called when the data may have changed."""

    def read_only_reason(self) -> str:
        """Why changes are refused (for the error message). May override."""
        return "this access backend cannot store changes"

    def _refuse(self) -> ReadOnly:
        return ReadOnly(self.read_only_reason())

    def save_user(self, user: User, *, create_only: bool = False) -> None:
        """Create or replace a user. May override; by default the data is read-only.

        :raises AlreadyExists: ``create_only`` and the user exists.
        :raises ReadOnly: this backend cannot store users.
        """
        raise self._refuse()

    def delete_user(self, name: str) -> bool:
        """Delete a user; whether it existed. May override (see ``save_user``)."""
        raise self._refuse()

    def save_group(self, group: Group) -> None:
        """Create or replace a group. May override (see ``save_user``)."""
        raise self._refuse()

    def delete_group(self, name: str) -> bool:
        """Delete a group; whether it existed. May override (see ``save_user``)."""
        raise self._refuse()

    def save_rule(self, rule: Rule) -> None:
        """Create or replace one project permission. May override (see ``save_user``)."""
        raise self._refuse()

    def delete_rule(self, project: str, kind: str, name: str) -> bool:
        """Delete one project permission; whether it existed. May override (see ``save_user``)."""
        raise self._refuse()

    def verify_password(self, user: User | None, password: str) -> bool:
        """Check a password; for an unknown user, waste the same time and fail. May override."""
        valid = passwords.verify_password(password, user.password_hash if user else passwords.dummy_hash())
        return valid and user is not None

    # -- the snapshot --------------------------------------------------------------------

    def policy(self, *, fresh: bool = False) -> Policy:
        """The rules over the current access data (re-read when the database changed).

        ``fresh`` checks the database now instead of trusting a check made in the last
        ``auth.refresh_seconds`` (for management operations, which must see every change).
        """
        current = self._policy
        if current is not None and not fresh and time.monotonic() < self._fresh_until:
            return current
        with self._lock:
            current = self._policy
            if current is not None and not fresh and time.monotonic() < self._fresh_until:
                return current
            serial = self.cache.docs_serial()
            if current is None or serial != self._serial:
                current = Policy(Directory.build(self.load(), self.load_tokens()), self.defaults)
                self._policy, self._serial = current, serial
            self._fresh_until = time.monotonic() + self._refresh
            return current

    def directory(self, *, fresh: bool = False) -> Directory:
        return self.policy(fresh=fresh).directory

    def invalidate(self) -> None:
        """Re-read the access data on next use (after this process changed it)."""
        with self._lock:
            self._fresh_until = 0.0
            self._serial = None

    def load_tokens(self) -> list[Token]:
        """Every API token, read from the Cache now."""
        tokens = []
        for token_id, data in self.cache.list_docs("token").items():
            try:
                tokens.append(Token.from_doc(token_id, data))
            except (KeyError, TypeError, ValueError) as exc:
                raise BackendUnavailable(f"stored API token {token_id!r} is malformed: {exc}") from exc
        return tokens

    # -- authentication ------------------------------------------------------------------

    def _identity(self, directory: Directory, user: User, token: Token | None = None) -> Identity:
        admin = user.admin or user.name in self.config["auth.admins"]
        return Identity(user.name, admin, directory.memberships.get(user.name, frozenset()), token)

    def authenticate(self, username: str | None, password: str | None, address: str = "") -> Identity:
        """The identity for basic-auth credentials; anonymous when none were sent.

        ``__token__`` as the user name means the password is an API token; a token as the user
        name with no password (``https://<token>@host/``) works too.

        :raises Unauthorized: wrong credentials (unknown users look exactly the same).
        :raises TooManyRequests: too many recent failures for this name or address.
        """
        if username is None:
            return ANONYMOUS
        if username == TOKEN_USERNAME:
            return self.authenticate_token(password or "")
        if username.startswith(TOKEN_PREFIX) and not password:  # https://<token>@host/simple/
            return self.authenticate_token(username)
        name = username.lower()
        password = password or ""
        directory = self.directory()
        user = directory.users.get(name)
        if user is not None and self.memo.remembered(name, password, user.password_hash):
            return self._identity(directory, user)
        retry_after = self.limiter.retry_after(name, address)
        if retry_after:
            raise TooManyRequests(f"Too many failed logins: try again in {retry_after} seconds", retry_after)
        # A full check reads the latest data (a user added or a password changed a moment ago,
        # in another process), for known and unknown names alike so both cost the same.
        directory = self.directory(fresh=True)
        user = directory.users.get(name)
        if not self.verify_password(user, password) or user is None:
            self.limiter.failed(name, address)
            raise Unauthorized("Invalid username or password")
        self.limiter.succeeded(name)
        self.memo.remember(name, password, user.password_hash)
        return self._identity(directory, user)

    def authenticate_token(self, secret: str) -> Identity:
        """The identity of an API token's owner, narrowed to the token's scope.

        :raises Unauthorized: unknown, revoked or expired token, or its owner is gone.
        """
        digest = token_digest(secret)
        directory = self.directory()
        if digest not in directory.by_digest:  # perhaps made a moment ago, in another process
            directory = self.directory(fresh=True)
        token = directory.by_digest.get(digest)
        owner = directory.users.get(token.owner) if token else None
        if token is None or owner is None or token.expired(datetime.now(UTC)):
            raise Unauthorized("Invalid or expired API token")
        return self._identity(directory, owner, token)

    def has_users(self) -> bool:
        return bool(self.directory().users)

    # -- permissions ---------------------------------------------------------------------

    def can_read(self, identity: Identity, project: str | None = None) -> bool:
        """Whether the caller may read ``project`` (None: a project without rules)."""
        if project is None:
            return self.policy().can_by_default(identity, READ)
        return self.policy().can(identity, READ, project)

    def can_list(self, identity: Identity) -> bool:
        """Whether the caller may read any project at all (and so list the index)."""
        policy = self.policy()
        if policy.can_by_default(identity, READ):
            return True
        scoped = identity.token.projects if identity.token is not None else ()
        return any(policy.can(identity, READ, project) for project in (*policy.directory.rules, *scoped))

    def can_write(self, identity: Identity, project: str | None = None) -> bool:
        """Whether the caller may upload to ``project`` (None: a project without rules)."""
        if project is None:
            return self.policy().can_by_default(identity, WRITE)
        return self.policy().can(identity, WRITE, project)

    def can_overwrite(self, identity: Identity, project: str) -> bool:
        return self.policy().may_overwrite(identity, project)

    def can_delete(self, identity: Identity, project: str) -> bool:
        return self.policy().may_delete(identity, project)

    def can_update_cache(self, identity: Identity, project: str | None = None) -> bool:
        return self.policy().may_update_cache(identity)

    def has_rules(self, project: str) -> bool:
        """Whether ``project`` has ``package.*`` rules: such a name belongs to this registry
        (it is never looked up upstream, even before its first upload)."""
        return project in self.directory().rules

    def is_public(self, project: str) -> bool:
        """Whether every caller may read ``project`` (so its answers may be cached publicly)."""
        return self.policy().is_public(project)

    @property
    def reads_are_public(self) -> bool:
        """Whether every project is readable by everyone (every read answer is shareable)."""
        policy = self.policy()
        return policy.can_by_default(ANONYMOUS, READ) and not policy.hidden_from_anonymous()

    def require_read(self, identity: Identity, project: str, hidden: NotFound) -> None:
        """:raises NotFound | Unauthorized | Forbidden: as for a project that does not exist."""
        policy = self.policy()
        if policy.can(identity, READ, project):
            return
        status = policy.read_denial(identity, project)
        if status == 404:
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
        if identity.token is not None:
            raise Forbidden(f"An API token cannot {action}: log in with a password")
        Access.require(identity, identity.is_admin, action)

    @staticmethod
    def require_password(identity: Identity, action: str) -> None:
        """A logged-in user, with a password rather than an API token."""
        if identity.token is not None:
            raise Forbidden(f"An API token cannot {action}: log in with a password")
        Access.require(identity, identity.authenticated, action)
