"""The records the registry stores about files, shared by every backend.

A ``FileRecord`` is everything the index pages and the JSON API need about one distribution
file, so serving a page never touches the package files themselves. ``to_dict``/``from_dict``
give the JSON-safe form backends persist (in SQLite, Firestore, and on the stored object so the
metadata can be rebuilt from storage alone).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

# Core-metadata fields kept on each record for the JSON API (description is left out: it can
# be large and no installer reads it from there).
INFO_FIELDS = (
    "name",
    "version",
    "summary",
    "requires_dist",
    "requires_python",
    "author",
    "author_email",
    "maintainer",
    "maintainer_email",
    "license",
    "license_expression",
    "home_page",
    "download_url",
    "project_urls",
    "classifiers",
    "keywords",
    "platform",
    "provides_extra",
    "description_content_type",
    "metadata_version",
)


def utcnow() -> datetime:
    return datetime.now(UTC)


def format_time(moment: datetime) -> str:
    """ISO 8601 in UTC with microseconds and a ``Z``, as PEP 700 and the JSON API show it.

    Written for speed (``isoformat`` is twice as fast as ``strftime``): a big upstream page
    formats one per file."""
    utc = moment if moment.tzinfo is UTC else moment.astimezone(UTC)
    return utc.isoformat(timespec="microseconds")[:-6] + "Z"


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


#: What a file's URL and storage key get appended for its PEP 658 core metadata file.
METADATA_SUFFIX = ".metadata"


def file_key(project: NormalizedName, filename: str) -> str:
    """Where a file lives in Storage: ``<canonical project>/<filename>``."""
    return f"{project}/{filename}"


def metadata_key(project: NormalizedName, filename: str) -> str:
    """Where a wheel's core metadata (PEP 658) lives in Storage, beside the file."""
    return file_key(project, filename) + METADATA_SUFFIX


def file_url_path(project: NormalizedName, sha256: str, filename: str) -> str:
    """A file's stable URL path: the hash part changes if the bytes ever do."""
    return f"/packages/{project}/{sha256[:16]}/{filename}"


def version_sort_key(version: str) -> tuple[int, Version | str]:
    """Sort valid versions by PEP 440 and anything else after them as text."""
    try:
        return (0, Version(version))
    except InvalidVersion:
        return (1, version)


@dataclass(frozen=True)
class FileRecord:
    """One distribution file and its metadata."""

    project: NormalizedName
    version: str
    filename: str
    packagetype: str  # "bdist_wheel" or "sdist"
    size: int
    sha256: str
    md5: str = ""
    blake2b_256: str = ""
    requires_python: str = ""
    upload_time: datetime = field(default_factory=utcnow)
    uploader: str = ""
    yanked: bool = False
    yanked_reason: str = ""
    metadata_sha256: str = ""  # sha256 of the core metadata file stored beside it, if any
    python_version: str = ""  # "source" for sdists, the wheel's python tag otherwise
    info: dict[str, Any] = field(default_factory=dict)  # INFO_FIELDS from core metadata
    origin: str = ""  # "" for uploads; the upstream URL for files cached from upstream
    upstream: str = ""  # the name of the upstream a cached file came from (pypi.upstreams)

    def __post_init__(self) -> None:
        if self.project != canonicalize_name(self.project):
            raise ValueError(f"project must be canonical, got {self.project!r}")

    @property
    def display_name(self) -> str:
        return str(self.info.get("name") or self.project)

    @property
    def key(self) -> str:
        return file_key(self.project, self.filename)

    @property
    def metadata_key(self) -> str:
        return metadata_key(self.project, self.filename)

    @property
    def url_path(self) -> str:
        """The file's stable URL path (``file_url_path``)."""
        return file_url_path(self.project, self.sha256, self.filename)

    def with_changes(self, **changes: Any) -> FileRecord:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (built by hand: ``dataclasses.asdict`` deep-copies, slowly)."""
        data = {f.name: getattr(self, f.name) for f in _FIELDS}
        data["upload_time"] = format_time(self.upload_time)
        data["info"] = dict(self.info)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FileRecord:
        values = {key: value for key, value in data.items() if key in _FIELD_NAMES}
        values["upload_time"] = parse_time(str(values["upload_time"]))
        values["info"] = dict(values.get("info") or {})
        return cls(**values)


_FIELDS = dataclasses.fields(FileRecord)
_FIELD_NAMES = frozenset(f.name for f in _FIELDS)


@dataclass(frozen=True)
class ProjectSummary:
    """A project as listed on ``/simple/``."""

    name: NormalizedName
    display_name: str
    serial: int
