"""Helpers for the access-control tests: users, tokens and seeded live servers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from registry.access import AccessStore as Access
from registry.access import manage as users
from registry.access.models import Token
from registry.access.tokens import PREFIX, create_token, token_digest
from registry.config import load_config
from tests.backends import Backends as Services
from tests.server import RegistryServer, base_settings

READER = ("reader", "reader-secret-pw")
UPLOADER = ("uploader", "uploader-secret-pw")


def local_services(tmp: Path, **settings: str) -> Services:
    """Services on local backends in ``tmp``, from ``settings`` only (not the environment)."""
    raw = {"db.path": str(tmp / "registry.sqlite3"), "storage.dir": str(tmp / "packages")}
    raw.update(settings)
    return Services.from_config(load_config(environ={}, overrides=raw))


def expired_token(access: Access, owner: str) -> str:
    """A token for ``owner`` (read and upload, any project) that expired a minute ago."""
    secret = f"{PREFIX}ffffffffffff_expired-{owner}"
    now = datetime.now(UTC).replace(microsecond=0)
    token = Token(
        id="ffffffffffff",
        owner=owner,
        digest=token_digest(secret),
        permissions=frozenset({"read", "upload"}),
        created=now - timedelta(days=2),
        expires=now - timedelta(minutes=1),
    )
    access.put_token(token)
    return secret


def seeded_server(
    tmp: Path, settings: Mapping[str, str], backend: Mapping[str, str] | None = None, **options: Any
) -> tuple[RegistryServer, dict[str, str]]:
    """A started server with READER and UPLOADER (in group ``uploaders``) in its database, and
    two tokens of UPLOADER: ``other`` (read+upload on project ``other`` only) and ``expired``.
    ``backend``: settings from the ``backend_settings`` fixture (local, or GCS + Firestore);
    ``options`` go to ``RegistryServer`` (``workers``, ``extra_args``).
    """
    merged = base_settings(tmp / "data")
    merged.update(backend or {})
    merged.update(settings)
    server = RegistryServer(settings=merged, log_dir=tmp / "logs", **options)
    access = server.services().access
    for name, password in (READER, UPLOADER):
        users.add_user(access, name, password)
    users.add_members(access, "uploaders", [UPLOADER[0]])
    _, other = create_token(access, UPLOADER[0], permissions=("read", "upload"), projects=("other",))
    tokens = {"other": other, "expired": expired_token(access, UPLOADER[0])}
    access.documents.close()  # type: ignore[attr-defined]
    return server.start(), tokens
