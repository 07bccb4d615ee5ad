"""Reading upstream project pages: PEP 503 HTML and PEP 691 JSON, everything kept."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest

from registry.errors import UpstreamError
from registry.upstream import parse_html, parse_json, parse_page
from registry.upstream.pages import joiner

SHA = "a" * 64
META = "b" * 64
PAGE_URL = "http://127.0.0.1:9/simple/demo/"


def test_html_page_keeps_every_attribute() -> None:
    body = f"""<!DOCTYPE html><html><head>
    <meta name="pypi:repository-version" content="1.1"></head><body>
    <a href="../../files/demo-1.0-py3-none-any.whl#sha256={SHA}" data-requires-python="&gt;=3.8"
       data-core-metadata="sha256={META}" data-yanked="broken &amp; bad">demo-1.0-py3-none-any.whl</a><br/>
    <a href="https://files.example/demo-1.0.tar.gz#md5=abc" data-dist-info-metadata="true">demo-1.0.tar.gz</a>
    <a href="javascript:alert(1)">demo-2.0.tar.gz</a>
    </body></html>""".encode()
    page = parse_html(body, PAGE_URL)
    assert page.api_version == "1.1"
    wheel, sdist = page.files
    assert wheel.url == "http://127.0.0.1:9/files/demo-1.0-py3-none-any.whl"
    assert wheel.sha256 == SHA and wheel.requires_python == ">=3.8"
    assert wheel.yanked and wheel.yanked_reason == "broken & bad"
    assert wheel.has_metadata and wheel.metadata_sha256 == META
    assert sdist.url == "https://files.example/demo-1.0.tar.gz"
    assert sdist.sha256 == "" and sdist.hashes == {"md5": "abc"}
    assert sdist.has_metadata and sdist.metadata_sha256 == "" and not sdist.yanked


def test_html_base_href_and_label_fallback() -> None:
    body = b'<base href="http://mirror.example/pkgs/"><a href="demo-1.0.tar.gz"></a>'
    (only,) = parse_html(body, PAGE_URL).files
    assert only.url == "http://mirror.example/pkgs/demo-1.0.tar.gz"
    assert only.filename == "demo-1.0.tar.gz"


def test_json_page_keeps_every_field() -> None:
    document = {
        "meta": {"api-version": "1.1"},
        "name": "Demo",
        "versions": ["1.0"],
        "files": [
            {
                "filename": "demo-1.0-py3-none-any.whl",
                "url": "../../packages/demo-1.0-py3-none-any.whl",
                "hashes": {"sha256": SHA.upper()},
                "requires-python": ">=3.9",
                "core-metadata": {"sha256": META},
                "size": 1234,
                "upload-time": "2024-05-01T10:00:00.000000Z",
                "yanked": "use 1.1",
            },
            {"filename": "demo-1.0.tar.gz", "url": "file:///etc/passwd", "hashes": {}},
            {"filename": "demo-0.9.tar.gz", "url": "/x/demo-0.9.tar.gz", "hashes": {}, "yanked": True},
        ],
    }
    page = parse_json(json.dumps(document).encode(), PAGE_URL)
    assert page.name == "Demo" and page.versions == ("1.0",) and page.api_version == "1.1"
    wheel, old = page.files  # the file: URL is dropped
    assert wheel.url == "http://127.0.0.1:9/packages/demo-1.0-py3-none-any.whl"
    assert wheel.sha256 == SHA and wheel.size == 1234
    assert wheel.upload_time == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert wheel.yanked and wheel.yanked_reason == "use 1.1"
    assert wheel.has_metadata and wheel.metadata_sha256 == META
    assert old.yanked and old.yanked_reason == "" and old.size is None and old.upload_time is None


def test_content_type_picks_the_parser() -> None:
    json_body = json.dumps({"meta": {}, "name": "x", "files": []}).encode()
    assert parse_page(json_body, "application/vnd.pypi.simple.v1+json", PAGE_URL).name == "x"
    latin = '<a href="x-1.0.tar.gz">x-1.0.tar.gz</a><!-- é -->'.encode("latin-1")
    assert len(parse_page(latin, "text/html; charset=ISO-8859-1", PAGE_URL).files) == 1


def test_bad_json_is_an_upstream_error() -> None:
    import pytest

    from registry.errors import UpstreamError

    with pytest.raises(UpstreamError):
        parse_json(b"<html>", PAGE_URL)


@pytest.mark.parametrize(
    "link",
    [
        "../../files/a/b/x.whl#sha256=1", "x.whl", "./x.whl", "/p/x.whl", "//other.example/x.whl",
        "https://f.example/p/x.whl", "../x/../y.whl", "a/./b.whl", "?q=1", "mailto:x@y",
        "javascript:alert(1)", "../../", "..", "../../../../../../x.whl", "ftp://x/y.whl", "x.whl?a=1",
        "files/.hidden", "C:/x.whl",
    ],
)  # fmt: skip
def test_links_resolve_as_urljoin_would(link: str) -> None:
    base = "https://index.example/simple/demo/"
    expected = urldefrag(urljoin(base, link)).url
    joined = joiner(base)(link)
    assert joined == (expected if urlsplit(expected).scheme in ("http", "https") else None)


HOSTILE_ENTRIES: list[object] = [
    {"filename": "demo-1.0-py3-none-any.whl", "url": "../../f/a.whl", "hashes": {"SHA256": "AB" * 32},
     "upload-time": "2024-02-30T00:00:00.000000Z"},  # no such day
    {"filename": "demo-1.0.tar.gz", "url": "/f/b", "hashes": {"sha256": "ab" * 32, "SHA256": "cd" * 32},
     "upload-time": "2024-01-01T00:00:00Z", "yanked": "bad", "size": True,
     "core-metadata": {"sha256": "EF" * 32}},
    {"filename": "demo-2.0.tar.gz", "url": "https://e/x#sha256=1", "hashes": {"sha256": 5},
     "upload-time": "2024-01-01T01:00:00.123456+01:00", "yanked": True, "size": -3,
     "dist-info-metadata": True, "requires-python": None},
    {"filename": "demo-3.0.tar.gz", "url": "javascript:alert(1)"},
    {"filename": "", "url": "/x"},
    "junk",
    None,
    {"filename": "demo-4.0.zip", "url": "//other/x", "hashes": [], "upload-time": 7,
     "core-metadata": {"md5": "x"}},
    {"filename": "demo-5.0.zip", "url": "x", "hashes": {}, "upload-time": "2024-01-01T00:00:00.123456Z",
     "size": 12, "core-metadata": "yes", "requires-python": ">=3.9"},
    {"filename": "other-1.0.tar.gz", "url": "o", "hashes": {"sha256": SHA}},  # not this project's
    {"filename": "demo-6.0-py3-none-any.whl", "url": "w", "hashes": {"sha256": SHA}, "size": 10,
     "upload-time": "2024-05-06T07:08:09.000001Z", "core-metadata": {"sha256": META}},
]  # fmt: skip


def test_a_json_page_read_into_rows_is_the_page_parsed_and_compacted() -> None:
    """``kept.read_json_page`` (what the registry fetches with) skips the objects in between:
    the kept rows and version must be exactly those of ``parse_json`` then ``compact``."""
    from registry.core.fallback_setup import version_of
    from registry.upstream.kept import compact, read_json_page, read_page

    body = json.dumps({"meta": {"api-version": "1.1"}, "name": "demo", "files": HOSTILE_ENTRIES}).encode()
    parsed = compact(parse_json(body, PAGE_URL), "demo", version_of, etag="", last_modified="", when=0)
    read = compact(read_json_page(body, PAGE_URL), "demo", version_of, etag="", last_modified="", when=0)
    assert read == parsed
    assert [row[0] for row in read.rows if row[10]] == [
        "demo-1.0-py3-none-any.whl", "demo-1.0.tar.gz", "demo-2.0.tar.gz", "demo-4.0.zip", "demo-5.0.zip",
        "demo-6.0-py3-none-any.whl",
    ]  # fmt: skip
    newest = read.rows[-2]
    assert newest[9] == "2024-05-06T07:08:09.000001Z" and newest[7] == META
    assert read_page(body, "application/vnd.pypi.simple.v1+json; charset=utf-8", PAGE_URL).name == "demo"
    with pytest.raises(UpstreamError):
        read_json_page(b'{"files": {}}', PAGE_URL)
