"""The upstream fallback: what a project page shows and what a missing file answers.

``pypi.fallback``:

- ``none``: the registry answers from what it stores; unknown projects are 404.
- ``redirect``: a project or file the registry does not have answers 302 to the upstream's.
- ``cache``: an unknown project's page lists the upstream's files with links to this
  registry's own stable URLs; the first download fetches, verifies and stores the file
  (``fetch``), later ones are served from storage, also when the upstream is gone.

Whether an upstream may be asked at all, and which one, is decided in ``sources`` (reserved
and local names never reach one): every method here takes the ``UpstreamPermit`` that decision
made and asks only the upstream it names (``pypi.upstreams``; the ``pypi.fallback_*`` keys are
a list of one named ``default``). Links and stored records name that upstream. Pages say
where they come from (PEP 708): a mirrored project ``tracks`` the upstream's page; a merged one
lists it in ``alternate-locations``. Project pages come from the upstream's kept pages
(``registry.upstream.keeper``: shared through the Storage, refreshed in the background), so a
page served before never waits on the upstream; ``fallback_pages`` turns one into a listing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping

from packaging.utils import canonicalize_version

from ..cache import Cache
from ..config.upstreams import DEFAULT_NAME
from ..config.views import FallbackSettings
from ..errors import InvalidUpload, NotFound, NotSupported, UpstreamError
from ..models import METADATA_SUFFIX, FileRecord
from ..upstream import KeyedLocks, UpstreamFile, UpstreamIndex, redact
from ..upstream.kept import KeptPage
from .cooldown import Cooldown
from .distribution import ParsedFilename, parse_filename
from .fallback_pages import kept_listing, upload_times
from .fetch import Tee, metadata_body
from .listing import Listing, Proxied, Redirect, Versioned
from .pipeline import FilePipeline
from .sources import UpstreamPermit

log = logging.getLogger("registry.fallback")

_MEMO_LIMIT = 4096


class Fallback:
    """The upstream indexes by name, the mode they are used in, and per-process state (fetch
    locks, refusals)."""

    def __init__(
        self,
        upstreams: Mapping[str, UpstreamIndex],
        settings: FallbackSettings,
        pipeline: FilePipeline,
        cache: Cache,
        max_unpacked_size: int,
        cooldown: Cooldown,
    ) -> None:
        self.upstreams = dict(upstreams)
        self.cooldown = cooldown
        self.mode = settings.mode
        self.pipeline = pipeline
        self.cache = cache
        self.max_unpacked_size = max_unpacked_size
        self.fetching = KeyedLocks()
        self._refused: dict[tuple[str, str, str], tuple[float, str]] = {}
        self._lock = threading.Lock()

    def describe(self) -> str:
        """One line for start-up: where the fallback goes (never with credentials)."""
        if list(self.upstreams) == [DEFAULT_NAME]:
            return f"Upstream fallback: {self.mode} from {self.upstreams[DEFAULT_NAME].url}"
        shown = ", ".join(f"{name} ({index.url})" for name, index in self.upstreams.items())
        return f"Upstream fallback: {self.mode} from, in order: {shown}"

    def index(self, permit: UpstreamPermit) -> UpstreamIndex:
        """The one upstream the permit names."""
        return self.upstreams[permit.upstream]

    # -- project pages -------------------------------------------------------------------

    def listing(
        self, permit: UpstreamPermit, local: Callable[[], Versioned[Listing]], public: bool
    ) -> Versioned[Listing] | Redirect:
        """The page of a project the upstream may be asked about; ``local`` is the page of
        what is stored here, for when the upstream has nothing to add.

        :raises NotFound: neither here nor upstream.
        :raises UpstreamError | UpstreamTimeout: the upstream is needed, failed, and nothing
            is stored to answer with instead.
        """
        project, serial = permit.project, permit.serial
        if self.mode == "redirect" and serial is None:
            return Redirect(self.index(permit).project_url(project))
        try:
            kept = self.index(permit).page(project)
        except NotFound:
            if serial is None:
                raise NotFound(f"Project {project!r} not found") from None
            return local()
        except UpstreamError as exc:
            if serial is None:
                raise
            log.warning("Serving only the stored files of %r: %s", project, exc.message)
            return local()
        held = self.cooldown.page_state(project, kept.version, lambda: upload_times(kept))
        return Versioned(
            ("fallback", project),
            (serial, kept.version, held),
            lambda: self._merge(permit, kept),
            public,
        )

    def _merge(self, permit: UpstreamPermit, kept: KeptPage) -> Listing:
        """Stored files first (they win on a filename), then the upstream's."""
        project = permit.project
        records = self.cache.list_files(project) if permit.serial is not None else []
        page_url = self.index(permit).project_url(project)
        return kept_listing(project, kept, records, page_url, self.mode, self.cooldown, permit.upstream)

    # -- files ---------------------------------------------------------------------------

    def missing_file(
        self,
        permit: UpstreamPermit,
        digest: str,
        filename: str,
        authorize_fill: Callable[[], None],
        *,
        stream: bool,
    ) -> Redirect | Proxied | FileRecord:
        """Answer for a file (or its ``.metadata``) that is not stored here.

        ``stream``: send the bytes while they arrive (a plain GET); otherwise fetch and store
        the whole file first and return its record (HEAD, Range), served from storage.
        ``authorize_fill`` raises when the caller may not fill the cache (``pypi.cache_update``).

        :raises NotFound: the upstream does not list this exact file.
        :raises UpstreamError | UpstreamTimeout: the upstream failed or sent the wrong bytes.
        """
        wants_metadata = filename.endswith(METADATA_SUFFIX)
        base = filename.removesuffix(METADATA_SUFFIX)
        if wants_metadata and self.cache.get_file(permit.project, base) is not None:
            raise NotFound(f"File {filename!r} not found: {base} has no metadata file")
        file, parsed = self._find(permit, digest, base)
        self.cooldown.check(permit.project, file.filename, parsed.version, file.upload_time)
        if self.mode == "redirect":
            return Redirect(redact(file.url) + (METADATA_SUFFIX if wants_metadata else ""))
        if wants_metadata:
            return self._metadata(permit, file)
        authorize_fill()
        return self._fetch(permit, file, parsed, stream=stream)

    def _find(
        self, permit: UpstreamPermit, digest: str, filename: str
    ) -> tuple[UpstreamFile, ParsedFilename]:
        file = self.index(permit).page(permit.project).find(filename)
        matches = file is not None and len(digest) >= 8 and file.sha256.startswith(digest)
        if file is not None and matches and (parsed := _parse(permit, file)) is not None:
            return file, parsed
        raise NotFound(f"File {filename!r} not found")

    def _metadata(self, permit: UpstreamPermit, file: UpstreamFile) -> Proxied:
        """The upstream's PEP 658 file for a wheel not fetched yet, checked against its hash."""
        if not file.has_metadata:
            raise NotFound(f"File {file.filename + METADATA_SUFFIX!r} not found")
        proxied = metadata_body(self.index(permit).fetch_small_file(file.url + METADATA_SUFFIX))
        if file.metadata_sha256 and proxied.etag != file.metadata_sha256:
            log.error("Upstream metadata of %s does not match its listed sha256", file.filename)
            raise UpstreamError(
                f"Refused the metadata of {file.filename} from the upstream index: it does not "
                "match the sha256 the upstream lists"
            )
        return proxied

    def _fetch(
        self, permit: UpstreamPermit, file: UpstreamFile, parsed: ParsedFilename, *, stream: bool
    ) -> Proxied | FileRecord:
        project = permit.project
        key = (project, file.filename)
        index = self.index(permit)
        self._check_refused((project, file.filename, file.sha256))
        # Wait for a fetch of the same file in this process; then it is (usually) stored.
        acquired = self.fetching.acquire(key, timeout=max(30.0, 3 * index.timeout))
        release = (lambda: self.fetching.release(key)) if acquired else (lambda: None)
        try:
            stored = self.cache.get_file(project, file.filename)
            if stored is not None:
                if stored.sha256 != file.sha256:
                    raise NotFound(f"File {file.filename!r} not found")
                release()
                return stored
            download = index.open_file(file.url)
        except BaseException:
            release()
            raise
        tee = Tee(
            self.pipeline,
            self.max_unpacked_size,
            parsed,
            file,
            download,
            lambda message: self._refuse((project, file.filename, file.sha256), message),
            release,
            permit.upstream,
        )
        if not stream:
            return tee.consume()
        tee.prime()
        return Proxied(body=tee, size=tee.expected_size, etag=file.sha256)

    # -- pre-seeding (python -m registry mirror) -----------------------------------------

    def release_files(self, permit: UpstreamPermit, version: str) -> list[UpstreamFile]:
        """The upstream's files of one version of the project (PEP 440 equality).

        :raises NotFound | UpstreamError | UpstreamTimeout: no such project, or the upstream failed.
        """
        wanted = canonicalize_version(version)
        return [
            file
            for file in self.index(permit).project(permit.project).files
            if (parsed := _parse(permit, file)) is not None
            and canonicalize_version(str(parsed.version)) == wanted
        ]

    def fill(self, permit: UpstreamPermit, filename: str, sha256: str) -> FileRecord:
        """Fetch one upstream file into the store as its first download would: the upstream
        must list it with exactly this sha256, the bytes are checked against it, and the file is
        stored with its core-metadata file through the same pipeline. The cooldown applies.

        :raises NotFound: the upstream does not list this file with this sha256.
        :raises HeldBack | UpstreamError | UpstreamTimeout: held back, or the fetch failed.
        """
        if self.mode != "cache":
            raise NotSupported("Files are stored from the upstream only with pypi.fallback = cache")
        file, parsed = self._find(permit, sha256, filename)
        if file.sha256 != sha256:
            raise NotFound(f"File {filename!r} not found with sha256 {sha256}")
        self.cooldown.check(permit.project, file.filename, parsed.version, file.upload_time)
        found = self._fetch(permit, file, parsed, stream=False)
        assert isinstance(found, FileRecord)  # not streamed: stored, or the fetch raised
        return found

    # -- refused files -------------------------------------------------------------------

    def _refuse(self, file: tuple[str, str, str], message: str) -> None:
        """Remember a refused (project, filename, sha256) for a while: later requests get a 502 at once."""
        until = time.monotonic() + max(30.0, *(index.page_ttl for index in self.upstreams.values()))
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


def _parse(permit: UpstreamPermit, file: UpstreamFile) -> ParsedFilename | None:
    """The upstream file's name parts, if it is a distribution of exactly this project (an
    upstream file is never stored under another project's name)."""
    try:
        parsed = parse_filename(file.filename)
    except InvalidUpload:
        return None
    return parsed if parsed.project == permit.project else None
