"""Signing in to Azure Blob Storage with a managed identity (``storage.managed_identity``).

With an identity there is no account key: requests carry a Microsoft Entra token that
``azure-identity`` fetches from the platform (Container Apps and App Service answer on
``$IDENTITY_ENDPOINT``), so the identity needs only a data-plane role on the one container. SAS
download URLs are then *user delegation* SAS: signed with a key that the service hands out to
that identity for a limited time, fetched here once and renewed before it ends. Kept apart from
``azure_blob.py`` because ``azure-identity`` is needed only on this path.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError

if TYPE_CHECKING:
    from azure.storage.blob import BlobServiceClient, UserDelegationKey

#: How long a fetched delegation key is asked to last (the service allows up to 7 days).
KEY_LIFETIME = timedelta(hours=6)
#: Clock skew allowed for: a key starts this much before now.
SKEW = timedelta(minutes=5)


def identity_credential(identity: str) -> Any:
    """The token credential of ``system`` or of the user-assigned identity with that client id.

    :raises ConfigError: ``azure-identity`` is not installed.
    """
    try:
        from azure.identity import ManagedIdentityCredential
    except ImportError as exc:
        raise ConfigError(
            f"storage.managed_identity needs azure-identity, which is not installed ({exc}): "
            "pip install -r requirements-azure.txt"
        ) from exc
    return ManagedIdentityCredential(client_id=None if identity == "system" else identity)


class DelegationKeys:
    """The current user delegation key of one identity, renewed when a SAS would outlive it."""

    def __init__(self, service: BlobServiceClient) -> None:
        self._service = service
        self._key: UserDelegationKey | None = None
        self._until = datetime.min.replace(tzinfo=UTC)
        self._lock = threading.Lock()

    def valid_until(self, expiry: datetime) -> UserDelegationKey:
        """A key valid at least until ``expiry`` (one service call when the cached one is not).

        :raises azure.core.exceptions.AzureError: the service refused or failed (the caller
            translates it).
        """
        with self._lock:
            if self._key is None or self._until < expiry:
                now = datetime.now(UTC)
                until = max(now + KEY_LIFETIME, expiry + SKEW)
                self._key = self._service.get_user_delegation_key(now - SKEW, until)
                self._until = until
            return self._key
