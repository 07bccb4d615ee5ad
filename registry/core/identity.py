"""This database's identity: a random id stored in it once, never copied by ``migrate``.

Serials are unique within one database, but a new database (a deleted SQLite file, a fresh
Firestore) counts from the start again. Whatever is kept outside the database per serial (the
rendered pages a host's workers share on disk, ``web.shared_pages``) is kept under this id, so
pages of an old database are never served for a new one whose serials repeat.
"""

from __future__ import annotations

import secrets

from ..cache.documents import DocumentStore
from ..errors import BackendUnavailable

IDENTITY_KIND = "identity"
IDENTITY_KEY = "database"


def database_id(documents: DocumentStore) -> str:
    """The id stored in ``documents``, created by the first process that asks.

    :raises BackendUnavailable: it could not be read or stored.
    """
    found = documents.get_or_create_doc(IDENTITY_KIND, IDENTITY_KEY, {"id": secrets.token_hex(16)})
    if found is None or not isinstance(found.get("id"), str):
        raise BackendUnavailable("the database's identity could not be stored")
    return str(found["id"])
