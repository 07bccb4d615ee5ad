"""Every read, in one place: the index, a project's page, its JSON API data, a file.

Each query checks that the caller may read, asks ``Sources`` whether the upstream may be
consulted (with the canonical name), and returns data (``listing``) for the web layer to
render. A project hidden from the caller answers exactly like one that does not exist.
"""

from __future__ import annotations

import dataclasses
import hashlib

from packaging.utils import NormalizedName

from ..access import Identity, Permissions
from ..cache import Cache
from ..errors import NotFound
from ..models import METADATA_SUFFIX, FileRecord, ProjectSummary
from ..storage import Storage
from .fallback import Fallback
from .lastuse import LastUse
from .listing import Listing, Proxied, Redirect, StoredFile, Versioned
from .pipeline import FilePipeline
from .projects import ProjectList
from .sources import Decision, Sources


class Reads:
    """The read queries behind the simple API, the JSON API, file downloads and the web UI."""

    def __init__(
        self,
        cache: Cache,
        storage: Storage,
        pipeline: FilePipeline,
        permissions: Permissions,
        sources: Sources,
        fallback: Fallback | None,
        *,
        verify_files: bool = False,
        last_use: LastUse | None = None,
        projects: ProjectList | None = None,
    ) -> None:
        self.cache = cache
        self.projects = projects or ProjectList(cache)
        self.storage = storage
        self.pipeline = pipeline
        self.permissions = permissions
        self.sources = sources
        self.fallback = fallback
        self.verify_files = verify_files  # files can be replaced: check bytes before serving
        self.last_use = last_use  # notes when cached upstream files are served (for prune)

    def index(self, caller: Identity) -> Versioned[list[ProjectSummary]]:
        """Every project the caller may read.

        A filtered list is keyed by the digest of the names it shows, so callers who see the
        same projects share one rendering.

        :raises Unauthorized | Forbidden: the caller may read nothing here.
        """
        self.permissions.require_list(caller)
        serial = self.cache.index_serial()
        public = self.permissions.reads_are_public
        if self.permissions.sees_everything(caller):
            return Versioned(("index",), serial, lambda: self.projects.at(serial), public)
        shown = [p for p in self.projects.at(serial) if self.permissions.can_read(caller, p.name)]
        names = "\n".join(sorted(project.name for project in shown)).encode()
        key = ("index", hashlib.blake2b(names, digest_size=16).digest())
        return Versioned(key, serial, lambda: shown, public)

    def project(self, caller: Identity, project: NormalizedName) -> Versioned[Listing] | Redirect:
        """A project's page: its stored files, or the upstream's where ``Sources`` allows.

        :raises NotFound: no such project (or hidden from the caller).
        :raises Unauthorized | Forbidden: the caller may not read it.
        :raises UpstreamError | UpstreamTimeout: the upstream was needed and failed.
        """
        public = self._require_read(caller, project, NotFound(f"Project {project!r} not found"))
        decision = self.sources.decide(project)
        if decision.upstream is not None and self.fallback is not None:
            return self.fallback.listing(decision.upstream, lambda: self._local(decision, public), public)
        return self._local(decision, public)

    def _local(self, decision: Decision, public: bool) -> Versioned[Listing]:
        project, serial = decision.project, decision.serial
        if serial is None:
            raise NotFound(f"Project {project!r} not found")

        def load() -> Listing:
            files = self.cache.list_files(project)
            if decision.uploads_only:  # a local project keeps upstream copies off its page
                files = [record for record in files if not record.origin]
            return Listing.of_records(project, files)

        return Versioned(("local", project, decision.uploads_only), serial, load, public)

    def records(self, caller: Identity, project: NormalizedName) -> Versioned[list[FileRecord]]:
        """Every record of a project stored here (for the JSON API).

        :raises NotFound: no such project (or hidden from the caller).
        """
        public = self._require_read(caller, project, NotFound(f"Project {project!r} not found"))
        serial = self.cache.project_serial(project)
        if serial is None:
            raise NotFound(f"Project {project!r} not found")
        return Versioned(("records", project), serial, lambda: self.cache.list_files(project), public)

    def file(
        self, caller: Identity, project: NormalizedName, digest: str, filename: str, *, stream: bool
    ) -> StoredFile | Proxied | Redirect:
        """A package file or its ``.metadata`` file: stored, or from the upstream where allowed.

        ``stream``: an upstream file may be sent while it arrives (a plain GET).

        :raises NotFound: no such file, or the hash in the URL is not this file's.
        :raises UpstreamError | UpstreamTimeout: the upstream was needed and failed.
        """
        public = self._require_read(caller, project, NotFound(f"File {filename!r} not found"))
        try:
            record, wants_metadata = self._find_record(project, digest, filename)
        except NotFound:
            decision = self.sources.decide(project)
            if decision.upstream is None or self.fallback is None:
                raise
            found = self.fallback.missing_file(
                decision.upstream, digest, filename, lambda: self._authorize_fill(caller), stream=stream
            )
            if isinstance(found, Redirect):
                return found
            if isinstance(found, Proxied):
                self._used(project, filename)
                return dataclasses.replace(found, public=public)
            record, wants_metadata = found, False
        if record.origin and not wants_metadata:
            self._used(project, record.filename)
        return self._stored(record, wants_metadata, public)

    def _used(self, project: NormalizedName, filename: str) -> None:
        if self.last_use is not None and not filename.endswith(METADATA_SUFFIX):
            self.last_use.touch(project, filename)

    def _require_read(self, caller: Identity, project: NormalizedName, hidden: NotFound) -> bool:
        """Check the caller may read ``project``; whether everyone may (a shareable answer)."""
        self.permissions.require_read(caller, project, hidden)
        return self.permissions.is_public(project)

    def _authorize_fill(self, caller: Identity) -> None:
        allowed = self.permissions.can_update_cache(caller)
        self.permissions.require(caller, allowed, "fetch files from the upstream index into this registry")

    def _find_record(self, project: NormalizedName, digest: str, filename: str) -> tuple[FileRecord, bool]:
        """(record, whether the metadata file was asked for).

        :raises NotFound: no such file, or the hash in the URL is not this file's.
        """
        # A distribution's own name never ends in ".metadata" (.whl, .tar.gz, .zip): one lookup.
        wants_metadata = filename.endswith(METADATA_SUFFIX)
        record = self.cache.get_file(project, filename.removesuffix(METADATA_SUFFIX))
        if record is None or not record.sha256.startswith(digest) or len(digest) < 8:
            raise NotFound(f"File {filename!r} not found")
        if wants_metadata and not record.metadata_sha256:
            raise NotFound(f"File {filename!r} not found: {record.filename} has no metadata file")
        return record, wants_metadata

    def _stored(self, record: FileRecord, wants_metadata: bool, public: bool) -> StoredFile | Redirect:
        key = record.metadata_key if wants_metadata else record.key
        if not wants_metadata and (url := self.storage.download_url(key)):
            return Redirect(url)
        stored = self.storage.open(key)
        if self.verify_files:
            checked = self.pipeline.matches(record, stored, wants_metadata)
            if checked is None:  # replaced a moment ago: never serve the new bytes under this URL
                shown = record.filename + (METADATA_SUFFIX if wants_metadata else "")
                raise NotFound(f"File {shown!r} not found")
            stored = checked
        if wants_metadata:
            return StoredFile(stored, record.metadata_sha256, "text/plain", public)
        return StoredFile(stored, record.sha256, "application/octet-stream", public)
