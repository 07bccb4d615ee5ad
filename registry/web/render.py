"""Rendering the simple repository API: PEP 503 HTML and PEP 691 JSON, with PEPs 592, 629,
658/714, 700 and 708, from the ``Listing`` data the core returns.

Links are relative (``../../packages/...``), so pages are correct behind any proxy, CDN or
path prefix without knowing the public host name. Rendered pages are kept per data version
(``pages``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

from .. import jsonbytes
from ..core.listing import Link, Listing, Repository
from ..errors import NotAcceptable
from ..models import ProjectSummary
from .pages import Page

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
NO_REPOSITORY = Repository()
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


def api_version(repository: Repository) -> str:
    return API_VERSION_PEP_708 if repository.tracks or repository.alternate_locations else API_VERSION


def link_url(link: Link) -> str:
    """A link as the page writes it: files served here relative to the page."""
    return PROJECT_FILES_PREFIX + link.url.lstrip("/") if link.url.startswith("/") else link.url


def _html_document(title: str, body_lines: Iterable[str], repository: Repository = NO_REPOSITORY) -> bytes:
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
        f'    <meta name="pypi:repository-version" content="{api_version(repository)}">\n{meta}'
        f"    <title>{escape(title)}</title>\n  </head>\n  <body>\n    <h1>{escape(title)}</h1>\n"
    )
    # "replace": text that is no Unicode (a lone surrogate in a page kept by an older version,
    # before upstream text was cleaned on reading) becomes "?" instead of failing the page.
    return (head + "".join(body_lines) + "  </body>\n</html>\n").encode(errors="replace")


def _html_link(link: Link) -> str:
    href = link_url(link) + (f"#sha256={link.sha256}" if link.sha256 else "")
    attributes = [f'href="{escape(href)}"']
    if link.requires_python:
        attributes.append(f'data-requires-python="{escape(link.requires_python)}"')
    if link.has_metadata:
        metadata = f"sha256={link.metadata_sha256}" if link.metadata_sha256 else "true"
        attributes.append(f'data-dist-info-metadata="{metadata}" data-core-metadata="{metadata}"')
    if link.yanked:
        attributes.append(f'data-yanked="{escape(link.yanked_reason)}"')
    if link.upstream:  # not a standard attribute: which configured upstream the file comes from
        attributes.append(f'data-upstream="{escape(link.upstream)}"')
    return f"    <a {' '.join(attributes)}>{escape(link.filename)}</a><br/>\n"


def render_project_html(display_name: str, links: Sequence[Link], repository: Repository) -> bytes:
    return _html_document(f"Links for {display_name}", map(_html_link, links), repository)


def file_json(link: Link) -> dict[str, object]:
    metadata: dict[str, str] | bool = (
        {"sha256": link.metadata_sha256} if link.metadata_sha256 else link.has_metadata
    )
    entry: dict[str, object] = {
        "filename": link.filename,
        "url": link_url(link),
        "hashes": {"sha256": link.sha256} if link.sha256 else {},
        "core-metadata": metadata,
        "dist-info-metadata": metadata,
        "yanked": (link.yanked_reason or True) if link.yanked else False,
    }
    if link.size is not None:
        entry["size"] = link.size
    if link.uploaded:
        entry["upload-time"] = link.uploaded
    if link.requires_python:
        entry["requires-python"] = link.requires_python
    if link.upstream:  # a private key (PEP 691 reserves "_" names): the file's upstream
        entry["_upstream"] = link.upstream
    return entry


def render_project_json(project: str, links: Sequence[Link], repository: Repository) -> bytes:
    meta: dict[str, object] = {"api-version": api_version(repository)}
    if repository.tracks:
        meta["tracks"] = list(repository.tracks)
    document: dict[str, object] = {"meta": meta, "name": project}
    if repository.alternate_locations:
        document["alternate-locations"] = list(repository.alternate_locations)
    # A Listing's links are in version order already: keep the first of each, in order.
    document["versions"] = list(dict.fromkeys(link.version for link in links))
    document["files"] = [file_json(link) for link in links]
    return jsonbytes.dumps(document)


def render_project(listing: Listing, content_type: str) -> Page:
    """A project page in the negotiated content type."""
    if content_type == V1_JSON:
        return Page.build(
            render_project_json(listing.project, listing.links, listing.repository), content_type
        )
    return Page.build(
        render_project_html(listing.display_name, listing.links, listing.repository), content_type
    )


def render_index(projects: list[ProjectSummary], content_type: str) -> Page:
    """``/simple/`` in the negotiated content type."""
    projects = sorted(projects, key=lambda project: project.name)
    if content_type == V1_JSON:
        document = {
            "meta": {"api-version": API_VERSION},
            "projects": [{"name": project.display_name} for project in projects],
        }
        return Page.build(jsonbytes.dumps(document), content_type)
    links = (
        f'    <a href="{escape(project.name)}/">{escape(project.display_name)}</a><br/>\n'
        for project in projects
    )
    return Page.build(_html_document("Simple index", links), content_type)
