"""The HTTP client for the upstream index, with its project pages kept for a while.

urllib3 is used directly: its PoolManager is thread-safe, streams bodies, and strips the
``Authorization`` header when a redirect leaves the upstream's host. Every urllib3 error is
translated here into ``UpstreamError``/``UpstreamTimeout`` (or ``NotFound`` for 404/410), so
nothing above this module sees one and no client sees a stack trace.

Project pages are kept by ``keeper.PageKeeper`` (in memory, bounded in bytes, and in the
Storage, shared by every worker and instance) and refreshed with conditional requests. Every
request first asks the shared circuit breaker (``breaker``): an upstream that just failed or
hung is not asked again for a while.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import quote, unquote, urljoin, urlsplit, urlunsplit

import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import MaxRetryError, NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from ..errors import NotFound, UpstreamError, UpstreamTimeout
from .breaker import Breaker
from .keeper import PageKeeper
from .kept import KeptPage, VersionOf, read_page
from .memory import ByteLRU
from .pages import UpstreamProject
from .store import PageStore

log = logging.getLogger("registry.upstream")

ACCEPT_PAGE = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1"
)
USER_AGENT = "registry-fallback/1"
MAX_PAGE_SIZE = 64 * 1024 * 1024
MAX_METADATA_SIZE = 8 * 1024 * 1024
CHUNK = 256 * 1024
DEFAULT_MEMORY = 64 * 1024 * 1024


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
class Fetched:
    """A page answer: the parsed page (None for 304 Not Modified) and its validators."""

    project: UpstreamProject | None
    etag: str = ""
    last_modified: str = ""


class UpstreamIndex:
    """One upstream simple index: its project pages (kept, see ``keeper``) and its files.

    ``store`` shares kept pages through a Storage; ``memory_limit`` bounds what this process
    keeps; ``breaker`` skips a failing upstream; ``version_of`` says which files are
    distributions of a project (and their version); ``wait_for_refresh`` makes a request for
    a page older than ``page_ttl`` wait for the upstream instead of being answered at once.
    """

    def __init__(
        self,
        url: str,
        *,
        username: str = "",
        password: str = "",
        token: str = "",
        timeout: float = 10.0,
        page_ttl: float = 300.0,
        clock: Callable[[], float] = time.time,
        store: PageStore | None = None,
        memory_limit: int = DEFAULT_MEMORY,
        breaker: Breaker | None = None,
        version_of: VersionOf | None = None,
        wait_for_refresh: bool = False,
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
        self.breaker = breaker
        self.last_answer: tuple[float, str] | None = None  # (monotonic time, "ok" | "error: ...")
        self.memory = ByteLRU(memory_limit)
        self.keeper = PageKeeper(
            self, store=store, memory=self.memory, ttl=page_ttl, clock=clock,
            version_of=version_of, wait_for_refresh=wait_for_refresh,
        )  # fmt: skip

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
        """``_exchange``, noting how it went in ``last_answer`` (``/health`` shows it)."""
        try:
            response = self._exchange(url, headers, timeout)
        except NotFound:
            self.last_answer = (time.monotonic(), "ok")
            raise
        except UpstreamError as exc:
            self.last_answer = (time.monotonic(), f"error: {exc.message}")
            raise
        self.last_answer = (time.monotonic(), "ok")
        return response

    def _exchange(
        self, url: str, headers: dict[str, str], timeout: urllib3.Timeout
    ) -> urllib3.BaseHTTPResponse:
        """Send a GET and wait for the headers; the body is left to the caller. A 304 is
        returned as is (only conditional requests get one). The breaker is asked first and
        told how it went.

        :raises NotFound: 404 or 410. :raises UpstreamTimeout: no answer in time, or the
            breaker is open after one. :raises UpstreamError: anything else that is not a 200.
        """
        if self.breaker is not None:
            self.breaker.check(self.timeout)
        try:
            response = self._send(url, headers, timeout)
        except UpstreamError as exc:
            if self.breaker is not None:
                self.breaker.failed(exc)
            raise
        if self.breaker is not None and response.status < 500:
            self.breaker.succeeded()
        if response.status in (200, 304):
            return response
        response.close()  # an error body is not worth reading; the connection goes
        response.release_conn()
        if response.status in (404, 410):
            raise NotFound("Not found on the upstream index")
        log.warning("Upstream answered %s: GET %s", response.status, redact(url))
        if response.status in (401, 403):
            raise UpstreamError(f"The upstream index refused this registry's credentials ({response.status})")
        error = UpstreamError(f"The upstream index answered {response.status}")
        if self.breaker is not None and response.status >= 500:
            self.breaker.failed(error)
        raise error

    def _send(self, url: str, headers: dict[str, str], timeout: urllib3.Timeout) -> urllib3.BaseHTTPResponse:
        """The request itself, with every urllib3 error translated."""
        where = redact(url)
        try:
            return self._pool.request(
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

    def _read_small(
        self, url: str, headers: dict[str, str], limit: int
    ) -> tuple[bytes, urllib3.BaseHTTPResponse, str]:
        """(body, response, final URL) of a bounded document, all within the timeout; a 304
        has an empty body."""
        deadline = time.monotonic() + self.timeout
        response = self._open(url, headers, urllib3.Timeout(total=self.timeout))
        body, complete = bytearray(), False
        try:
            for chunk in response.stream(CHUNK):
                body += chunk
                if len(body) > limit:
                    raise UpstreamError(f"The upstream index sent more than {limit} bytes")
                if time.monotonic() > deadline:
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
        return bytes(body), response, urljoin(url, final_url)

    def fetch_page(self, project: str, etag: str = "", last_modified: str = "") -> Fetched:
        """Fetch and parse a project page now; conditionally when validators are given.

        :raises NotFound: upstream has no such project.
        :raises UpstreamError | UpstreamTimeout: upstream failed.
        """
        headers = {"Accept": ACCEPT_PAGE, "Accept-Encoding": "gzip"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        body, response, final_url = self._read_small(self.project_url(project), headers, MAX_PAGE_SIZE)
        validators = response.headers.get("ETag", ""), response.headers.get("Last-Modified", "")
        if response.status == 304:
            return Fetched(None, *validators)
        page = read_page(body, response.headers.get("Content-Type", ""), redact(final_url))
        return Fetched(page, *validators)

    def fetch_project(self, project: str) -> UpstreamProject:
        """Fetch and parse a project page now, bypassing the kept copies.

        :raises NotFound: upstream has no such project.
        :raises UpstreamError | UpstreamTimeout: upstream failed.
        """
        fetched = self.fetch_page(project)
        assert fetched.project is not None  # an unconditional request never gets a 304
        return fetched.project

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

    def page(self, project: str) -> KeptPage:
        """The kept project page (see ``PageKeeper.page``).

        :raises NotFound: upstream has no such project.
        :raises UpstreamError | UpstreamTimeout: upstream failed and nothing is kept.
        """
        return self.keeper.page(project)

    def status(self) -> dict[str, object]:
        """What ``/health`` shows admins: memory use against its limit, the breaker, refreshes."""
        use = self.memory.use()
        return {
            "url": self.url,
            "memory_bytes": use.bytes,
            "memory_limit": use.limit,
            "memory_entries": use.entries,
            "memory_evicted": use.evicted,
            "refreshing": self.keeper.pending(),
            "breaker": self.breaker.state() if self.breaker is not None else {"open": False},
        }

    def project(self, project: str) -> UpstreamProject:
        """The project page: a kept copy if there is one, else fetched (once per process).

        :raises NotFound: upstream has no such project.
        :raises UpstreamError | UpstreamTimeout: upstream failed and nothing is kept.
        """
        return self.keeper.page(project).project()
