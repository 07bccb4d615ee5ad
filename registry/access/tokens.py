"""API tokens: made, shown once, stored as a digest, listed and revoked.

A token is ``pyreg_<id>_<secret>``: the id (12 hex digits) is public and names the token in
listings, logs and revocations; the secret is 32 random bytes. Only the SHA-256 of the whole
token is stored. A slow password hash is not needed here, and would cost ~10 ms per request:
slow hashing protects *guessable* secrets, while a 256-bit random secret cannot be guessed or
brute-forced from its digest, so a leaked database still yields no usable token.

Tokens live in the Cache (kind ``token``) whatever ``pypi.auth`` says, so they can be made and
revoked at run time even when users come from the config file.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from ..errors import InvalidRequest, NotFound
from ..models import parse_time
from .models import TOKEN_PERMISSIONS, Token, check_project
from .store import AccessStore

PREFIX = "pyreg_"
MAX_DESCRIPTION = 200
_DURATION = re.compile(r"(\d+)\s*([mhdw])")
_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def token_digest(secret: str) -> str:
    """The stored form of a token (domain-separated SHA-256)."""
    return hashlib.sha256(b"registry-api-token\0" + secret.encode("utf-8", "surrogatepass")).hexdigest()


def parse_expiry(text: str | None, now: datetime) -> datetime | None:
    """``30d``, ``12h``, ``2w``, ``90m``, an ISO date or time (UTC), or ``never``/empty.

    >>> from datetime import datetime, UTC
    >>> parse_expiry("2d", datetime(2030, 1, 1, tzinfo=UTC)).isoformat()
    '2030-01-03T00:00:00+00:00'

    :raises InvalidRequest: anything else, or a moment already past.
    """
    cleaned = (text or "").strip().lower()
    if cleaned in ("", "never"):
        return None
    if match := _DURATION.fullmatch(cleaned):
        moment = now + timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])
    else:
        try:
            moment = parse_time(text or "")
        except ValueError:
            raise InvalidRequest(
                f"Invalid expiry {text!r}: use a duration (90m, 12h, 30d, 2w), an ISO date, or never"
            ) from None
    if moment <= now:
        raise InvalidRequest(f"Invalid expiry {text!r}: it is already past")
    return moment.replace(microsecond=0)


def check_scope(
    permissions: Iterable[str], projects: Iterable[str]
) -> tuple[frozenset[str], tuple[str, ...]]:
    """Validated token permissions and canonical project names.

    :raises InvalidRequest: an unknown or missing permission, or an invalid project name.
    """
    wanted = frozenset(str(name).strip().lower() for name in permissions)
    if not wanted:
        raise InvalidRequest("A token needs at least one permission: read, upload")
    unknown = sorted(wanted - set(TOKEN_PERMISSIONS))
    if unknown:
        raise InvalidRequest(f"Invalid token permission {unknown[0]!r}: use read and/or upload")
    return wanted, tuple(sorted({check_project(str(project)) for project in projects}))


def create_token(
    store: AccessStore,
    owner: str,
    *,
    permissions: Iterable[str] = ("read",),
    projects: Iterable[str] = (),
    expires: datetime | None = None,
    description: str = "",
) -> tuple[Token, str]:
    """Make a token for ``owner``; returns it and the secret, which is never stored or shown again.

    :raises NotFound: no such user.
    :raises InvalidRequest: a bad scope or description.
    """
    owner = owner.lower()
    if owner not in store.directory(fresh=True).users:
        raise NotFound(f"User {owner!r} not found")
    if len(description) > MAX_DESCRIPTION:
        raise InvalidRequest(f"The description is too long ({MAX_DESCRIPTION} characters at most)")
    wanted, scope = check_scope(permissions, projects)
    token_id = secrets.token_hex(6)
    secret = f"{PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
    token = Token(
        id=token_id,
        owner=owner,
        digest=token_digest(secret),
        permissions=wanted,
        projects=scope,
        created=datetime.now(UTC).replace(microsecond=0),
        expires=expires,
        description=description,
    )
    store.put_token(token, create_only=True)
    return token, secret


def list_tokens(store: AccessStore, owner: str | None = None) -> list[Token]:
    """Every token, or those of ``owner``, oldest first."""
    tokens = store.load_tokens()
    chosen = [token for token in tokens if owner is None or token.owner == owner.lower()]
    return sorted(chosen, key=lambda token: (token.created, token.id))


def revoke_token(store: AccessStore, token_id: str, owner: str | None = None) -> Token:
    """Delete a token (only one of ``owner``'s, when given).

    :raises NotFound: no such token (or not ``owner``'s: the same answer, so ids do not leak).
    """
    found = {token.id: token for token in store.load_tokens()}
    token = found.get(token_id.strip().lower())
    if token is None or (owner is not None and token.owner != owner.lower()):
        raise NotFound(f"Token {token_id!r} not found")
    store.delete_token(token.id)
    return token


def revoke_user_tokens(store: AccessStore, owner: str) -> int:
    """Delete every token of ``owner`` (when the user is removed); how many there were."""
    count = 0
    for token in list_tokens(store, owner):
        count += store.delete_token(token.id)
    return count
