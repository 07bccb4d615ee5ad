"""The settings of the ``s3`` storage, with pypicloud's key names where it has them.

Kept apart from ``s3.py`` so that the settings table (``make docs``) and config checks need
no boto3.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..config import Config, Setting, choice, parse_text
from ..errors import ConfigError
from .options import BUCKET, EXPIRE_AFTER, PREFIX, REDIRECT_SECONDS, REDIRECT_URLS, redirect_seconds

# S3's rules, loosened for S3-compatible stores (upper case and "_" in legacy bucket names).
_BUCKET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]")


def parse_endpoint(value: str) -> str:
    """An http(s) URL without a path, or empty for AWS itself.

    >>> parse_endpoint("http://127.0.0.1:9000/")
    'http://127.0.0.1:9000'
    """
    url = value.strip().rstrip("/")
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query:
        raise ValueError("expected an http:// or https:// URL such as https://s3.example.com")
    return url


REGION = Setting(
    "storage.region_name",
    "",
    parse_text,
    "`s3` storage: the bucket's AWS region, e.g. `eu-west-1` (empty: boto3's own, from "
    "`AWS_REGION`/`AWS_DEFAULT_REGION` or the profile).",
)
ENDPOINT = Setting(
    "storage.endpoint_url",
    "",
    parse_endpoint,
    "`s3` storage: the URL of an S3-compatible store (MinIO, Ceph, R2 ...); empty: AWS S3.",
)
ACCESS_KEY_ID = Setting(
    "storage.aws_access_key_id",
    "",
    parse_text,
    "`s3` storage: access key id (empty: boto3's credential chain: `AWS_ACCESS_KEY_ID`, "
    "profile, instance or task role).",
)
SECRET_ACCESS_KEY = Setting(
    "storage.aws_secret_access_key", "", parse_text, "`s3` storage: the secret access key.", secret=True
)
SESSION_TOKEN = Setting(
    "storage.aws_session_token",
    "",
    parse_text,
    "`s3` storage: a session token, with temporary credentials.",
    secret=True,
)
OLD_ACCESS_KEY = Setting(
    "storage.access_key", "", parse_text, "`s3` storage: older pypicloud name of `storage.aws_access_key_id`."
)
OLD_SECRET_KEY = Setting(
    "storage.secret_key",
    "",
    parse_text,
    "`s3` storage: older pypicloud name of `storage.aws_secret_access_key`.",
    secret=True,
)
ADDRESSING = Setting(
    "storage.addressing_style",
    "auto",
    choice("auto", "path", "virtual"),
    "`s3` storage: `path` for S3-compatible stores that do not serve buckets as host names.",
)


def setting_declarations() -> tuple[Setting, ...]:
    return (
        BUCKET,
        PREFIX,
        REGION,
        ENDPOINT,
        ACCESS_KEY_ID,
        SECRET_ACCESS_KEY,
        SESSION_TOKEN,
        OLD_ACCESS_KEY,
        OLD_SECRET_KEY,
        ADDRESSING,
        REDIRECT_URLS,
        REDIRECT_SECONDS,
        EXPIRE_AFTER,
    )


@dataclass(frozen=True)
class S3Settings:
    """Validated ``s3`` settings."""

    bucket: str
    prefix: str = ""
    region_name: str = ""
    endpoint_url: str = ""
    access_key_id: str = ""
    secret_access_key: str = ""
    session_token: str = ""
    addressing_style: str = "auto"
    redirect_urls: bool = False
    redirect_seconds: int = 300


def settings_from_config(config: Config) -> S3Settings:
    """:raises ConfigError: the bucket is missing or invalid, or a key pair is incomplete."""
    bucket = config.get_setting(BUCKET)
    if not bucket:
        raise ConfigError("storage.bucket is required when pypi.storage = s3: name the bucket")
    if not _BUCKET.fullmatch(bucket):
        raise ConfigError(f"storage.bucket = {bucket!r} is not a valid bucket name")
    key_id = config.get_setting(ACCESS_KEY_ID) or config.get_setting(OLD_ACCESS_KEY)
    secret = config.get_setting(SECRET_ACCESS_KEY) or config.get_setting(OLD_SECRET_KEY)
    if bool(key_id) != bool(secret):
        raise ConfigError(
            "storage.aws_access_key_id and storage.aws_secret_access_key go together: set both, "
            "or neither to use boto3's credential chain"
        )
    return S3Settings(
        bucket=bucket,
        prefix=config.get_setting(PREFIX),
        region_name=config.get_setting(REGION),
        endpoint_url=config.get_setting(ENDPOINT),
        access_key_id=key_id,
        secret_access_key=secret,
        session_token=config.get_setting(SESSION_TOKEN),
        addressing_style=config.get_setting(ADDRESSING),
        redirect_urls=config.get_setting(REDIRECT_URLS),
        redirect_seconds=redirect_seconds(config),
    )
