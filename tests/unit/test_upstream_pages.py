"""Reading upstream project pages: PEP 503 HTML and PEP 691 JSON, everything kept."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest

from registry.upstream import parse_html, parse_json, parse_page
from registry.upstream.pages import _joiner

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
    joined = _joiner(base)(link)
    assert joined == (expected if urlsplit(expected).scheme in ("http", "https") else None)
