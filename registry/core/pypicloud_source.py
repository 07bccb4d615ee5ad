"""Read a pypicloud 1.3 deployment: its files, their metadata, its cache database, its users.

pypicloud keeps each file with a little metadata (``summary``, ``requires_python``,
``hash_sha256``, ``hash_md5``, ``uploader``; S3 and Azure also ``name`` and ``version``):

- ``pypi.storage = file``: ``<storage.dir>/<name>/<version>/<filename>`` and a JSON file
  ``<filename>.meta`` beside it; the upload time is the file's mtime. Names starting with a
  dot are its temporary files.
- ``s3`` (and ``cloudfront``), ``gcs``, ``azure-blob``: objects
  ``<storage.prefix>[<md5(filename)[:4]>/]<name>/<filename>`` with the metadata on the
  object (S3 writes ``requires-python`` for ``requires_python``). Those are read through
  this registry's own Storage backend of the same kind, pointed at pypicloud's bucket and
  prefix: the settings keep pypicloud's names.

The cache database (``pypi.db = sql``: table ``packages`` with ``filename``, ``name``,
``version``, ``last_modified``, ``summary`` and JSON ``data``) holds the same metadata and the
real upload time; where it is readable it wins over the storage's copy.
"""

from __future__ import annotations

import importlib
import json
import os
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from ..config import build_config, read_ini
from ..errors import ConfigError
from ..storage import Storage, storage_class

#: pypicloud's metadata fields (``pypicloud.models.METADATA_FIELDS``).
FIELDS = ("requires_python", "summary", "hash_sha256", "hash_md5", "uploader")
#: pypicloud's storage names and the backend of this registry that reads the same bucket.
BUCKET_BACKENDS = {"s3": "s3", "cloudfront": "s3", "gcs": "gcs", "azure-blob": "azure-blob"}


@dataclass(frozen=True)
class SourceFile:
    """One file of the deployment: where it is, and what pypicloud knows about it."""

    name: str
    filename: str
    location: str  # a path on disk, or a key of the bucket backend
    meta: Mapping[str, str]  # FIELDS that pypicloud stored (empty ones left out)
    uploaded: datetime | None = None


def read_fields(blob: Mapping[str, Any]) -> dict[str, str]:
    """pypicloud's metadata from a mapping, in either spelling (``requires-python`` on S3)."""
    found: dict[str, str] = {}
    for name in FIELDS:
        value = blob.get(name) or blob.get(name.replace("_", "-"))
        if value:
            found[name] = str(value)
    return found


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class FileTree:
    """``pypi.storage = file``: the directory that ``storage.dir`` names."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def files(self) -> Iterator[SourceFile]:
        for root, _, names in sorted(os.walk(self.directory)):
            parts = Path(root).relative_to(self.directory).parts
            if len(parts) != 2:
                continue
            for filename in sorted(names):
                if filename.startswith(".") or filename.endswith(".meta"):
                    continue  # pypicloud's temporary files and metadata files
                path = Path(root, filename)
                yield SourceFile(parts[0], filename, str(path), self._meta(path), self._mtime(path))

    @staticmethod
    def _meta(path: Path) -> dict[str, str]:
        try:
            data = json.loads(Path(f"{path}.meta").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # pypicloud reads a missing or broken .meta as no metadata too
        return read_fields(data) if isinstance(data, dict) else {}

    @staticmethod
    def _mtime(path: Path) -> datetime:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC)

    def open(self, source: SourceFile) -> BinaryIO:
        return open(source.location, "rb")


class Bucket:
    """pypicloud's bucket (``s3``, ``cloudfront``, ``gcs``, ``azure-blob``), read by this
    registry's Storage backend of the same kind."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def files(self) -> Iterator[SourceFile]:
        for key in sorted(self.storage.list_keys()):
            parts = key.split("/")
            if len(parts) < 2 or parts[-1].startswith("."):
                continue
            meta = self.storage.get_meta(key)
            name = meta.get("name") or parts[-2]
            yield SourceFile(name, parts[-1], key, read_fields(meta))

    def open(self, source: SourceFile) -> BinaryIO:
        return self.storage.open(source.location).stream


def bucket_storage(settings: Mapping[str, str], kind: str, here: Path) -> Storage:
    """This registry's backend ``kind`` over pypicloud's bucket and prefix.

    Only the keys that backend declares are passed on (pypicloud has more: ``prepend_hash``,
    ``expire_after``...); the prefix is pypicloud's ``storage.prefix`` as it is.
    """
    backend = storage_class(kind)
    known = {setting.key for setting in getattr(backend, "settings", ())}
    raw = {key: value for key, value in settings.items() if key in known}
    raw["pypi.storage"] = kind
    return backend.from_config(build_config(raw, here=here))


def storage_source(settings: Mapping[str, str], here: Path) -> FileTree | Bucket:
    """The reader of the deployment's storage.

    :raises ConfigError: a storage kind this import cannot read, or no ``storage.dir``.
    """
    kind = settings.get("pypi.storage", "file").strip()
    if kind == "file":
        if not settings.get("storage.dir"):
            raise ConfigError("the pypicloud config has pypi.storage = file but no storage.dir")
        directory = (here / settings["storage.dir"].strip()).resolve()
        if not directory.is_dir():
            raise ConfigError(f"pypicloud's storage.dir {str(directory)!r} is not a directory")
        return FileTree(directory)
    if kind in BUCKET_BACKENDS:
        return Bucket(bucket_storage(settings, BUCKET_BACKENDS[kind], here))
    readable = ", ".join(("file", *BUCKET_BACKENDS))
    raise ConfigError(f"pypi.storage = {kind!r}: the import reads {readable} storage only")


@dataclass(frozen=True)
class CacheRow:
    """One row of pypicloud's ``packages`` table."""

    name: str
    uploaded: datetime | None
    meta: dict[str, str]


def _row(name: str, last_modified: Any, summary: Any, data: Any) -> CacheRow:
    blob = json.loads(data) if isinstance(data, str | bytes) else dict(data or {})
    if summary:
        blob["summary"] = summary
    if isinstance(last_modified, str):
        last_modified = datetime.fromisoformat(last_modified)
    uploaded = _as_utc(last_modified) if isinstance(last_modified, datetime) else None
    return CacheRow(str(name), uploaded, read_fields(blob))


QUERY = "SELECT filename, name, last_modified, summary, data FROM packages"


def read_cache_db(url: str, here: Path) -> dict[str, CacheRow]:
    """pypicloud's ``packages`` table by filename: SQLite with the standard library, any other
    ``db.url`` with SQLAlchemy (and the URL's driver) when it is installed.

    :raises ConfigError: the database cannot be read.
    """
    try:
        if url.startswith("sqlite:///"):
            path = here / url[len("sqlite:///") :]
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
                rows = db.execute(QUERY).fetchall()
        else:
            rows = _sqlalchemy_rows(url)
    except (sqlite3.Error, ImportError) as exc:
        raise ConfigError(f"pypicloud's cache database {url!r} cannot be read: {exc}") from exc
    return {str(filename): _row(*rest) for filename, *rest in rows}


def _sqlalchemy_rows(url: str) -> list[Any]:
    """The rows through SQLAlchemy (not a dependency of this registry: imported on demand)."""
    sqlalchemy: Any = importlib.import_module("sqlalchemy")
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(sqlalchemy.text(QUERY)))
    except sqlalchemy.exc.SQLAlchemyError as exc:
        raise ImportError(str(exc)) from exc
    finally:
        engine.dispose()


def merged(source: SourceFile, row: CacheRow | None) -> SourceFile:
    """The storage's view of a file with the cache database's on top (its upload time is exact)."""
    if row is None:
        return source
    return replace(source, meta={**source.meta, **row.meta}, uploaded=row.uploaded or source.uploaded)


@dataclass(frozen=True)
class Deployment:
    """A pypicloud deployment as its config file describes it."""

    path: Path
    settings: Mapping[str, str]

    @classmethod
    def from_ini(cls, path: str) -> Deployment:
        """:raises ConfigError: no such file, or no ``[app:main]`` section."""
        return cls(Path(path).resolve(), read_ini(path))

    @property
    def here(self) -> Path:
        return self.path.parent

    def cache_rows(self) -> dict[str, CacheRow]:
        """The cache database's rows, or none when pypicloud keeps no SQL cache."""
        url = self.settings.get("db.url", "").strip()
        if self.settings.get("pypi.db", "sql").strip() != "sql" or not url:
            return {}
        return read_cache_db(url, self.here)
