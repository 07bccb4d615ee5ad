"""The web UI's project page: the same query as ``/simple/<project>/``, plus the README.

``ProjectPages.page`` asks ``Reads.project`` (permissions, local or upstream, the listing and
its version) and adds what a person reads: the release history, the shown version's core
metadata, and its description. Loading is deferred like every ``Versioned`` value, so a page
kept for the project's serial costs exactly what the simple page costs (one serial read); a
page built after a change costs the simple page's reads plus one Storage read for the README.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from packaging.utils import NormalizedName

from ..access import Identity
from .listing import Link, Listing, Redirect, Versioned
from .manage import find_version
from .readme import Description, Descriptions
from .reads import Reads
from .releases import Release, latest_version, release_records, releases


@dataclass(frozen=True)
class ProjectPage:
    """Everything the project page shows, for one version of one project."""

    project: NormalizedName
    display_name: str
    version: str  # the version shown ("" when the project lists no file)
    latest: str
    releases: tuple[Release, ...]
    files: tuple[Link, ...]  # the shown version's files
    info: Mapping[str, Any]  # the shown version's core metadata (empty when not stored here)
    description: Description | None
    cached: frozenset[str]  # filenames stored here that were cached from the upstream
    upstream_url: str  # the upstream's page for the project, when files come from there
    mirrored: bool  # every file comes from the upstream
    upstream: str = ""  # the name of the upstream its files come from (pypi.upstreams)


class ProjectPages:
    """Builds project pages from ``Reads.project`` and the stored descriptions."""

    def __init__(self, reads: Reads, descriptions: Descriptions) -> None:
        self.reads = reads
        self.descriptions = descriptions

    def page(
        self, caller: Identity, project: NormalizedName, version: str | None = None
    ) -> Versioned[ProjectPage] | Redirect:
        """A project's page at its latest version, or at ``version``.

        :raises NotFound: no such project or version (or hidden from the caller).
        :raises Unauthorized | Forbidden: the caller may not read it.
        :raises UpstreamError | UpstreamTimeout: the upstream was needed and failed.
        """
        answer = self.reads.project(caller, project)
        if isinstance(answer, Redirect):
            return answer
        return Versioned(
            ("project-page", answer.key, version or ""),
            answer.version,
            lambda: self._build(answer.load(), version),
            answer.public,
        )

    def _build(self, listing: Listing, wanted: str | None) -> ProjectPage:
        links = listing.links
        version = latest_version(links)
        if wanted is not None:
            version = find_version(sorted({link.version for link in links}), wanted)
        records = release_records(listing.records, version)
        repository = listing.repository
        upstream = (repository.tracks or repository.alternate_locations or ("",))[0]
        return ProjectPage(
            project=listing.project,
            display_name=listing.display_name,
            version=version,
            latest=latest_version(links),
            releases=tuple(releases(links)),
            files=tuple(link for link in links if link.version == version),
            info=dict(records[0].info) if records else {},
            description=self.descriptions.of_release(records),
            cached=frozenset(record.filename for record in listing.records if record.origin),
            upstream_url=upstream,
            mirrored=bool(repository.tracks),
            upstream=next((link.upstream for link in links if link.upstream), ""),
        )
