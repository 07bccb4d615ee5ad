"""The simple repository API: PEP 503 HTML and PEP 691 JSON, with PEPs 592, 629, 658/714, 700, 708.

Links are relative (``../../packages/...``), so pages are correct behind any proxy, CDN or
path prefix without knowing the public host name. Pages are rendered once per serial and kept
(see ``pages``). A page lists ``Link``s: files stored here, or files known from the upstream
index (see ``fallback``), which is the one place that decides which a project shows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import TYPE_CHECKING, Protocol, TypeVar

from ..errors import NotAcceptable, NotFound
from ..models import FileRecord, ProjectSummary, format_time, version_sort_key
from .pages import Page, Redirect

if TYPE_CHECKING:
    from .context import Services

API_VERSION = "1.1"
API_VERSION_PEP_708 = "1.2"  # pages that carry tracks / alternate-locations
HTML = "text/html"
V1_HTML = "application/vnd.pypi.simple.v1+html"
V1_JSON = "application/vnd.pypi.simple.v1+json"
# What a client may ask for, in our order of preference for ties (text/html first, so a
# browser or an old client sending */* gets HTML), and the content type each is served as.
OFFERED = {
    HTML: HTML,
    V1_HTML: V1_HTML,
    V1_JSON: V1_JSON,
    "application/vnd.pypi.simple.latest+html": V1_HTML,
    "application/vnd.pypi.simple.latest+json": V1_JSON,
}
PROJECT_FILES_PREFIX = "../../"  # from /simple/<project>/ back to the site root


def choose_content_type(format_param: str | None, best_match: str | None, has_accept: bool) -> str:
    """The content type to serve, from ``?format=`` or the negotiated ``Accept`` match.

    :raises NotAcceptable: nothing offered fits.
    """
    if format_param:
        if format_param in OFFERED:
            return OFFERED[format_param]
        raise NotAcceptable(f"Unsupported format {format_param!r}: use one of {', '.join(OFFERED)}")
    if not has_accept:
        return HTML
    if best_match is None:
        raise NotAcceptable(
            f"None of the requested content types is available: use one of {', '.join(OFFERED)}"
        )
    return OFFERED[best_match]


class _Versioned(Protocol):
    @property
    def version(self) -> str: ...

    @property
    def filename(self) -> str: ...


Sortable = TypeVar("Sortable", bound=_Versioned)


def sorted_files(files: Iterable[Sortable]) -> list[Sortable]:
    return sorted(files, key=lambda item: (version_sort_key(item.version), item.filename))


def file_url(record: FileRecord, prefix: str = PROJECT_FILES_PREFIX) -> str:
    return prefix + record.url_path.lstrip("/")


@dataclass(frozen=True)
class Link:
    """One file as a project page lists it. Unknown ``size``/``upload_time`` are left out."""

    filename: str
    version: str
    url: str
    sha256: str = ""
    requires_python: str = ""
    has_metadata: bool = False
    metadata_sha256: str = ""
    yanked: bool = False
    yanked_reason: str = ""
    size: int | None = None
    upload_time: datetime | None = None

    @classmethod
    def of(cls, record: FileRecord) -> Link:
        """The link to a file stored here."""
        return cls(
            filename=record.filename,
            version=record.version,
            url=file_url(record),
            sha256=record.sha256,
            requires_python=record.requires_python,
            has_metadata=bool(record.metadata_sha256),
            metadata_sha256=record.metadata_sha256,
            yanked=record.yanked,
            yanked_reason=record.yanked_reason,
            size=record.size,
            upload_time=record.upload_time,
        )


@dataclass(frozen=True)
class Repository:
    """PEP 708 data about where else this project lives (absolute URLs, no credentials)."""

    tracks: tuple[str, ...] = ()
    alternate_locations: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return API_VERSION_PEP_708 if self.tracks or self.alternate_locations else API_VERSION


def _html_document(title: str, body_lines: Iterable[str], repository: Repository = Repository()) -> bytes:
    meta = "".join(
        f'    <meta name="pypi:{name}" content="{escape(url)}">\n'
        for name, urls in (
            ("tracks", repository.tracks),
            ("alternate-locations", repository.alternate_locations),
        )
        for url in urls
    )
    head = (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        f'    <meta name="pypi:repository-version" content="{repository.api_version}">\n{meta}'
        f"    <title>{escape(title)}</title>\n  </head>\n  <body>\n    <h1>{escape(title)}</h1>\n"
    )
    return (head + "".join(body_lines) + "  </body>\n</html>\n").encode()


def _html_link(link: Link) -> str:
    href = link.url + (f"#sha256={link.sha256}" if link.sha256 else "")
    attributes = [f'href="{escape(href)}"']
    if link.requires_python:
        attributes.append(f'data-requires-python="{escape(link.requires_python)}"')
    if link.has_metadata:
        metadata = f"sha256={link.metadata_sha256}" if link.metadata_sha256 else "true"
        attributes.append(f'data-dist-info-metadata="{metadata}" data-core-metadata="{metadata}"')
    if link.yanked:
        attributes.append(f'data-yanked="{escape(link.yanked_reason)}"')
    return f"    <a {' '.join(attributes)}>{escape(link.filename)}</a><br/>\n"


def render_project_html(display_name: str, links: Sequence[Link], repository: Repository) -> bytes:
    return _html_document(f"Links for {display_name}", map(_html_link, links), repository)


def file_json(link: Link) -> dict[str, object]:
    metadata: dict[str, str] | bool = (
        {"sha256": link.metadata_sha256} if link.metadata_sha256 else link.has_metadata
    )
    entry: dict[str, object] = {
        "filename": link.filename,
        "url": link.url,
        "hashes": {"sha256": link.sha256} if link.sha256 else {},
        "core-metadata": metadata,
        "dist-info-metadata": metadata,
        "yanked": (link.yanked_reason or True) if link.yanked else False,
    }
    if link.size is not None:
        entry["size"] = link.size
    if link.upload_time is not None:
        entry["upload-time"] = format_time(link.upload_time)
    if link.requires_python:
        entry["requires-python"] = link.requires_python
    return entry


def render_project_json(project: str, links: Sequence[Link], repository: Repository) -> bytes:
    meta: dict[str, object] = {"api-version": repository.api_version}
    if repository.tracks:
        meta["tracks"] = list(repository.tracks)
    document: dict[str, object] = {"meta": meta, "name": project}
    if repository.alternate_locations:
        document["alternate-locations"] = list(repository.alternate_locations)
    document["versions"] = sorted({link.version for link in links}, key=version_sort_key)
    document["files"] = [file_json(link) for link in links]
    return json.dumps(document, separators=(",", ":")).encode()


def render_project(
    project: str,
    display_name: str,
    links: Iterable[Link],
    content_type: str,
    repository: Repository = Repository(),
) -> Page:
    ordered = sorted_files(links)
    if content_type == V1_JSON:
        return Page.build(render_project_json(project, ordered, repository), content_type)
    return Page.build(render_project_html(display_name, ordered, repository), content_type)


def render_records(project: str, files: list[FileRecord], content_type: str) -> Page:
    """The page of files stored here."""
    display_name = sorted_files(files)[0].display_name if files else project
    return render_project(project, display_name, map(Link.of, files), content_type)


def render_index(projects: list[ProjectSummary], content_type: str) -> Page:
    projects = sorted(projects, key=lambda project: project.name)
    if content_type == V1_JSON:
        document = {
            "meta": {"api-version": API_VERSION},
            "projects": [{"name": project.display_name} for project in projects],
        }
        return Page.build(json.dumps(document, separators=(",", ":")).encode(), content_type)
    links = (
        f'    <a href="{escape(project.name)}/">{escape(project.display_name)}</a><br/>\n'
        for project in projects
    )
    return Page.build(_html_document("Simple index", links), content_type)


def project_page(services: Services, project: str, content_type: str) -> Page | Redirect:
    """The page of a canonical project name; the upstream fallback decides when it applies.

    :raises NotFound: no such project.
    :raises UpstreamError | UpstreamTimeout: the fallback needed the upstream and it failed.
    """
    serial = services.cache.project_serial(project)
    # A name with package.* rules belongs here: never looked up upstream (dependency confusion).
    if services.fallback.applies_to(project) and not services.access.has_rules(project):
        return services.fallback.project_page(services, project, serial, content_type)
    if serial is None:
        raise NotFound(f"Project {project!r} not found")
    return local_page(services, project, serial, content_type)


def local_page(
    services: Services, project: str, serial: int, content_type: str, *, uploads_only: bool = False
) -> Page:
    """The page of the files stored here (only uploaded ones, leaving out upstream copies)."""

    def render() -> Page:
        files = services.cache.list_files(project)
        if uploads_only:
            files = [record for record in files if not record.origin]
        return render_records(project, files, content_type)

    return services.pages.get(("simple", project, content_type, uploads_only), serial, render)


def index_page(services: Services, content_type: str, visible: Callable[[str], bool] | None = None) -> Page:
    """The ``/simple/`` page listing every project, or those for which ``visible`` is true.

    A filtered page is kept under the digest of the names it shows, so callers who see the
    same projects share one rendering.
    """
    serial = services.cache.index_serial()
    if visible is None:
        return services.pages.get(
            ("simple-index", content_type),
            serial,
            lambda: render_index(services.cache.list_projects(), content_type),
        )
    shown = [project for project in services.cache.list_projects() if visible(project.name)]
    names = "\n".join(sorted(project.name for project in shown)).encode()
    key = ("simple-index", content_type, hashlib.blake2b(names, digest_size=16).digest())
    return services.pages.get(key, serial, lambda: render_index(shown, content_type))
