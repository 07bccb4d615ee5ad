"""The HTTP client for the upstream index, with its project pages kept for a while.

urllib3 is used directly: its PoolManager is thread-safe, streams bodies, and strips the
``Authorization`` header when a redirect leaves the upstream's host. Every urllib3 error is
translated here into ``UpstreamError``/``UpstreamTimeout`` (or ``NotFound`` for 404/410), so
nothing above this module sees one and no client sees a stack trace.

Pages are kept in memory for ``pypi.fallback_page_ttl`` seconds. When a refresh fails (the
upstream is down, slow or answering 5xx) the old copy is served and the next attempt is put off
for a short while, so every request does not wait for the timeout again. Only real pages are
kept: a failure is never remembered as "not found".
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from urllib.parse import quote, unquote, urljoin, urlsplit, urlunsplit

import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import MaxRetryError, NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from ..errors import NotFound, UpstreamError, UpstreamTimeout
from .locks import KeyedLocks
from .pages import UpstreamProject, parse_page

log = logging.getLogger("registry.upstream")

ACCEPT_PAGE = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1"
)
USER_AGENT = "registry-fallback/1"
MAX_PAGE_SIZE = 64 * 1024 * 1024
MAX_METADATA_SIZE = 8 * 1024 * 1024
CHUNK = 256 * 1024
PAGES_KEPT = 1024
RETRY_AFTER_FAILURE = 30.0  # seconds a stale page is served before the upstream is tried again


def redact(url: str) -> str:
    """The URL without credentials, for logs, redirects and page metadata.

    >>> redact("https://me:secret@index.example/simple/")
    'https://index.example/simple/'
    """
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    default_port = 443 if parts.scheme == "https" else 80
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default_port


@dataclass
class Download:
    """An upstream file response whose headers have arrived; iterate ``chunks()``, then close."""

    response: urllib3.BaseHTTPResponse
    url: str
    length: int | None
    complete: bool = False

    def chunks(self) -> Iterator[bytes]:
        """The body in chunks. :raises UpstreamError | UpstreamTimeout: the transfer broke."""
        try:
            yield from self.response.stream(CHUNK)
        except Urllib3Timeout as exc:
            raise UpstreamTimeout("The upstream index stopped sending the file") from exc
        except Urllib3Error as exc:
            raise UpstreamError("The upstream index broke off sending the file") from exc
        self.complete = True

    def close(self) -> None:
        """Give the connection back for reuse if the body was read to its end, else drop it."""
        if not self.complete:
            self.response.close()
        self.response.release_conn()


@dataclass(frozen=True)
class _Kept:
    project: UpstreamProject
    fresh_until: float


class UpstreamIndex:
    """One upstream simple index: its project pages (kept for a while) and its files."""

    def __init__(
        self,
        url: str,
        *,
        username: str = "",
        password: str = "",
        token: str = "",
        timeout: float = 10.0,
        page_ttl: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        parts = urlsplit(url)
        username = username or unquote(parts.username or "")
        password = password or unquote(parts.password or "")
        self.url = redact(url)  # credentials never travel in the URL, only in the header
        self.timeout = timeout
        self.page_ttl = page_ttl
        self._clock = clock
        self._auth_headers = (
            urllib3.make_headers(basic_auth=f"{username}:{password}") if username or password else {}
        )
        if token:
            self._auth_headers = {"Authorization": f"Bearer {token}"}
        self._pool = urllib3.PoolManager(num_pools=16, maxsize=16)
        self._retries = urllib3.Retry(total=5, connect=0, read=0, status=0, other=0, redirect=5)
        self._kept: OrderedDict[str, _Kept] = OrderedDict()
        self._kept_lock = threading.Lock()
        self._fetching = KeyedLocks()
        self._serials = itertools.count(1)

    def project_url(self, project: str) -> str:
        """The upstream page URL of a canonical project name (no credentials)."""
        return urljoin(self.url, quote(project) + "/")

    # -- HTTP ----------------------------------------------------------------------------

    def _headers(self, url: str, extra: dict[str, str]) -> dict[str, str]:
        """Credentials go only to the upstream's own origin, never to a file host elsewhere."""
        headers = {"User-Agent": USER_AGENT, **extra}
        if self._auth_headers and _origin(url) == _origin(self.url):
            headers.update(self._auth_headers)
        return headers

    def _open(self, url: str, headers: dict[str, str], timeout: urllib3.Timeout) -> urllib3.BaseHTTPResponse:
        """Send a GET and wait for the headers; the body is left to the caller.

        :raises NotFound: 404 or 410. :raises UpstreamTimeout: no answer in time.
        :raises UpstreamError: anything else that is not a 200.
        """
        where = redact(url)
        try:
            response = self._pool.request(
                "GET",
                url,
                headers=self._headers(url, headers),
                timeout=timeout,
                retries=self._retries,
                preload_content=False,
                redirect=True,
            )
        except (Urllib3Timeout, MaxRetryError) as exc:
            reason = exc.reason if isinstance(exc, MaxRetryError) else exc
            # urllib3 makes a refused connection a subclass of its connect timeout error.
            if isinstance(reason, Urllib3Timeout) and not isinstance(reason, NewConnectionError):
                log.warning("Upstream timed out after %.1fs: GET %s", self.timeout, where)
                raise UpstreamTimeout(
                    f"The upstream index did not answer within {self.timeout:g} seconds"
                ) from None
            log.warning("Upstream unreachable: GET %s: %s", where, type(reason).__name__)
            raise UpstreamError("The upstream index cannot be reached") from None
        except Urllib3Error as exc:
            log.warning("Upstream request failed: GET %s: %s", where, type(exc).__name__)
            raise UpstreamError("The upstream index cannot be reached") from None
        if response.status == 200:
            return response
        response.close()  # an error body is not worth reading; the connection goes
        response.release_conn()
        if response.status in (404, 410):
            raise NotFound("Not found on the upstream index")
        log.warning("Upstream answered %s: GET %s", response.status, where)
        if response.status in (401, 403):
            raise UpstreamError(f"The upstream index refused this registry's credentials ({response.status})")
        raise UpstreamError(f"The upstream index answered {response.status}")

    def _read_small(self, url: str, headers: dict[str, str], limit: int) -> tuple[bytes, str, str]:
        """(body, content type, final URL) of a bounded document, all within the timeout."""
        deadline = self._clock() + self.timeout
        response = self._open(url, headers, urllib3.Timeout(total=self.timeout))
        body, complete = bytearray(), False
        try:
            for chunk in response.stream(CHUNK):
                body += chunk
                if len(body) > limit:
                    raise UpstreamError(f"The upstream index sent more than {limit} bytes")
                if self._clock() > deadline:
                    raise UpstreamTimeout(
                        f"The upstream index did not answer within {self.timeout:g} seconds"
                    )
            complete = True
        except Urllib3Timeout:
            raise UpstreamTimeout(
                f"The upstream index did not answer within {self.timeout:g} seconds"
            ) from None
        except Urllib3Error:
            raise UpstreamError("The upstream index broke off its answer") from None
        finally:
            if not complete:
                response.close()  # unread data would spoil the connection for the next request
            response.release_conn()
        final_url = response.geturl() or url
        return bytes(body), response.headers.get("Content-Type", ""), urljoin(url, final_url)

    def fetch_project(self, project: str) -> UpstreamProject:
        """Fetch and parse a project page now, bypassing the kept copies.

        :raises NotFound: upstream has no such project.
        :raises UpstreamError | UpstreamTimeout: upstream failed.
        """
        url = self.project_url(project)
        headers = {"Accept": ACCEPT_PAGE, "Accept-Encoding": "gzip"}
        body, content_type, final_url = self._read_small(url, headers, MAX_PAGE_SIZE)
        page = parse_page(body, content_type, redact(final_url))
        return replace(page, serial=next(self._serials))

    def probe(self) -> None:
        """Ask for the index page and read only its headers (reachability, for ``/health``).

        :raises NotFound | UpstreamError | UpstreamTimeout: as for pages.
        """
        response = self._open(self.url, {"Accept": ACCEPT_PAGE}, urllib3.Timeout(total=self.timeout))
        response.close()  # the body (the whole index) is not wanted
        response.release_conn()

    def open_file(self, url: str) -> Download:
        """Start downloading a file: headers received, body not read yet.

        :raises NotFound | UpstreamError | UpstreamTimeout: as for pages.
        """
        timeout = urllib3.Timeout(connect=self.timeout, read=self.timeout)
        response = self._open(url, {"Accept-Encoding": "identity"}, timeout)
        length = response.headers.get("Content-Length")
        size = int(length) if length and length.isdigit() else None
        return Download(response=response, url=redact(url), length=size)

    def fetch_small_file(self, url: str, limit: int = MAX_METADATA_SIZE) -> bytes:
        """A small file (a PEP 658 metadata file) in one piece, within the timeout."""
        return self._read_small(url, {"Accept-Encoding": "gzip"}, limit)[0]

    # -- kept pages ----------------------------------------------------------------------

    def _kept_copy(self, project: str) -> _Kept | None:
        with self._kept_lock:
            return self._kept.get(project)

    def _keep(self, project: str, kept: _Kept) -> None:
        with self._kept_lock:
            self._kept[project] = kept
            self._kept.move_to_end(project)
            while len(self._kept) > PAGES_KEPT:
                self._kept.popitem(last=False)

    def _forget(self, project: str) -> None:
        with self._kept_lock:
            self._kept.pop(project, None)

    def project(self, project: str) -> UpstreamProject:
        """The project page: a fresh kept copy, else fetched (once, however many ask at once).

        If fetching fails and an older copy is kept, that copy is served (stale) instead.

        :raises NotFound: upstream has no such project.
        :raises UpstreamError | UpstreamTimeout: upstream failed and nothing is kept.
        """
        kept = self._kept_copy(project)
        if kept is not None and self._clock() < kept.fresh_until:
            return kept.project
        # Waiters give up a little after the fetcher's own timeout would have fired.
        with self._fetching.hold(project, timeout=2 * self.timeout + 1) as acquired:
            kept = self._kept_copy(project)
            if kept is not None and (self._clock() < kept.fresh_until or not acquired):
                return kept.project
            if not acquired:
                raise UpstreamTimeout(f"The upstream index did not answer within {self.timeout:g} seconds")
            return self._refresh(project, kept)

    def _refresh(self, project: str, kept: _Kept | None) -> UpstreamProject:
        try:
            fetched = self.fetch_project(project)
        except NotFound:
            self._forget(project)
            raise
        except UpstreamError:
            if kept is None:
                raise
            retry_in = min(self.page_ttl, RETRY_AFTER_FAILURE) if self.page_ttl else 0
            log.warning("Serving a stale copy of upstream project %r: the upstream failed", project)
            self._keep(project, replace(kept, fresh_until=self._clock() + retry_in))
            return kept.project
        self._keep(project, _Kept(fetched, self._clock() + self.page_ttl))
        return fetched
