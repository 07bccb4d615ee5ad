"""Account management for the web UI and the JSON token API: API tokens, and (admins) users,
groups and project permissions.

Each method checks the caller first (``Permissions``), then does the change through
``registry.access`` (the same functions the command line uses), so the rules on names,
passwords, config-file entries and token scopes are the ones the CLI applies. Two refusals
are added for the browser: an admin cannot remove their own admin rights or account here,
so nobody locks the last admin out by a misclick.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from ..access import AccessStore, Identity, Permissions
from ..access import manage as access_manage
from ..access import tokens as access_tokens
from ..access.models import Group, Rule, Token, User, check_name
from ..errors import Forbidden, InvalidRequest


class Accounts:
    """Tokens for signed-in users; users, groups and permissions for admins."""

    def __init__(self, store: AccessStore) -> None:
        self.store = store

    # -- API tokens: the caller's own, or (admins) anyone's -------------------------------

    @staticmethod
    def _owner(caller: Identity, wanted: str | None = None) -> str:
        """The user a token request acts for: the caller, or (admins only) the one named.

        :raises Forbidden: a token login (a leaked token must not mint or list tokens), or a
            non-admin naming another user.
        """
        Permissions.require_password(caller, "manage API tokens")
        if wanted is None or wanted == caller.username:
            return str(caller.username)
        if not caller.is_admin:
            raise Forbidden("Only admins may manage other users' API tokens")
        return wanted

    def tokens(self, caller: Identity, user: str | None = None, *, everyone: bool = False) -> list[Token]:
        """Tokens of the caller (or ``user``; every user's with ``everyone``, admins only),
        oldest first, never their secrets."""
        if everyone:
            Permissions.require_password(caller, "manage API tokens")
            Permissions.require_admin(caller, "list every user's API tokens")
            return access_tokens.list_tokens(self.store, None)
        return access_tokens.list_tokens(self.store, self._owner(caller, user))

    def create_token(
        self,
        caller: Identity,
        *,
        permissions: Iterable[str],
        projects: Iterable[str],
        expires: str | None,
        description: str,
        user: str | None = None,
    ) -> tuple[Token, str]:
        """A new token of the caller's (or, for an admin, ``user``'s) and its secret (shown once).

        :raises InvalidRequest: a bad scope, expiry or description.
        """
        owner = self._owner(caller, user)
        return access_tokens.create_token(
            self.store,
            owner,
            permissions=permissions,
            projects=projects,
            expires=access_tokens.parse_expiry(expires, datetime.now(UTC)),
            description=description,
        )

    def revoke_token(self, caller: Identity, token_id: str, *, any_owner: bool = False) -> Token:
        """Revoke one of the caller's tokens (any user's with ``any_owner``, admins only).

        :raises NotFound: no such token (of the caller's).
        """
        owner = self._owner(caller)
        if any_owner and caller.is_admin:
            return access_tokens.revoke_token(self.store, token_id, None)
        return access_tokens.revoke_token(self.store, token_id, owner)

    # -- users (admins) ------------------------------------------------------------------

    @staticmethod
    def _admin(caller: Identity) -> None:
        Permissions.require_admin(caller, "manage users, groups and permissions")

    def users(self, caller: Identity) -> list[tuple[User, bool]]:
        """Every user with whether they are an admin, by name."""
        self._admin(caller)
        users = sorted(self.store.directory(fresh=True).users.values(), key=lambda user: user.name)
        return [(user, access_manage.is_admin(self.store, user)) for user in users]

    def user(self, caller: Identity, name: str) -> User:
        """:raises NotFound: no such user."""
        self._admin(caller)
        return access_manage.get_user(self.store, name)

    def add_user(self, caller: Identity, name: str, password: str, *, admin: bool) -> User:
        self._admin(caller)
        return access_manage.add_user(self.store, name, password, admin=admin)

    def set_password(self, caller: Identity, name: str, password: str) -> User:
        self._admin(caller)
        return access_manage.set_password(self.store, name, password)

    def set_admin(self, caller: Identity, name: str, admin: bool) -> User:
        self._admin(caller)
        if not admin and check_name(name) == caller.username:
            raise InvalidRequest("You cannot remove your own admin rights: ask another admin")
        return access_manage.set_admin(self.store, name, admin)

    def remove_user(self, caller: Identity, name: str) -> int:
        """Delete a user and their tokens, memberships and permissions; how many tokens."""
        self._admin(caller)
        if check_name(name) == caller.username:
            raise InvalidRequest("You cannot delete your own account: ask another admin")
        return access_manage.remove_user(self.store, name)

    # -- groups and project permissions (admins) -----------------------------------------

    def groups(self, caller: Identity) -> list[Group]:
        self._admin(caller)
        return sorted(self.store.directory(fresh=True).groups.values(), key=lambda group: group.name)

    def add_members(self, caller: Identity, group: str, members: list[str]) -> Group:
        self._admin(caller)
        if not members:
            raise InvalidRequest("Name at least one user to add to the group")
        return access_manage.add_members(self.store, group, members)

    def remove_members(self, caller: Identity, group: str, members: list[str]) -> Group | None:
        """Remove members, or the whole group when ``members`` is empty."""
        self._admin(caller)
        return access_manage.remove_members(self.store, group, members)

    def rules(self, caller: Identity) -> list[Rule]:
        self._admin(caller)
        return access_manage.list_rules(self.store)

    def set_rule(self, caller: Identity, project: str, principal: str, permission: str) -> Rule:
        self._admin(caller)
        return access_manage.set_rule(self.store, project, principal, permission)

    def remove_rule(self, caller: Identity, project: str, principal: str) -> None:
        self._admin(caller)
        access_manage.remove_rule(self.store, project, principal)
