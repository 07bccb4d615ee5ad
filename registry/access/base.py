"""The AccessBackend interface: where users, groups and project permissions come from.

A backend supplies the access data (``load``) and, if it can, stores changes to it. Everything
else is the same for every backend and lives beside it: ``AccessStore`` keeps a snapshot of
the data and writes through the backend, ``Authenticator`` checks passwords and tokens,
``Permissions`` answers what a caller may do. API tokens always live in the DocumentStore.

A backend implements ``load``; the write methods refuse by default (the data is read-only, as
with ``config``) and a backend that can store changes overrides them. ``verify_password`` may be
overridden by a backend that checks passwords elsewhere (LDAP, say).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from ..cache.documents import DocumentStore
from ..config import Config, Setting
from ..errors import ReadOnly
from . import passwords
from .models import AccessData, Group, Rule, User


class AccessBackend(ABC):
    """Users, groups and project rules. Subclasses register in ``registry.access.BACKENDS``."""

    #: Settings this backend reads, for validation and the docs.
    settings: ClassVar[tuple[Setting, ...]] = ()

    def __init__(self, config: Config, documents: DocumentStore) -> None:
        self.config = config
        self.documents = documents

    @classmethod
    def from_config(cls, config: Config, documents: DocumentStore) -> AccessBackend:
        """Build from settings, validating the access data in the config; connects nothing.

        :raises ConfigError: a ``user.*``, ``group.*`` or ``package.*`` line is invalid.
        """
        return cls(config, documents)

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
