"""The simple repository API: PEP 503 HTML and PEP 691 JSON, with PEPs 592, 629, 658/714, 700.

Links are relative (``../../packages/...``), so pages are correct behind any proxy, CDN or
path prefix without knowing the public host name. Pages are rendered once per serial and kept
(see ``pages``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from html import escape

from ..errors import NotAcceptable, NotFound
from ..models import FileRecord, ProjectSummary, format_time, version_sort_key
from .context import Services
from .pages import Page

API_VERSION = "1.1"
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


def sorted_files(files: Iterable[FileRecord]) -> list[FileRecord]:
    return sorted(files, key=lambda record: (version_sort_key(record.version), record.filename))


def file_url(record: FileRecord, prefix: str = PROJECT_FILES_PREFIX) -> str:
    return prefix + record.url_path.lstrip("/")


def _html_document(title: str, body_lines: Iterable[str]) -> bytes:
    head = (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        f'    <meta name="pypi:repository-version" content="{API_VERSION}">\n'
        f"    <title>{escape(title)}</title>\n  </head>\n  <body>\n    <h1>{escape(title)}</h1>\n"
    )
    return (head + "".join(body_lines) + "  </body>\n</html>\n").encode()


def _html_link(record: FileRecord) -> str:
    attributes = [f'href="{escape(file_url(record))}#sha256={record.sha256}"']
    if record.requires_python:
        attributes.append(f'data-requires-python="{escape(record.requires_python)}"')
    if record.metadata_sha256:
        metadata = f"sha256={record.metadata_sha256}"
        attributes.append(f'data-dist-info-metadata="{metadata}" data-core-metadata="{metadata}"')
    if record.yanked:
        attributes.append(f'data-yanked="{escape(record.yanked_reason)}"')
    return f"    <a {' '.join(attributes)}>{escape(record.filename)}</a><br/>\n"


def render_project_html(display_name: str, files: list[FileRecord]) -> bytes:
    return _html_document(f"Links for {display_name}", (_html_link(record) for record in files))


def file_json(record: FileRecord) -> dict[str, object]:
    metadata: dict[str, str] | bool = {"sha256": record.metadata_sha256} if record.metadata_sha256 else False
    entry: dict[str, object] = {
        "filename": record.filename,
        "url": file_url(record),
        "hashes": {"sha256": record.sha256},
        "core-metadata": metadata,
        "dist-info-metadata": metadata,
        "size": record.size,
        "upload-time": format_time(record.upload_time),
        "yanked": (record.yanked_reason or True) if record.yanked else False,
    }
    if record.requires_python:
        entry["requires-python"] = record.requires_python
    return entry


def render_project_json(project: str, files: list[FileRecord]) -> bytes:
    versions = sorted({record.version for record in files}, key=version_sort_key)
    document = {
        "meta": {"api-version": API_VERSION},
        "name": project,
        "versions": versions,
        "files": [file_json(record) for record in files],
    }
    return json.dumps(document, separators=(",", ":")).encode()


def render_project(project: str, files: list[FileRecord], content_type: str) -> Page:
    files = sorted_files(files)
    if content_type == V1_JSON:
        return Page.build(render_project_json(project, files), content_type)
    display_name = files[0].display_name if files else project
    return Page.build(render_project_html(display_name, files), content_type)


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


def project_page(services: Services, project: str, content_type: str) -> Page:
    """The page of a canonical project name.

    :raises NotFound: no such project.
    """
    serial = services.cache.project_serial(project)
    if serial is None:
        raise NotFound(f"Project {project!r} not found")
    return services.pages.get(
        ("simple", project, content_type),
        serial,
        lambda: render_project(project, services.cache.list_files(project), content_type),
    )


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
