"""The simple API over HTTP: content negotiation, PEP 503/691/700/658/592 details, redirects, ETags."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest

from tests.conftest import upload_dist
from tests.distributions import Dist
from tests.server import ADMIN, RegistryServer

JSON_V1 = "application/vnd.pypi.simple.v1+json"
HTML_V1 = "application/vnd.pypi.simple.v1+html"
PIP_ACCEPT = f"{JSON_V1}, {HTML_V1}; q=0.1, text/html; q=0.01"


class Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.anchors: list[dict[str, str | None]] = []
        self.meta: dict[str, str | None] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.anchors.append(dict(attrs))
        if tag == "meta":
            found = dict(attrs)
            self.meta[str(found.get("name"))] = found.get("content")


def parse_html(text: str) -> Anchors:
    parser = Anchors()
    parser.feed(text)
    return parser


@pytest.fixture(scope="module")
def project(server: RegistryServer) -> str:
    """A project with two releases, Requires-Python with characters HTML must escape (a quote is
    not valid there: the yank reason has those), a yank."""
    upload_dist(server, Dist("Simple_API.Demo", "1.0", requires_python=">=3.8,<4,!=3.9.1"))
    upload_dist(server, Dist("Simple_API.Demo", "1.10"))
    response = server.post(
        "manage/projects/simple-api-demo/releases/1.10/yank",
        auth=ADMIN,
        json={"reason": 'bad "quotes" & <tags>'},
    )
    assert response.status_code == 200, response.text
    return "simple-api-demo"


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "text/html"),
        ("*/*", "text/html"),
        ("text/html", "text/html"),
        (HTML_V1, HTML_V1),
        (JSON_V1, JSON_V1),
        ("application/vnd.pypi.simple.latest+json", JSON_V1),
        ("application/vnd.pypi.simple.latest+html", HTML_V1),
        (PIP_ACCEPT, JSON_V1),
        (f"{JSON_V1}; q=0.2, {HTML_V1}; q=0.9", HTML_V1),
        (f"text/html; q=0.5, {JSON_V1}; q=0", "text/html"),
    ],
)
def test_accept_negotiation(server: RegistryServer, project: str, accept: str | None, expected: str) -> None:
    headers = {"Accept": accept} if accept else {}
    for path in ("simple/", f"simple/{project}/"):
        response = server.get(path, headers=headers)
        assert response.status_code == 200
        assert response.headers["Content-Type"].split(";")[0] == expected
        assert "Accept" in response.headers["Vary"]


@pytest.mark.parametrize("accept", ["application/json", "image/png", f"{JSON_V1}; q=0"])
def test_nothing_acceptable_is_406(server: RegistryServer, project: str, accept: str) -> None:
    response = server.get(f"simple/{project}/", headers={"Accept": accept})
    assert response.status_code == 406
    assert JSON_V1 in response.text
    assert response.headers["Cache-Control"] == "no-store"


def test_format_query_parameter_overrides_accept(server: RegistryServer, project: str) -> None:
    response = server.get(f"simple/{project}/", params={"format": JSON_V1}, headers={"Accept": "text/html"})
    assert response.headers["Content-Type"] == JSON_V1
    assert response.json()["name"] == project
    response = server.get(f"simple/{project}/", params={"format": "text/plain"})
    assert response.status_code == 406


def test_project_page_json_details(server: RegistryServer, project: str) -> None:
    page = server.get(f"simple/{project}/", headers={"Accept": JSON_V1}).json()
    assert page["meta"] == {"api-version": "1.1"}
    assert page["versions"] == ["1.0", "1.10"]
    files = {entry["filename"]: entry for entry in page["files"]}
    wheel = files["simple_api_demo-1.0-py3-none-any.whl"]
    assert wheel["requires-python"] == ">=3.8,<4,!=3.9.1"
    assert set(wheel["hashes"]) == {"sha256"}
    assert wheel["core-metadata"] == wheel["dist-info-metadata"]
    assert set(wheel["core-metadata"]) == {"sha256"}
    assert wheel["size"] > 0
    assert wheel["upload-time"].endswith("Z")
    assert wheel["yanked"] is False
    assert files["simple_api_demo-1.0.tar.gz"]["core-metadata"] is False
    assert files["simple_api_demo-1.10-py3-none-any.whl"]["yanked"] == 'bad "quotes" & <tags>'
    # Files are sorted by version (1.10 after 1.0, not as text).
    versions = [entry["filename"].removesuffix(".tar.gz").split("-")[1] for entry in page["files"]]
    assert versions == ["1.0", "1.0", "1.10", "1.10"]


def test_project_page_html_details(server: RegistryServer, project: str) -> None:
    response = server.get(f"simple/{project}/")
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "&gt;=3.8,&lt;4,!=3.9.1" in response.text  # attribute correctly escaped
    parsed = parse_html(response.text)
    assert parsed.meta["pypi:repository-version"] == "1.1"
    anchors = {anchor["href"].split("#")[0].rsplit("/", 1)[-1]: anchor for anchor in parsed.anchors}  # type: ignore[union-attr]
    wheel = anchors["simple_api_demo-1.0-py3-none-any.whl"]
    assert wheel["data-requires-python"] == ">=3.8,<4,!=3.9.1"
    assert str(wheel["href"]).split("#")[1].startswith("sha256=")
    assert wheel["data-core-metadata"] == wheel["data-dist-info-metadata"]
    assert str(wheel["data-core-metadata"]).startswith("sha256=")
    assert "data-core-metadata" not in anchors["simple_api_demo-1.0.tar.gz"]
    assert anchors["simple_api_demo-1.10-py3-none-any.whl"]["data-yanked"] == 'bad "quotes" & <tags>'
    assert "data-yanked" not in wheel


def test_metadata_file_matches_advertised_hash(server: RegistryServer, project: str) -> None:
    import hashlib

    page = server.get(f"simple/{project}/", headers={"Accept": JSON_V1}).json()
    wheel = next(entry for entry in page["files"] if entry["filename"].endswith(".whl"))
    url = server.url + f"simple/{project}/" + wheel["url"]
    response = server.get(_resolve(url, server) + ".metadata")
    assert response.status_code == 200
    assert hashlib.sha256(response.content).hexdigest() == wheel["core-metadata"]["sha256"]
    assert b"Name: Simple_API.Demo" in response.content


def _resolve(url: str, server: RegistryServer) -> str:
    from urllib.parse import urljoin

    return urljoin(url, "").replace(server.url, "")


def test_index_lists_projects(server: RegistryServer, project: str) -> None:
    html = parse_html(server.get("simple/").text)
    assert {"href": f"{project}/"} in html.anchors
    index = server.get("simple/", headers={"Accept": JSON_V1}).json()
    assert index["meta"]["api-version"] == "1.1"
    assert {"name": "Simple_API.Demo"} in index["projects"]


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("simple/Simple_API.Demo/", "/simple/simple-api-demo/"),
        ("simple/simple_api_demo", "/simple/simple-api-demo/"),
        ("simple/simple-api-demo", "/simple/simple-api-demo/"),
        ("simple", "/simple/"),
        ("pypi/Simple_API.Demo/json", "/pypi/simple-api-demo/json"),
    ],
)
def test_non_normalized_urls_redirect_permanently(
    server: RegistryServer, project: str, path: str, location: str
) -> None:
    response = server.get(path, allow_redirects=False)
    assert response.status_code == 301
    assert response.headers["Location"].endswith(location)


def test_redirect_keeps_format_parameter(server: RegistryServer, project: str) -> None:
    response = server.get("simple/Simple_API.Demo/", params={"format": JSON_V1}, allow_redirects=False)
    from urllib.parse import parse_qs, urlsplit

    location = urlsplit(response.headers["Location"])
    assert location.path == f"/simple/{project}/"
    assert parse_qs(location.query) == {"format": [JSON_V1]}


def test_etag_and_not_modified(server: RegistryServer, project: str) -> None:
    first = server.get(f"simple/{project}/")
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"].startswith("public, max-age=")
    again = server.get(f"simple/{project}/", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    as_json = server.get(f"simple/{project}/", headers={"Accept": JSON_V1})
    assert as_json.headers["ETag"] != etag  # each representation has its own tag


def test_etag_changes_after_upload(server: RegistryServer, unique_name: str) -> None:
    upload_dist(server, Dist(unique_name, "1.0"))
    etag = server.get(f"simple/{unique_name}/").headers["ETag"]
    upload_dist(server, Dist(unique_name, "2.0"))
    response = server.get(f"simple/{unique_name}/", headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert "2.0" in response.text


def test_unknown_project_is_404_and_not_cacheable(server: RegistryServer) -> None:
    response = server.get("simple/no-such-project-here/")
    assert response.status_code == 404
    assert response.headers["Cache-Control"] == "no-store"


def test_json_api_shape(server: RegistryServer, project: str) -> None:
    document = server.get(f"pypi/{project}/json").json()
    info = document["info"]
    assert info["name"] == "Simple_API.Demo"
    assert info["version"] == "1.0"  # 1.10 is yanked
    assert info["requires_python"] == ">=3.8,<4,!=3.9.1"
    assert info["summary"] == "A test package"
    assert info["project_urls"] == {"Homepage": "https://example.invalid/home"}
    assert info["requires_dist"] is None
    assert set(document["releases"]) == {"1.0", "1.10"}
    wheel = next(entry for entry in document["urls"] if entry["packagetype"] == "bdist_wheel")
    assert set(wheel["digests"]) == {"md5", "sha256", "blake2b_256"}
    assert wheel["url"].startswith(server.url + "packages/")
    assert wheel["yanked"] is False
    assert document["releases"]["1.10"][0]["yanked"] is True
    assert document["releases"]["1.10"][0]["yanked_reason"] == 'bad "quotes" & <tags>'
    download = server.get(wheel["url"].replace(server.url, ""))
    import hashlib

    assert hashlib.blake2b(download.content, digest_size=32).hexdigest() == wheel["digests"]["blake2b_256"]
    assert hashlib.md5(download.content).hexdigest() == wheel["digests"]["md5"]


def test_json_api_for_a_version(server: RegistryServer, project: str) -> None:
    document = server.get(f"pypi/{project}/1.10/json").json()
    assert document["info"]["version"] == "1.10"
    assert document["info"]["yanked"] is True
    assert {entry["filename"] for entry in document["urls"]} == {
        "simple_api_demo-1.10-py3-none-any.whl",
        "simple_api_demo-1.10.tar.gz",
    }
    assert server.get(f"pypi/{project}/7.0/json").status_code == 404
    missing = server.get("pypi/no-such-project/json")
    assert missing.status_code == 404
    assert json.loads(missing.text)["status"] == 404


def test_requires_dist_in_json_api(server: RegistryServer, unique_name: str) -> None:
    upload_dist(server, Dist(unique_name, "1.0", requires=["requests>=2", "click; extra == 'cli'"]))
    info = server.get(f"pypi/{unique_name}/json").json()["info"]
    assert info["requires_dist"] == ["requests>=2", "click; extra == 'cli'"]


def test_public_url_sets_json_api_links(make_server: object, unique_name: str) -> None:
    behind_cdn = make_server(**{"pypi.public_url": "https://pypi.example.invalid"})  # type: ignore[operator]
    upload_dist(behind_cdn, Dist(unique_name, "1.0"))
    document = behind_cdn.get(f"pypi/{unique_name}/json").json()
    assert all(
        entry["url"].startswith("https://pypi.example.invalid/packages/") for entry in document["urls"]
    )
