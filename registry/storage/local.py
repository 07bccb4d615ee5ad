"""Package files in a local directory: the embedded default.

Layout: ``<dir>/<project>/<filename>`` holds the bytes, ``<dir>/.meta/<key>.json`` the object's
meta mapping, ``<dir>/.tmp/`` half-written uploads. A file is written to ``.tmp`` and then
hard-linked into place, so it appears whole or not at all and an existing file is never
replaced (``link`` fails if the name exists, even under a race).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import BinaryIO

from ..config import Config, Setting, parse_text
from ..errors import AlreadyExists, BackendUnavailable, NotFound
from .base import RESERVED_PREFIXES, Storage, StoredObject

_META_DIR = ".meta"
_TMP_DIR = ".tmp"
_CHUNK = 1024 * 1024
# mkstemp makes files 0600; stored files get what any new file gets (0644 under umask 022).
# The umask can only be read by setting it: done once, at import, before any thread starts.
_UMASK = os.umask(0o022)
os.umask(_UMASK)
FILE_MODE = 0o666 & ~_UMASK


class FileStorage(Storage):
    """Files under one local directory."""

    settings = (Setting("storage.dir", "data/packages", parse_text, "`file` storage: the directory."),)

    def __init__(self, root: Path) -> None:
        self.root = root
        self._tmp_ready = False

    @classmethod
    def from_config(cls, config: Config) -> FileStorage:
        (directory,) = cls.settings
        return cls(config.path(config.get_setting(directory)))

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if not key or any(part in ("", ".", "..") or part.startswith(".") for part in parts):
            raise NotFound(f"invalid storage key {key!r}")
        return self.root.joinpath(*parts)

    def _meta_path(self, key: str) -> Path:
        self._path(key)
        return self.root / _META_DIR / (key + ".json")

    def _write_temp(self, source: BinaryIO | bytes, durable: bool) -> Path:
        """Write to a temp file beside the target; ``durable`` flushes it to disk first."""
        tmp_dir = self.root / _TMP_DIR
        if not self._tmp_ready:
            tmp_dir.mkdir(parents=True, exist_ok=True)
            self._tmp_ready = True
        handle, name = tempfile.mkstemp(dir=tmp_dir)
        try:
            with os.fdopen(handle, "wb") as out:
                os.fchmod(out.fileno(), FILE_MODE)
                if isinstance(source, bytes):
                    out.write(source)
                else:
                    shutil.copyfileobj(source, out, _CHUNK)
                out.flush()
                if durable:
                    os.fdatasync(out.fileno())
        except BaseException:
            os.unlink(name)
            raise
        return Path(name)

    def put(self, key: str, source: BinaryIO, meta: Mapping[str, str]) -> None:
        target = self._path(key)
        if target.exists():
            raise AlreadyExists(f"{key} already exists")
        try:
            temp = self._write_temp(source, durable=True)
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                os.link(temp, target)
            finally:
                temp.unlink()
        except FileExistsError as exc:
            raise AlreadyExists(f"{key} already exists") from exc
        except OSError as exc:
            raise BackendUnavailable(f"cannot write {key}: {exc.strerror}") from exc
        self._write_meta(key, meta)

    def _write_meta(self, key: str, meta: Mapping[str, str]) -> None:
        path = self._meta_path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Not flushed: the meta copy only serves rebuilds, and a rebuild re-derives it from
            # the file itself if it was lost.
            temp = self._write_temp(json.dumps(dict(meta)).encode(), durable=False)
            os.replace(temp, path)
        except OSError as exc:
            raise BackendUnavailable(f"cannot write metadata of {key}: {exc.strerror}") from exc

    def open(self, key: str) -> StoredObject:
        path = self._path(key)
        try:
            stream = path.open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise NotFound(f"{key} not found") from exc
        except OSError as exc:
            raise BackendUnavailable(f"cannot read {key}: {exc.strerror}") from exc
        return StoredObject(stream=stream, size=os.fstat(stream.fileno()).st_size, meta={})

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        for path in (self._path(key), self._meta_path(key)):
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise BackendUnavailable(f"cannot delete {key}: {exc.strerror}") from exc

    def get_meta(self, key: str) -> dict[str, str]:
        if not self.exists(key):
            raise NotFound(f"{key} not found")
        try:
            return dict(json.loads(self._meta_path(key).read_bytes()))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise BackendUnavailable(f"cannot read metadata of {key}: {exc}") from exc

    def set_meta(self, key: str, meta: Mapping[str, str]) -> None:
        if not self.exists(key):
            raise NotFound(f"{key} not found")
        self._write_meta(key, meta)

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        if not self.root.is_dir():
            return
        hidden = {p.rstrip("/") for p in RESERVED_PREFIXES if not prefix.startswith(p)}
        for directory, subdirs, files in os.walk(self.root):
            top = directory == str(self.root)
            subdirs[:] = [
                name for name in subdirs if not name.startswith(".") and not (top and name in hidden)
            ]
            relative = os.path.relpath(directory, self.root)
            for name in files:
                key = name if relative == "." else f"{relative.replace(os.sep, '/')}/{name}"
                if key.startswith(prefix) and not name.startswith("."):
                    yield key

    def check_health(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            if not os.access(self.root, os.W_OK):
                raise BackendUnavailable(f"storage directory {self.root} is not writable")
        except OSError as exc:
            raise BackendUnavailable(f"storage directory {self.root}: {exc.strerror}") from exc
