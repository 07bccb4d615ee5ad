"""Big rendered pages shared by a host's workers and kept across restarts, on local disk.

Each worker keeps the pages it rendered in memory (``pages.PageCache``), per data version. A
project page of the public index's size (7 MB of JSON, 14,000 files) costs a worker a few
hundred milliseconds to build, render and gzip, so without sharing every worker pays that
once per page version, and all of them again after every restart. Project pages of at least
``MIN_SIZE`` bytes are therefore also written, body and gzip together, to a folder on this
host (``$TMPDIR/registry-pages``, bounded by ``pypi.shared_pages`` bytes, least recently used
first out), where any worker of any later start finds them by key and data version.

A page is only shared when its version is plain data (numbers, text, tuples of them), and
under a folder named by a digest of what else decides its bytes: the database's identity
(``core.identity``: a new database's serials repeat an old one's), the settings and the code.
Files are written whole (temporary file, then rename) and checked against their digests when
read; a folder that is not this user's alone is not used. Failures cost only the rendering
they would have saved: they are logged, never raised.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Hashable
from pathlib import Path

from ..errors import RegistryError
from .compress import gzip_body
from .pages import Page

log = logging.getLogger("registry.web")

MIN_SIZE = 64 * 1024  # smaller pages render in about a millisecond: not worth a file
MAGIC = b"registry-page 1\n"
RETRY_SECONDS = 30.0  # after the database's identity could not be read
TOUCH_SECONDS = 600.0  # a page read is marked as used at most this often
SWEEP_SHARE = 8  # look for what to delete after writing 1/8 of the limit


def stable_text(value: object) -> str | None:
    """``value`` as text that is the same in every process, or None if it is not plain data
    (a set's order, or an object's repr, could differ between processes)."""
    if value is None or isinstance(value, bool | int | float | str):
        return repr(value)
    if isinstance(value, tuple | list):
        parts = [stable_text(item) for item in value]
        return None if None in parts else "(" + ",".join(parts) + ")"  # type: ignore[arg-type]
    return None


def code_digest() -> str:
    """A digest of the registry package's source files (names, sizes, modification times):
    another version may render differently. Read from the file system's metadata only, so it
    costs milliseconds on the first big page of a process."""
    digest = hashlib.blake2b(digest_size=16)
    package = Path(__file__).resolve().parent.parent
    for path in sorted(package.rglob("*.py")):
        found = path.stat()
        digest.update(f"{path.relative_to(package)}\0{found.st_size}\0{found.st_mtime_ns}\0".encode())
    return digest.hexdigest()


def _private_folder(path: Path) -> bool:
    """Create ``path`` for this user alone; whether it is (not a link, nobody else may write)."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        found = os.lstat(path)
    except OSError as exc:
        log.warning("Cannot use %s for shared pages: %s", path, exc.strerror)
        return False
    if not stat.S_ISDIR(found.st_mode) or found.st_uid != os.getuid() or found.st_mode & 0o022:
        log.warning("Not sharing rendered pages: %s is not a folder of this user alone", path)
        return False
    return True


class SharedPages:
    """Rendered pages on this host's disk, shared by its workers and later starts."""

    def __init__(self, root: Path, limit: int, identity: Callable[[], str], settings: str) -> None:
        self.root = root
        self.limit = limit
        self._identity = identity
        self._settings = settings
        self._folder: Path | None = None
        self._retry_at = 0.0
        self._written = 0
        self._lock = threading.Lock()

    @classmethod
    def in_temp(cls, limit: int, identity: Callable[[], str], settings: str) -> SharedPages:
        return cls(Path(tempfile.gettempdir()) / "registry-pages", limit, identity, settings)

    def _here(self) -> Path | None:
        """This database's, settings' and code's folder (found on first use), or None."""
        if self._folder is not None or time.monotonic() < self._retry_at:
            return self._folder
        with self._lock:
            if self._folder is None and time.monotonic() >= self._retry_at:
                self._folder = self._open()
                if self._folder is None:
                    self._retry_at = time.monotonic() + RETRY_SECONDS
        return self._folder

    def _open(self) -> Path | None:
        try:
            identity = self._identity()
        except RegistryError as exc:
            log.warning("Not sharing rendered pages for now: %s", exc.message)
            return None
        name = hashlib.blake2b(f"{identity}/{self._settings}/{code_digest()}".encode(), digest_size=12)
        if not _private_folder(self.root) or not _private_folder(self.root / name.hexdigest()):
            return None
        return self.root / name.hexdigest()

    def _path(self, key: Hashable, version: Hashable) -> Path | None:
        text = stable_text((key, version))
        folder = self._here() if text is not None else None
        if folder is None or text is None:
            return None
        return folder / hashlib.blake2b(text.encode(), digest_size=16).hexdigest()

    def get(self, key: Hashable, version: Hashable) -> tuple[Page, bytes] | None:
        """The page and its gzip, if a worker of this host kept them (intact)."""
        path = self._path(key, version)
        if path is None:
            return None
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("Cannot read the shared page %s: %s", path.name, exc.strerror)
            return None
        found = _decode(data)
        if found is None:
            log.warning("Dropping the unreadable shared page %s", path.name)
            path.unlink(missing_ok=True)
            return None
        self._touch(path)
        return found

    def put(self, key: Hashable, version: Hashable, page: Page) -> bytes | None:
        """Keep a big ``page`` and its gzip for every worker (old pages go when over the limit);
        the gzip, or None for a page not worth sharing (small, or not shareable)."""
        path = self._path(key, version) if len(page.body) >= MIN_SIZE else None
        if path is None:
            return None
        gzipped = gzip_body(page.body)
        if len(page.body) + len(gzipped) <= self.limit:
            self._write(path, page, gzipped)
        return gzipped

    def _write(self, path: Path, page: Page, gzipped: bytes) -> None:
        temp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
        try:
            with open(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
                out.write(_encode(page, gzipped))
            os.replace(temp, path)
        except OSError as exc:
            log.warning("Cannot share the rendered page %s: %s", path.name, exc.strerror)
            temp.unlink(missing_ok=True)
            return
        with self._lock:
            self._written += len(page.body) + len(gzipped)
            sweep = self._written * SWEEP_SHARE >= self.limit
            if sweep:
                self._written = 0
        if sweep:
            self.sweep()

    def _touch(self, path: Path) -> None:
        """Mark a page as used (its mtime orders what goes first), now and then."""
        try:
            if time.time() - path.stat().st_mtime > TOUCH_SECONDS:
                os.utime(path)
        except OSError:
            pass

    def _entries(self) -> list[tuple[float, int, str]] | None:
        """Every page file under the root (every database's): mtime, size, path; None if the
        root cannot be read. Folders of other databases left empty are removed on the way."""
        found = []
        try:
            for folder in os.scandir(self.root):
                if folder.is_dir(follow_symlinks=False):
                    entries = [e for e in os.scandir(folder.path) if e.is_file(follow_symlinks=False)]
                    for entry in entries:
                        info = entry.stat(follow_symlinks=False)
                        found.append((info.st_mtime, info.st_size, entry.path))
                    if not entries and folder.path != str(self._folder):
                        with contextlib.suppress(OSError):
                            os.rmdir(folder.path)
        except FileNotFoundError:
            return []
        except OSError as exc:
            log.warning("Cannot look through the shared pages: %s", exc.strerror)
            return None
        return found

    def use(self) -> dict[str, int]:
        """For ``/health``: the pages on this host (of every database), their bytes, the limit."""
        found = self._entries() or []
        return {"files": len(found), "bytes": sum(size for _, size, _ in found), "limit": self.limit}

    def sweep(self) -> None:
        """Delete the least recently used pages (of every folder) until a quarter under the limit."""
        found = self._entries()
        if found is None:
            return
        total = sum(size for _, size, _ in found)
        for _, size, path in sorted(found):
            if total <= self.limit * 3 // 4:
                break
            try:
                os.unlink(path)
            except FileNotFoundError:  # another worker swept it
                pass
            except OSError as exc:
                log.warning("Cannot delete the shared page %s: %s", path, exc.strerror)
                continue
            total -= size


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _encode(page: Page, gzipped: bytes) -> bytes:
    header = {
        "content_type": page.content_type,
        "etag": page.etag,
        "body": len(page.body),
        "gzip": len(gzipped),
        "gzip_digest": _digest(gzipped),
    }
    return MAGIC + json.dumps(header).encode() + b"\n" + page.body + gzipped


def _decode(data: bytes) -> tuple[Page, bytes] | None:
    """What ``_encode`` wrote, or None if it is not that, whole and intact."""
    if not data.startswith(MAGIC):
        return None
    line, _, rest = data[len(MAGIC) :].partition(b"\n")
    try:
        header = json.loads(line)
        body_size, gzip_size = int(header["body"]), int(header["gzip"])
        etag, content_type = str(header["etag"]), str(header["content_type"])
        gzip_digest = str(header["gzip_digest"])
    except (ValueError, KeyError, TypeError):
        return None
    if len(rest) != body_size + gzip_size:
        return None
    body, gzipped = rest[:body_size], rest[body_size:]
    if _digest(body) != etag or _digest(gzipped) != gzip_digest:
        return None
    return Page(body, content_type, etag), gzipped
