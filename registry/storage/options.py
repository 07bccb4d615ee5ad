"""Settings the object-store backends (``gcs``, ``s3``, ``azure-blob``) share, declared once so
the settings table lists each key once with every backend that reads it."""

from __future__ import annotations

from ..config import Config, Setting, parse_bool, parse_int, parse_text
from ..errors import ConfigError


def parse_prefix(value: str) -> str:
    """An object name prefix: no leading slash, ending in one when not empty.

    >>> parse_prefix("registry"), parse_prefix("")
    ('registry/', '')
    """
    text = value.strip()
    if text.startswith("/"):
        raise ValueError("must not start with '/'")
    return text if not text or text.endswith("/") else text + "/"


def parse_optional_int(value: str) -> int | None:
    """A number >= 0, or None when empty."""
    return parse_int(value) if value.strip() else None


BUCKET = Setting("storage.bucket", "", parse_text, "`gcs`, `s3` storage: the bucket (required).")
PREFIX = Setting(
    "storage.prefix",
    "",
    parse_prefix,
    "`gcs`, `s3`, `azure-blob` storage: a folder for every object name, so registries can share "
    "a bucket or container.",
)
REDIRECT_URLS = Setting(
    "storage.redirect_urls",
    "false",
    parse_bool,
    "`gcs`, `s3`, `azure-blob` storage: answer downloads with a redirect to a short-lived signed "
    "URL (GCS signed, S3 presigned, Azure SAS) instead of streaming through the app (index pages "
    "still link the app's stable URLs).",
)
REDIRECT_SECONDS = Setting(
    "storage.redirect_seconds",
    "300",
    parse_int,
    "`gcs`, `s3`, `azure-blob` storage: how long a signed download URL stays valid.",
)
EXPIRE_AFTER = Setting(
    "storage.expire_after",
    "",
    parse_optional_int,
    "`s3`, `azure-blob` storage: pypicloud's name for `storage.redirect_seconds`, used when that is not set.",
)
MAX_REDIRECT_SECONDS = 7 * 24 * 3600  # the longest S3 presigned URL (SigV4) is valid


def redirect_seconds(config: Config) -> int:
    """``storage.redirect_seconds``, else pypicloud's ``storage.expire_after``, else the default.

    :raises ConfigError: the value is outside 1 .. 604800 (a week, S3's longest).
    """
    seconds: int = config.get_setting(REDIRECT_SECONDS)
    expire_after: int | None = config.get_setting(EXPIRE_AFTER)
    key = REDIRECT_SECONDS.key
    if expire_after is not None and REDIRECT_SECONDS.key not in config.raw:
        seconds, key = expire_after, EXPIRE_AFTER.key
    if not 1 <= seconds <= MAX_REDIRECT_SECONDS:
        raise ConfigError(f"{key} = {seconds} is not valid: use 1 to {MAX_REDIRECT_SECONDS}")
    return seconds
