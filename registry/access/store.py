"""The access data as the rest of the registry sees it: a snapshot, and writes that refresh it.

The snapshot (users, groups, rules and API tokens, with the permission ``Policy`` over them)
is re-read when the DocumentStore's ``docs_serial`` moves, checked at most every
``auth.refresh_seconds`` per process. Writes go through the backend (users, groups, rules) or
the DocumentStore (tokens), then invalidate the snapshot.
"""

from __future__ import annotations

import threading
import time

from ..cache.documents import DocumentStore
from ..errors import BackendUnavailable
from .base import AccessBackend
from .models import Directory, Group, Identity, Rule, Token, User
from .policy import Defaults, Policy


class AccessStore:
    """A refreshed snapshot of the access data, and the one way to change it."""

    def __init__(
        self,
        backend: AccessBackend,
        documents: DocumentStore,
        defaults: Defaults,
        *,
        admins: tuple[str, ...] = (),
        refresh_seconds: float = 1.0,
    ) -> None:
        self.backend = backend
        self.documents = documents
        self.defaults = defaults
        self.admins = admins
        self._refresh = refresh_seconds
        self._policy: Policy | None = None
        self._serial: int | None = None
        self._fresh_until = 0.0
        self._lock = threading.Lock()

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
            serial = self.documents.docs_serial()
            if current is None or serial != self._serial:
                current = Policy(Directory.build(self.backend.load(), self.load_tokens()), self.defaults)
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

    def identity(self, directory: Directory, user: User, token: Token | None = None) -> Identity:
        """Who ``user`` is (admin from the user or ``auth.admins``; groups; the token used)."""
        admin = user.admin or user.name in self.admins
        return Identity(user.name, admin, directory.memberships.get(user.name, frozenset()), token)

    def has_users(self) -> bool:
        return bool(self.directory().users)

    # -- tokens --------------------------------------------------------------------------

    def load_tokens(self) -> list[Token]:
        """Every API token, read from the DocumentStore now."""
        tokens = []
        for token_id, data in self.documents.list_docs("token").items():
            try:
                tokens.append(Token.from_doc(token_id, data))
            except (KeyError, TypeError, ValueError) as exc:
                raise BackendUnavailable(f"stored API token {token_id!r} is malformed: {exc}") from exc
        return tokens

    def put_token(self, token: Token, *, create_only: bool = False) -> None:
        self.documents.put_doc("token", token.id, token.to_doc(), create_only=create_only)
        self.invalidate()

    def delete_token(self, token_id: str) -> bool:
        existed = self.documents.delete_doc("token", token_id)
        self.invalidate()
        return existed

    # -- users, groups, rules (through the backend) --------------------------------------

    def save_user(self, user: User, *, create_only: bool = False) -> None:
        self.backend.save_user(user, create_only=create_only)
        self.invalidate()

    def delete_user(self, name: str) -> bool:
        existed = self.backend.delete_user(name)
        self.invalidate()
        return existed

    def save_group(self, group: Group) -> None:
        self.backend.save_group(group)
        self.invalidate()

    def delete_group(self, name: str) -> bool:
        existed = self.backend.delete_group(name)
        self.invalidate()
        return existed

    def save_rule(self, rule: Rule) -> None:
        self.backend.save_rule(rule)
        self.invalidate()

    def delete_rule(self, project: str, kind: str, name: str) -> bool:
        existed = self.backend.delete_rule(project, kind, name)
        self.invalidate()
        return existed
