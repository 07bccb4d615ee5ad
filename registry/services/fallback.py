"""The upstream fallback rules: what a project page shows and what a missing file answers.

``pypi.fallback``:

- ``none``: the registry answers from what it stores; unknown projects are 404.
- ``redirect``: a project or file the registry does not have answers 302 to the upstream's.
- ``cache``: an unknown project's page lists the upstream's files with links to this
  registry's own stable URLs; the first download fetches, verifies and stores the file
  (``fetch``), later ones are served from storage, also when the upstream is gone.

Safety from dependency confusion: a project with files uploaded here never shows (or fetches)
upstream files unless ``pypi.always_show_upstream`` is on, and a name in
``pypi.disallow_fallback`` is never looked up upstream at all; so a private ``internal-lib
1.0`` wins over an upstream ``internal-lib 99.0``. Pages say where they come from (PEP 708):
a mirrored project ``tracks`` the upstream's page; a merged one lists it in
``alternate-locations``.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from ..access import Identity
from ..config import Config
from ..errors import InvalidUpload, NotFound, UpstreamError
from ..models import FileRecord
from ..upstream import KeyedLocks, UpstreamFile, UpstreamIndex, UpstreamProject, redact
from .distribution import ParsedFilename, parse_filename
from .fetch import Proxied, Tee, metadata_body
from .pages import Page, Redirect
from .simple import PROJECT_FILES_PREFIX, Link, Repository, local_page, render_project

if TYPE_CHECKING:
    from .context import Services

log = logging.getLogger("registry.fallback")

METADATA_SUFFIX = ".metadata"
_MEMO_LIMIT = 4096


class Fallback:
    """The fallback settings and the per-process state they need (kept pages, fetch locks)."""

    def __init__(
        self,
        mode: str = "none",
        upstream: UpstreamIndex | None = None,
        *,
        always_show_upstream: bool = False,
        disallowed: frozenset[str] = frozenset(),
    ) -> None:
        self.mode = mode if upstream is not None else "none"
        self.upstream = upstream
        self.always_show_upstream = always_show_upstream
        self.disallowed = disallowed
        self.fetching = KeyedLocks()
        self._uploads: OrderedDict[str, tuple[int, bool]] = OrderedDict()
        self._refused: dict[tuple[str, str, str], tuple[float, str]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: Config) -> Fallback:
        """Build from the ``pypi.fallback*`` settings and log, once, whether fallback is on."""
        mode, url = config["pypi.fallback"], config["pypi.fallback_url"]
        upstream = None
        if url and mode != "none":
            upstream = UpstreamIndex(
                url,
                username=config["pypi.fallback_username"],
                password=config["pypi.fallback_password"],
                timeout=config["pypi.fallback_timeout"],
                page_ttl=config["pypi.fallback_page_ttl"],
            )
        fallback = cls(
            mode,
            upstream,
            always_show_upstream=config["pypi.always_show_upstream"],
            disallowed=frozenset(canonicalize_name(name) for name in config["pypi.disallow_fallback"]),
        )
        if mode != "none" and not url:
            log.warning("%s", fallback.describe(config))
        else:
            log.info("%s", fallback.describe(config))
        return fallback

    def describe(self, config: Config) -> str:
        """One line for start-up: is fallback on, and from where (never with credentials)."""
        if self.upstream is not None:
            return f"Upstream fallback: {self.mode} from {self._index.url}"
        if config["pypi.fallback"] != "none":
            return (
                f"Upstream fallback is OFF: pypi.fallback = {config['pypi.fallback']} but "
                "pypi.fallback_url is empty (there is no default upstream); set it to the "
                "upstream simple index URL to turn fallback on"
            )
        return "Upstream fallback is off (pypi.fallback = none)"

    @property
    def _index(self) -> UpstreamIndex:
        """The upstream, where ``applies_to`` already held."""
        assert self.upstream is not None
        return self.upstream

    def applies_to(self, project: str) -> bool:
        """Whether the upstream may be consulted for this canonical project name at all."""
        return self.upstream is not None and project not in self.disallowed

    # -- what is stored here -------------------------------------------------------------

    def _has_uploads(self, services: Services, project: str, serial: int | None) -> bool:
        """Whether any file of the project was uploaded here (not cached); memoized per serial."""
        if serial is None:
            return False
        with self._lock:
            memo = self._uploads.get(project)
        if memo is not None and memo[0] == serial:
            return memo[1]
        found = any(not record.origin for record in services.cache.list_files(project))
        with self._lock:
            self._uploads[project] = (serial, found)
            while len(self._uploads) > _MEMO_LIMIT:
                self._uploads.popitem(last=False)
        return found

    def _is_local(self, services: Services, project: str, serial: int | None) -> bool:
        """A project uploaded here keeps upstream out, unless always_show_upstream says mix."""
        return not self.always_show_upstream and self._has_uploads(services, project, serial)

    # -- project pages -------------------------------------------------------------------

    def project_page(
        self, services: Services, project: str, serial: int | None, content_type: str
    ) -> Page | Redirect:
        """The page of a project the fallback applies to (see the module docstring).

        :raises NotFound: neither here nor upstream.
        :raises UpstreamError | UpstreamTimeout: the upstream is needed, failed, and nothing
            is kept or stored to answer with instead.
        """
        if self.mode == "redirect" and serial is None:
            return Redirect(self._index.project_url(project))
        if serial is not None:
            if self.mode == "redirect" and not self.always_show_upstream:
                return local_page(services, project, serial, content_type)
            if self._is_local(services, project, serial):
                return local_page(services, project, serial, content_type, uploads_only=True)
        try:
            upstream = self._index.project(project)
        except NotFound:
            if serial is None:
                raise NotFound(f"Project {project!r} not found") from None
            return local_page(services, project, serial, content_type)
        except UpstreamError as exc:
            if serial is None:
                raise
            log.warning("Serving only the stored files of %r: %s", project, exc.message)
            return local_page(services, project, serial, content_type)
        return services.pages.get(
            ("fallback", project, content_type),
            (serial, upstream.serial),
            lambda: self._render(services, project, serial, upstream, content_type),
        )

    def _render(
        self,
        services: Services,
        project: str,
        serial: int | None,
        upstream: UpstreamProject,
        content_type: str,
    ) -> Page:
        """Stored files first (they win on a filename), then the upstream's."""
        records = services.cache.list_files(project) if serial is not None else []
        listed = {file.filename: file for file in upstream.files}
        links: dict[str, Link] = {}
        for record in records:
            link = Link.of(record)
            same = listed.get(record.filename)
            if record.origin and same is not None and same.sha256 == record.sha256:
                link = dataclasses.replace(link, yanked=same.yanked, yanked_reason=same.yanked_reason)
            links[record.filename] = link
        for file in upstream.files:
            if file.filename not in links and (found := self._upstream_link(project, file)) is not None:
                links[file.filename] = found
        mirrored = not any(not record.origin for record in records)
        page_url = self._index.project_url(project)
        repository = (
            Repository(tracks=(page_url,)) if mirrored else Repository(alternate_locations=(page_url,))
        )
        display_name = upstream.name or next((r.display_name for r in records), project)
        return render_project(project, display_name, links.values(), content_type, repository)

    def _upstream_link(self, project: str, file: UpstreamFile) -> Link | None:
        """The link for an upstream file: here in cache mode (if verifiable), upstream otherwise."""
        parsed = _parse(project, file)
        if parsed is None:
            return None
        if self.mode == "cache":
            if not file.sha256:
                return None  # without a hash to check, the file cannot be cached safely
            url = f"{PROJECT_FILES_PREFIX}packages/{project}/{file.sha256[:16]}/{file.filename}"
        else:
            url = redact(file.url)
        return Link(
            filename=file.filename,
            version=str(parsed.version),
            url=url,
            sha256=file.sha256,
            requires_python=file.requires_python,
            has_metadata=file.has_metadata,
            metadata_sha256=file.metadata_sha256,
            yanked=file.yanked,
            yanked_reason=file.yanked_reason,
            size=file.size,
            upload_time=file.upload_time,
        )

    # -- files ---------------------------------------------------------------------------

    def missing_file(
        self, services: Services, caller: Identity, project: str, digest: str, filename: str, *, stream: bool
    ) -> Redirect | Proxied | FileRecord:
        """Answer for a file (or its ``.metadata``) that is not stored here.

        ``stream``: send the bytes while they arrive (a plain GET); otherwise fetch and store
        the whole file first and return its record (HEAD, Range), served from storage.

        :raises NotFound: not applicable, or the upstream does not list this exact file.
        :raises Unauthorized | Forbidden: the caller may not fill the cache (pypi.cache_update).
        :raises UpstreamError | UpstreamTimeout: the upstream failed or sent the wrong bytes.
        """
        serial = services.cache.project_serial(project)
        if not self.applies_to(project) or self._is_local(services, project, serial):
            raise NotFound(f"File {filename!r} not found")
        wants_metadata = filename.endswith(METADATA_SUFFIX)
        base = filename[: -len(METADATA_SUFFIX)] if wants_metadata else filename
        if wants_metadata and services.cache.get_file(project, base) is not None:
            raise NotFound(f"File {filename!r} not found: {base} has no metadata file")
        file, parsed = self._find(project, digest, base)
        if self.mode == "redirect":
            return Redirect(redact(file.url) + (METADATA_SUFFIX if wants_metadata else ""))
        if wants_metadata:
            return self._metadata(file)
        access = services.access
        access.require(
            caller, access.can_update_cache(caller), "fetch files from the upstream index into this registry"
        )
        return self._fetch(services, project, file, parsed, stream=stream)

    def _find(self, project: str, digest: str, filename: str) -> tuple[UpstreamFile, ParsedFilename]:
        for file in self._index.project(project).files:
            matches = file.filename == filename and len(digest) >= 8 and file.sha256.startswith(digest)
            if matches and (parsed := _parse(project, file)) is not None:
                return file, parsed
        raise NotFound(f"File {filename!r} not found")

    def _metadata(self, file: UpstreamFile) -> Proxied:
        """The upstream's PEP 658 file for a wheel not fetched yet, checked against its hash."""
        if not file.has_metadata:
            raise NotFound(f"File {file.filename + METADATA_SUFFIX!r} not found")
        proxied = metadata_body(self._index.fetch_small_file(file.url + METADATA_SUFFIX))
        if file.metadata_sha256 and proxied.etag != file.metadata_sha256:
            log.error("Upstream metadata of %s does not match its listed sha256", file.filename)
            raise UpstreamError(
                f"Refused the metadata of {file.filename} from the upstream index: it does not "
                "match the sha256 the upstream lists"
            )
        return proxied

    def _fetch(
        self, services: Services, project: str, file: UpstreamFile, parsed: ParsedFilename, *, stream: bool
    ) -> Proxied | FileRecord:
        key = (project, file.filename)
        self._check_refused((project, file.filename, file.sha256))
        # Wait for a fetch of the same file in this process; then it is (usually) stored.
        acquired = self.fetching.acquire(key, timeout=max(30.0, 3 * self._index.timeout))
        release = (lambda: self.fetching.release(key)) if acquired else (lambda: None)
        try:
            stored = services.cache.get_file(project, file.filename)
            if stored is not None:
                if stored.sha256 != file.sha256:
                    raise NotFound(f"File {file.filename!r} not found")
                release()
                return stored
            download = self._index.open_file(file.url)
        except BaseException:
            release()
            raise
        tee = Tee(
            services,
            parsed,
            file,
            download,
            lambda message: self._refuse((project, file.filename, file.sha256), message),
            release,
        )
        if not stream:
            return tee.consume()
        tee.prime()
        return Proxied(body=tee, size=tee.expected_size, etag=file.sha256)

    # -- refused files -------------------------------------------------------------------

    def _refuse(self, file: tuple[str, str, str], message: str) -> None:
        """Remember a refused (project, filename, sha256) for a while: later requests get a 502 at once."""
        until = time.monotonic() + max(30.0, self._index.page_ttl)
        with self._lock:
            self._refused[file] = (until, message)
            if len(self._refused) > _MEMO_LIMIT:
                now = time.monotonic()
                self._refused = {k: v for k, v in self._refused.items() if v[0] > now}

    def _check_refused(self, file: tuple[str, str, str]) -> None:
        with self._lock:
            refused = self._refused.get(file)
        if refused is not None and refused[0] > time.monotonic():
            raise UpstreamError(refused[1])


def _parse(project: str, file: UpstreamFile) -> ParsedFilename | None:
    """The upstream file's name parts, if it is a distribution of exactly this project."""
    try:
        parsed = parse_filename(file.filename)
    except InvalidUpload:
        return None
    return parsed if parsed.project == project else None
