"""Read an upstream index's project page: PEP 691 JSON or PEP 503 HTML, into one model.

Everything the page says about a file is kept (hashes, requires-python, yanked and its reason,
core-metadata availability and hash, size, upload time) so the registry can serve it on. HTML
is read with the standard library's ``html.parser``; relative links are resolved against the
page's final URL (after redirects) or its ``<base href>``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from html.parser import HTMLParser
from types import MappingProxyType
from typing import Any, NamedTuple, cast
from urllib.parse import unquote, urljoin, urlsplit

from ..errors import UpstreamError
from ..models import parse_time

EMPTY: Mapping[str, str] = MappingProxyType({})
MAX_SIZE = 2**63 - 1  # a file size past this is no size (and no JSON encoder's integer)
_SURROGATE = re.compile("[\ud800-\udfff]")


def text_of(value: object) -> str:
    """A value of a JSON page as text that is valid Unicode: JSON may escape a lone UTF-16
    surrogate (``"\\ud800"``), which is no character, and which strict UTF-8 encoders and the
    JSON parsers of clients such as uv refuse; each becomes U+FFFD, as a decoder would make it."""
    text = value if isinstance(value, str) else str(value)
    return text if text.isascii() else _SURROGATE.sub("\ufffd", text)


@dataclass(frozen=True)
class UpstreamFile:
    """One file as the upstream page lists it. ``url`` is absolute and carries no fragment."""

    filename: str
    url: str
    hashes: Mapping[str, str] = field(default_factory=dict)
    requires_python: str = ""
    yanked: bool = False
    yanked_reason: str = ""
    has_metadata: bool = False
    metadata_hashes: Mapping[str, str] = field(default_factory=dict)
    size: int | None = None
    upload_time: datetime | None = None

    @property
    def sha256(self) -> str:
        """The upstream's sha256 if it gave a well-formed one, else ""."""
        digest = self.hashes.get("sha256", "").lower()
        return digest if len(digest) == 64 and not digest.strip("0123456789abcdef") else ""

    @property
    def metadata_sha256(self) -> str:
        return self.metadata_hashes.get("sha256", "").lower()


@dataclass(frozen=True)
class UpstreamProject:
    """A project page from upstream; ``serial`` changes each time the page is fetched again."""

    name: str
    url: str
    files: Sequence[UpstreamFile]
    serial: int = 0
    api_version: str = ""
    versions: tuple[str, ...] = field(default_factory=tuple)


def hashes_of(value: object) -> Mapping[str, str]:
    if not isinstance(value, dict) or not value:
        return EMPTY
    if len(value) == 1 and type(value.get("sha256")) is str:  # the usual entry, taken as it is
        return MappingProxyType(value)
    return MappingProxyType({str(k).lower(): str(v) for k, v in value.items() if isinstance(v, str)})


def _time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_time(value)
    except ValueError:
        return None


def _http_url(url: str) -> bool:
    return urlsplit(url).scheme in ("http", "https")


def joiner(base: str) -> Callable[[str], str | None]:
    """Resolve links against ``base`` into absolute http(s) URLs without fragments (None if not).

    A big page lists thousands of links that differ only after a common start (``../../``, an
    absolute ``/``, or a full URL): only that start is resolved, once, and the rest appended,
    which is what makes parsing a 6 MB page take a fraction of a second instead of seconds.
    Anything unusual (dot segments further in, a query) takes the general path.
    """
    bases: dict[str, str | None] = {}

    def general(link: str) -> str | None:
        url = urljoin(base, link)
        return url if _http_url(url) else None

    def join(link: str) -> str | None:
        link = link.partition("#")[0]
        if link.startswith(("http://", "https://")):
            return link if "/./" not in link and "/../" not in link else general(link)
        if link.startswith("//"):
            return general(link)  # another host, same scheme
        start = 0
        while link.startswith(("../", "./"), start):
            start = link.index("/", start) + 1
        if start == 0 and link.startswith("/"):
            start = 1
        rest = link[start:]
        wrapped = f"/{rest}/"
        dotted = "/./" in wrapped or "/../" in wrapped
        if not rest or dotted or rest.endswith("/") or "?" in rest or ":" in rest.split("/", 1)[0]:
            return general(link)
        prefix = link[:start]
        if prefix not in bases:
            bases[prefix] = general(prefix or "./")
        found = bases[prefix]
        return None if found is None else found + rest

    return join


class JsonEntry(NamedTuple):
    """The fields of one PEP 691 ``files`` entry, checked for type; hashes, core-metadata and
    upload time as the page gives them (each reader keeps them its own way)."""

    filename: str
    url: str
    hashes: object
    requires_python: str
    yanked: bool
    yanked_reason: str
    metadata: object
    size: int | None
    upload_time: object


def json_entry(entry: object, join: Callable[[str], str | None]) -> JsonEntry | None:
    """One entry of a PEP 691 page's ``files``, or None if it is unusable."""
    if not isinstance(entry, dict) or not entry.get("filename") or not entry.get("url"):
        return None
    url = join(text_of(entry["url"]))
    if url is None:
        return None
    yanked = entry.get("yanked", False)
    size = entry.get("size")
    return JsonEntry(
        filename=text_of(entry["filename"]),
        url=url,
        hashes=entry.get("hashes"),
        requires_python=text_of(entry.get("requires-python") or ""),
        yanked=bool(yanked),
        yanked_reason=text_of(yanked) if isinstance(yanked, str) else "",
        metadata=entry.get("core-metadata", entry.get("dist-info-metadata", False)),
        size=size if type(size) is int and 0 < size <= MAX_SIZE else None,
        upload_time=entry.get("upload-time"),
    )


def _json_file(entry: object, join: Callable[[str], str | None]) -> UpstreamFile | None:
    """One entry of a PEP 691 page's ``files`` as a file, or None if it is unusable."""
    found = json_entry(entry, join)
    if found is None:
        return None
    return UpstreamFile(
        filename=found.filename,
        url=found.url,
        hashes=hashes_of(found.hashes),
        requires_python=found.requires_python,
        yanked=found.yanked,
        yanked_reason=found.yanked_reason,
        has_metadata=bool(found.metadata),
        metadata_hashes=hashes_of(found.metadata),
        size=found.size,
        upload_time=_time(found.upload_time),
    )


def load_json_page(body: bytes) -> dict[str, Any]:
    """A PEP 691 page's JSON document, with a list of ``files``.

    :raises UpstreamError: not JSON, or not shaped like a project page.
    """
    try:
        document = json.loads(body)
        if not isinstance(document["files"], list):
            raise TypeError("files is not a list")
    except (ValueError, KeyError, TypeError) as exc:
        raise UpstreamError(f"The upstream index sent an unreadable JSON project page ({exc})") from exc
    return cast(dict[str, Any], document)


def project_of(document: dict[str, Any], page_url: str, files: Sequence[UpstreamFile]) -> UpstreamProject:
    """The project a PEP 691 document describes, with its ``files`` read by the caller."""
    meta = document["meta"] if isinstance(document.get("meta"), dict) else {}
    versions = document.get("versions")
    return UpstreamProject(
        name=text_of(document.get("name") or ""),
        url=page_url,
        files=files,
        api_version=text_of(meta.get("api-version") or ""),
        versions=tuple(text_of(v) for v in versions) if isinstance(versions, list) else (),
    )


def parse_json(body: bytes, page_url: str) -> UpstreamProject:
    """A PEP 691 project page.

    :raises UpstreamError: not JSON, or not shaped like a project page.
    """
    document = load_json_page(body)
    join = joiner(page_url)
    files = tuple(file for entry in document["files"] if (file := _json_file(entry, join)) is not None)
    return project_of(document, page_url, files)


def _fragment_hashes(fragment: str) -> Mapping[str, str]:
    name, _, value = fragment.partition("=")
    return MappingProxyType({name.lower(): value}) if name and value else EMPTY


def _metadata_attribute(value: str | None) -> tuple[bool, Mapping[str, str]]:
    """``data-core-metadata``: absent, ``true``, or ``<algorithm>=<hash>``."""
    if value is None:
        return False, EMPTY
    if "=" in value:
        return True, _fragment_hashes(value)
    return value.strip().lower() != "false", EMPTY


class _LinkParser(HTMLParser):
    """Collects ``<a>`` elements, ``<base href>`` and ``pypi:`` meta tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.meta: dict[str, str] = {}
        self.anchors: list[tuple[dict[str, str | None], str]] = []
        self._open: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "base" and self.base is None and attributes.get("href"):
            self.base = attributes["href"]
        elif tag == "meta" and (attributes.get("name") or "").startswith("pypi:"):
            self.meta[str(attributes["name"])] = attributes.get("content") or ""
        elif tag == "a" and attributes.get("href"):
            self._open, self._text = attributes, []

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open is not None:
            self.anchors.append((self._open, "".join(self._text).strip()))
            self._open = None


def parse_html(body: bytes, page_url: str, charset: str = "utf-8") -> UpstreamProject:
    """A PEP 503 project page (with the data- attributes of PEPs 592, 629, 658 and 714)."""
    parser = _LinkParser()
    try:
        text = body.decode(charset, errors="replace")
    except LookupError:
        text = body.decode("utf-8", errors="replace")
    parser.feed(text)
    parser.close()
    base = urljoin(page_url, parser.base) if parser.base else page_url
    files = []
    join = joiner(base)
    for attributes, label in parser.anchors:
        href = str(attributes["href"])
        url, fragment = join(href), href.partition("#")[2]
        if url is None:
            continue
        filename = label or unquote(urlsplit(url).path.rsplit("/", 1)[-1])
        yanked_reason = attributes.get("data-yanked")
        has_metadata, metadata_hashes = _metadata_attribute(
            attributes.get("data-core-metadata", attributes.get("data-dist-info-metadata"))
        )
        files.append(
            UpstreamFile(
                filename=filename,
                url=url,
                hashes=_fragment_hashes(fragment),
                requires_python=attributes.get("data-requires-python") or "",
                yanked="data-yanked" in attributes,
                yanked_reason=yanked_reason or "",
                has_metadata=has_metadata,
                metadata_hashes=metadata_hashes,
            )
        )
    return UpstreamProject(
        name="",
        url=page_url,
        files=tuple(files),
        api_version=parser.meta.get("pypi:repository-version", ""),
    )


def parse_page(body: bytes, content_type: str, page_url: str) -> UpstreamProject:
    """Parse by content type: JSON when the upstream said so, HTML otherwise."""
    media_type, _, params = content_type.partition(";")
    if "json" in media_type.lower():
        return parse_json(body, page_url)
    charset = "utf-8"
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.lower() == "charset" and value:
            charset = value.strip('"')
    return parse_html(body, page_url, charset)
