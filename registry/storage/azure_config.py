"""The settings of the ``azure-blob`` storage, with pypicloud's key names.

As in pypicloud, the account's name, key and URL may also come from the variables the Azure
tools use (``AZURE_STORAGE_ACCOUNT``, ``AZURE_STORAGE_KEY``, ``AZURE_STORAGE_SERVICE_ENDPOINT``),
and a whole connection string from ``AZURE_STORAGE_CONNECTION_STRING``; settings win. Kept
apart from ``azure_blob.py`` so that the settings table and config checks need no Azure library.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..config import Config, Setting, parse_text
from ..errors import ConfigError
from .options import EXPIRE_AFTER, PREFIX, REDIRECT_SECONDS, REDIRECT_URLS, redirect_seconds


def parse_service_url(value: str) -> str:
    """An http(s) URL, possibly with a path (Azurite's names the account), or empty.

    >>> parse_service_url("http://127.0.0.1:10000/devstoreaccount1/")
    'http://127.0.0.1:10000/devstoreaccount1'
    """
    url = value.strip().rstrip("/")
    parts = urlsplit(url)
    if url and (parts.scheme not in ("http", "https") or not parts.hostname or parts.query):
        raise ValueError("expected an http:// or https:// URL such as https://ACCOUNT.blob.core.windows.net")
    return url


_CONTAINER = re.compile(r"[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]")

ACCOUNT_NAME = Setting(
    "storage.storage_account_name",
    "",
    parse_text,
    "`azure-blob` storage: the storage account (empty: `$AZURE_STORAGE_ACCOUNT`).",
)
ACCOUNT_KEY = Setting(
    "storage.storage_account_key",
    "",
    parse_text,
    "`azure-blob` storage: the account's access key (empty: `$AZURE_STORAGE_KEY`).",
    secret=True,
)
ACCOUNT_URL = Setting(
    "storage.storage_account_url",
    "",
    parse_service_url,
    "`azure-blob` storage: the Blob service URL (empty: `$AZURE_STORAGE_SERVICE_ENDPOINT`, else "
    "`https://<account>.blob.core.windows.net`).",
)
CONTAINER = Setting(
    "storage.storage_container_name", "", parse_text, "`azure-blob` storage: the container (required)."
)
CONNECTION_STRING = Setting(
    "storage.storage_connection_string",
    "",
    parse_text,
    "`azure-blob` storage: a connection string, instead of account name, key and URL (empty: "
    "`$AZURE_STORAGE_CONNECTION_STRING`).",
    secret=True,
)
MANAGED_IDENTITY = Setting(
    "storage.managed_identity",
    "",
    parse_text,
    "`azure-blob` storage: sign in with the platform's managed identity instead of an account key: "
    "`system` (system-assigned), or the client id of a user-assigned identity (empty: the key).",
)


def setting_declarations() -> tuple[Setting, ...]:
    return (
        ACCOUNT_NAME,
        ACCOUNT_KEY,
        ACCOUNT_URL,
        CONTAINER,
        CONNECTION_STRING,
        PREFIX,
        REDIRECT_URLS,
        REDIRECT_SECONDS,
        EXPIRE_AFTER,
        MANAGED_IDENTITY,
    )


@dataclass(frozen=True)
class AzureSettings:
    """Validated ``azure-blob`` settings: an account URL, name and key, or a connection string,
    or an account URL and name with a managed identity (``system`` or a client id)."""

    container: str
    account_name: str = ""
    account_key: str = ""
    account_url: str = ""
    connection_string: str = ""
    prefix: str = ""
    redirect_urls: bool = False
    redirect_seconds: int = 300
    managed_identity: str = ""


def _value(config: Config, setting: Setting, variable: str, environ: Mapping[str, str]) -> str:
    value: str = config.get_setting(setting)
    return value or environ.get(variable, "").strip()


def settings_from_config(config: Config, environ: Mapping[str, str] = os.environ) -> AzureSettings:
    """:raises ConfigError: the container or the credentials are missing or invalid."""
    container = config.get_setting(CONTAINER)
    if not container:
        raise ConfigError(
            "storage.storage_container_name is required when pypi.storage = azure-blob: name the container"
        )
    if not _CONTAINER.fullmatch(container):
        raise ConfigError(f"storage.storage_container_name = {container!r} is not a valid container name")
    connection = _value(config, CONNECTION_STRING, "AZURE_STORAGE_CONNECTION_STRING", environ)
    parts = connection_parts(connection) if connection else {}
    name = parts.get("AccountName") or _value(config, ACCOUNT_NAME, "AZURE_STORAGE_ACCOUNT", environ)
    key = parts.get("AccountKey") or _value(config, ACCOUNT_KEY, "AZURE_STORAGE_KEY", environ)
    identity = config.get_setting(MANAGED_IDENTITY).strip()
    _check_credentials(name, key, connection, identity)
    redirect = config.get_setting(REDIRECT_URLS)
    if redirect and not (name and (key or identity)):
        raise ConfigError(
            "storage.redirect_urls = true needs the account key to sign SAS URLs: the connection "
            "string has no AccountName and AccountKey"
        )
    url = _value(config, ACCOUNT_URL, "AZURE_STORAGE_SERVICE_ENDPOINT", environ).rstrip("/")
    return AzureSettings(
        container=container,
        account_name=name,
        account_key=key,
        account_url=url or (f"https://{name}.blob.core.windows.net" if name else ""),
        connection_string=connection,
        prefix=config.get_setting(PREFIX),
        redirect_urls=redirect,
        redirect_seconds=redirect_seconds(config),
        managed_identity=identity,
    )


def _check_credentials(name: str, key: str, connection: str, identity: str) -> None:
    """:raises ConfigError: no way to sign in, or a key and a managed identity both."""
    if identity and (key or connection):
        raise ConfigError(
            "storage.managed_identity replaces the account key: remove storage.storage_account_key "
            "and storage.storage_connection_string (and $AZURE_STORAGE_KEY, "
            "$AZURE_STORAGE_CONNECTION_STRING)"
        )
    if identity and not name:
        raise ConfigError("storage.managed_identity needs storage.storage_account_name (SAS URLs name it)")
    if not identity and not connection and not (name and key):
        raise ConfigError(
            "azure-blob storage needs storage.storage_account_name and storage.storage_account_key, "
            "or storage.storage_connection_string, or storage.managed_identity"
        )


def connection_parts(connection: str) -> dict[str, str]:
    """``Name=value;...`` pairs of a connection string (a key's ``=`` padding stays in the value).

    :raises ConfigError: a part is not ``Name=value``.
    """
    parts: dict[str, str] = {}
    for item in filter(None, (piece.strip() for piece in connection.split(";"))):
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ConfigError("storage.storage_connection_string is not valid: expected Name=value;... parts")
        parts[name] = value
    return parts
