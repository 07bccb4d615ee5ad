"""A README rendered the way the public index renders it, and other helpers for metadata.

``readme_renderer`` (the library made for this) turns Markdown (GitHub-flavoured unless the
content type says ``variant=CommonMark``), reStructuredText and plain text into HTML, and
sanitizes it with an allow-list (no script, no event handlers, no ``javascript:`` links). reST
that fails to render is shown as plain text, as the public index does. The result is kept with
the project page, so rendering happens once per project change.
"""

from __future__ import annotations

from email.message import Message
from urllib.parse import urlsplit

from markupsafe import Markup, escape
from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from readme_renderer import markdown, rst, txt

from ...core.readme import Description


def _content_type(declared: str) -> tuple[str, dict[str, str]]:
    message = Message()
    message["Content-Type"] = declared or "text/x-rst"
    params = {key.lower(): str(value) for key, value in message.get_params(failobj=[])[1:]}
    return message.get_content_type(), params


def render_readme(description: Description | None) -> Markup:
    """Safe HTML for a description; an empty Markup when there is none."""
    if description is None:
        return Markup("")
    kind, params = _content_type(description.content_type)
    rendered: str | None = None
    if kind == "text/markdown":
        variant = params.get("variant", "GFM")
        rendered = markdown.render(description.text, variant=variant if variant == "CommonMark" else "GFM")
    elif kind == "text/x-rst":
        rendered = rst.render(description.text)
    if rendered is None:  # plain text, an unknown type, or reST that does not render
        rendered = txt.render(description.text)
    return Markup(rendered or "")


def safe_url(url: object) -> str:
    """``url`` when it is an http(s) URL (safe to link), else empty (shown as text).

    >>> safe_url("https://example.invalid/x"), safe_url("javascript:alert(1)")
    ('https://example.invalid/x', '')
    """
    text = str(url or "").strip()
    return text if urlsplit(text).scheme in ("http", "https") else ""


def project_links(info: dict[str, object]) -> list[tuple[str, str]]:
    """(label, URL) of a release's project URLs and home page."""
    found: list[tuple[str, str]] = []
    urls = info.get("project_urls")
    for entry in urls if isinstance(urls, list) else []:
        label, _, url = str(entry).partition(",")
        found.append((label.strip() or "Link", url.strip()))
    for key, label in (("home_page", "Homepage"), ("download_url", "Download")):
        if info.get(key) and all(url != info[key] for _, url in found):
            found.append((label, str(info[key])))
    return found


def python_tag(filename: str) -> str:
    """A wheel's Python tags (``py3``, ``cp311``) or ``source`` for an sdist."""
    if not filename.endswith(".whl"):
        return "source"
    try:
        tags = parse_wheel_filename(filename)[3]
    except (InvalidWheelFilename, ValueError):
        return ""
    return ", ".join(sorted({tag.interpreter for tag in tags}))


def lines(value: object) -> Markup:
    """Text with its line breaks kept (escaped)."""
    return Markup("<br>").join(escape(line) for line in str(value or "").splitlines())
