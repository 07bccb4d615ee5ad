"""The client side of a large-file upload (``python -m registry upload-large``).

For each file: hash it locally, ask the registry for an upload session (``/upload-sessions``),
send the bytes to the session URL in chunks with GCS's resumable upload protocol (a chunk
answered 308 is stored; after a broken connection or a 5xx, ask GCS how much it has with
``Content-Range: bytes */SIZE`` and go on from there; give up and cancel the session after
``RETRIES`` failures without progress), then ask the registry to complete it.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

CHUNK = 8 * 1024 * 1024  # a multiple of 256 KiB, as GCS requires of every chunk but the last
RETRIES = 5
RETRY_STATUSES = (408, 429, 500, 502, 503, 504)
Progress = Callable[[int], None]


class UploadError(Exception):
    """The registry or GCS refused, or kept failing; the message says which and why."""


@dataclass(frozen=True)
class LocalFile:
    path: Path
    size: int
    sha256: str


def describe(path: Path) -> LocalFile:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as stream:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
    return LocalFile(path, size, digest.hexdigest())


def _stored_until(answer: requests.Response) -> int:
    """The offset GCS has confirmed, from a 308's ``Range: bytes=0-N`` (none: nothing yet)."""
    confirmed = answer.headers.get("Range", "")
    return int(confirmed.rpartition("-")[2]) + 1 if confirmed.startswith("bytes=") else 0


class UploadClient:
    """Talks to one registry as one user."""

    def __init__(
        self,
        url: str,
        auth: tuple[str, str],
        *,
        chunk_size: int = CHUNK,
        retry_wait: float = 1.0,
        http: requests.Session | None = None,
    ) -> None:
        if chunk_size <= 0 or chunk_size % (256 * 1024):
            raise ValueError("chunk_size must be a positive multiple of 256 KiB")
        self.url = url.rstrip("/") + "/"
        self.chunk_size = chunk_size
        self.retry_wait = retry_wait
        self.auth = auth  # sent to the registry only, never to the bucket
        self.http = http or requests.Session()

    def upload(self, path: Path, progress: Progress = lambda sent: None) -> dict[str, Any]:
        """Upload one file; the registry's answer (``status`` is ``created`` or ``exists``).

        :raises UploadError: a refusal (with the registry's message) or too many failures.
        """
        local = describe(path)
        declaration = {"filename": path.name, "size": local.size, "sha256": local.sha256}
        started = self._registry("upload-sessions", declaration)
        if started.get("status") == "exists":
            progress(local.size)
            return started
        try:
            self.send(started["upload_url"], local, progress)
        except UploadError:
            self.cancel(started["upload_url"])
            raise
        return self._registry(f"upload-sessions/{quote(started['session'])}/complete", {})

    def cancel(self, upload_url: str) -> None:
        """Abandon a session so GCS drops what it holds of it (best effort: it expires anyway)."""
        with contextlib.suppress(requests.RequestException):
            self.http.delete(upload_url, timeout=30)

    def _registry(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST JSON to the registry; retry a 503 (the staged file is kept for that)."""
        for attempt in range(RETRIES + 1):
            try:
                answer = self.http.post(self.url + path, json=body, auth=self.auth, timeout=(30, 900))
            except requests.RequestException as exc:
                raise UploadError(f"{self.url}{path}: {exc}") from exc
            if answer.status_code != 503 or attempt == RETRIES:
                break
            time.sleep(self.retry_wait * 2**attempt)
        if answer.status_code >= 400:
            try:
                message = answer.json()["error"]
            except (ValueError, KeyError, TypeError):
                message = answer.text.strip()[:500] or answer.reason
            raise UploadError(f"{answer.status_code} {message}")
        try:
            result: dict[str, Any] = answer.json()
        except ValueError:
            raise UploadError(f"{self.url}{path} did not answer JSON: is --url the registry's URL?") from None
        return result

    def send(self, upload_url: str, local: LocalFile, progress: Progress) -> None:
        """Send the file to a resumable upload session, chunk by chunk, resuming after failures.

        :raises UploadError: GCS refused, or made no progress ``RETRIES`` times in a row.
        """
        offset = reported = failures = 0
        with local.path.open("rb") as stream:
            while True:
                stream.seek(offset)
                answer = self._put(upload_url, stream.read(self.chunk_size), offset, local.size)
                status = answer.status_code if answer is not None else None
                if status in (200, 201):
                    progress(local.size - reported)
                    return
                if answer is not None and status == 308:
                    confirmed: int | None = _stored_until(answer)
                elif answer is not None and status not in RETRY_STATUSES:
                    raise UploadError(f"the bucket refused the upload: {status} {answer.text[:300]}")
                else:  # a broken connection or a passing failure: ask GCS what it kept
                    time.sleep(self.retry_wait * 2 ** min(failures, 5))
                    confirmed = self._resume_offset(upload_url, local.size)
                if confirmed is None:  # it was all there: only the answer was lost
                    progress(local.size - reported)
                    return
                failures = 0 if confirmed > offset else failures + 1
                if failures > RETRIES:
                    raise UploadError(f"the upload to the bucket made no progress {failures} times in a row")
                if confirmed > reported:
                    progress(confirmed - reported)
                    reported = confirmed
                offset = confirmed

    def _put(self, url: str, data: bytes, offset: int, size: int) -> requests.Response | None:
        """One chunk; None when the connection broke (the caller asks GCS what it kept)."""
        last = offset + len(data) - 1
        headers = {"Content-Range": f"bytes {offset}-{last}/{size}"}
        try:
            return self.http.put(url, data=data, headers=headers, timeout=(30, 300))
        except requests.RequestException:
            return None

    def _resume_offset(self, url: str, size: int) -> int | None:
        """How many bytes GCS holds (None: the upload is complete).

        :raises UploadError: the session is gone, or GCS cannot be asked.
        """
        try:
            answer = self.http.put(url, headers={"Content-Range": f"bytes */{size}"}, timeout=30)
        except requests.RequestException as exc:
            # Only the error's kind: its text holds the session URL, a credential.
            raise UploadError(f"cannot reach the bucket to resume the upload ({type(exc).__name__})") from exc
        if answer.status_code in (200, 201):
            return None
        if answer.status_code == 308:
            return _stored_until(answer)
        raise UploadError(f"cannot resume the upload: {answer.status_code} {answer.text[:300]}")
