"""The registry's own exception tree.

Backends and services raise these; ``registry.web.errors`` is the one place that turns them into
HTTP status codes and messages. Vendor errors (sqlite3, google.api_core) are translated at the
backend's edge with ``raise ... from exc`` so nothing above a backend sees them.
"""

from __future__ import annotations


class RegistryError(Exception):
    """Base class: ``message`` is safe to show to a client."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(RegistryError):
    """A setting is missing or has a value the registry cannot use."""


class InvalidRequest(RegistryError):
    """The request is malformed or carries data that fails validation."""


class InvalidUpload(InvalidRequest):
    """An uploaded distribution failed one of the upload checks."""


class FileExists(RegistryError):
    """A different file is already stored under this filename."""


class TooLarge(RegistryError):
    """The request body or file is larger than the configured maximum."""


class NotSupported(RegistryError):
    """The configured backend cannot do this (large-file uploads on local file storage)."""


class NotFound(RegistryError):
    """The project, release or file does not exist (or is hidden from the caller)."""


class AlreadyExists(RegistryError):
    """A create-only write found an existing object or record (backend level)."""


class Claimed(RegistryError):
    """A create-only claim (``registry.cache.claims``) is held by another owner (backend level)."""

    def __init__(self, key: str, owner: str) -> None:
        super().__init__(f"{key} is held by {owner}")
        self.key = key
        self.owner = owner


class ReadOnly(RegistryError):
    """The data cannot be changed here (users defined in the config file, say)."""


class NotAcceptable(RegistryError):
    """No representation matches the client's ``Accept`` header or ``format`` parameter."""


class Unauthorized(RegistryError):
    """Credentials are missing or wrong: the client should authenticate."""


class Forbidden(RegistryError):
    """The caller is authenticated but not allowed to do this."""


class HeldBack(Forbidden):
    """An upstream file is held back by the release cooldown (``pypi.fallback_min_age``): 403,
    a refusal by policy that says when the file becomes available (never a 404, which a cache
    may keep by heuristic and which would hide the reason)."""


class TooManyRequests(RegistryError):
    """Too many failed attempts; the client should wait ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BackendUnavailable(RegistryError):
    """A storage or metadata backend failed or could not be reached."""


class UpstreamError(RegistryError):
    """The upstream index failed or answered something unusable."""


class UpstreamTimeout(UpstreamError):
    """The upstream index did not answer within the configured timeout."""
