"""Every row of the cache policy table in docs/caching.md, against a live gunicorn server.

The rows are written here once; the test checks the server's answer for each (status,
Cache-Control, Vary) and that the docs' table says exactly the same.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import requests

from registry.config import load_config
from registry.web.caching import cache_control

from .conftest import DEMO, Registry, upload
from .servers import ROOT

INDEX = cache_control("index", load_config(environ={}).settings.index_caching)  # the defaults
PAGE = cache_control("page", load_config(environ={}).settings.index_caching)
FILE = cache_control("file")
PRIVATE = "private, no-cache"
SESSION = "private, no-store"
NEVER = "no-store"
WHO = "Authorization"  # the answer depended on who asked (docs/access.md)


@dataclass(frozen=True)
class Row:
    """One request, on a registry with public or private reads, and the headers it must get."""

    request: str
    reads: str
    status: int
    cache_control: str
    vary: str
    send: Callable[[Registry], requests.Response]


def get(path: str, auth: str = "", **headers: str) -> Callable[[Registry], requests.Response]:
    def send(reg: Registry) -> requests.Response:
        sent = dict(headers)
        if auth:
            sent["Authorization"] = getattr(reg, auth) if auth in ("admin", "bob") else auth
        url = reg.url + path.format(file=reg.file_path(), project=DEMO.name, version=DEMO.version)
        return requests.get(url, headers=sent, allow_redirects=False, timeout=10)

    return send


def head(path: str) -> Callable[[Registry], requests.Response]:
    return lambda reg: requests.head(reg.url + path.format(file=reg.file_path()), timeout=10)


def conditional(path: str) -> Callable[[Registry], requests.Response]:
    def send(reg: Registry) -> requests.Response:
        etag = requests.get(reg.url + path, timeout=10).headers["ETag"]
        return requests.get(reg.url + path, headers={"If-None-Match": etag}, timeout=10)

    return send


def post(path: str, auth: str = "") -> Callable[[Registry], requests.Response]:
    def send(reg: Registry) -> requests.Response:
        headers = {"Authorization": getattr(reg, auth)} if auth else {}
        return requests.post(reg.url + path, headers=headers, timeout=10)

    return send


def upload_as(auth: str) -> Callable[[Registry], requests.Response]:
    return lambda reg: upload(reg.url, reg.wheel, getattr(reg, auth) if auth else None)


def stylesheet(reg: Registry) -> requests.Response:
    href = re.search(
        r'href="/(static/registry\.css\?v=[0-9a-f]+)"', requests.get(reg.url + "/", timeout=10).text
    )
    assert href, "the home page links no stylesheet"
    return requests.get(f"{reg.url}/{href.group(1)}", timeout=10)


def ui(path: str, method: str = "GET") -> Callable[[Registry], requests.Response]:
    """A web UI request from bob's browser session (signed in through the form)."""

    def send(reg: Registry) -> requests.Response:
        http = requests.Session()
        form = http.get(reg.url + "/account/login/", timeout=10).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert token, "no sign-in form"
        data = {"username": "bob", "password": reg.users.bob_password, "csrf_token": token.group(1)}
        assert http.post(reg.url + "/account/login/", data=data, allow_redirects=False).status_code == 303
        url = reg.url + path.format(project=DEMO.name, version=DEMO.version)
        return http.request(method, url, data={"description": "no token"}, allow_redirects=False, timeout=10)

    return send


WRONG = "Basic d3Jvbmc6d3Jvbmc="  # wrong:wrong
YANK = f"/manage/projects/{DEMO.name}/releases/{DEMO.version}"
ROWS = (
    Row("GET /simple/", "public", 200, INDEX, "Accept, Accept-Encoding", get("/simple/")),
    Row("GET /simple/<project>/", "public", 200, INDEX, "Accept, Accept-Encoding", get("/simple/{project}/")),
    Row("GET /simple/<project>/ with If-None-Match", "public", 304, INDEX, "Accept, Accept-Encoding", conditional(f"/simple/{DEMO.name}/")),  # noqa: E501
    Row("GET /pypi/<project>/json", "public", 200, INDEX, "Accept-Encoding", get("/pypi/{project}/json")),
    Row("GET /pypi/<project>/<version>/json", "public", 200, INDEX, "Accept-Encoding", get("/pypi/{project}/{version}/json")),  # noqa: E501
    Row("GET /packages/.../<file>", "public", 200, FILE, "", get("{file}")),
    Row("GET /packages/.../<file>.metadata", "public", 200, FILE, "", get("{file}.metadata")),
    Row("HEAD /packages/.../<file>", "public", 200, FILE, "", head("{file}")),
    Row("GET /packages/.../<file> with Range", "public", 206, FILE, "", get("{file}", Range="bytes=0-9")),
    Row("GET /simple/<unknown project>/", "public", 404, NEVER, WHO, get("/simple/no-such-project/")),
    Row("GET /packages/<project>/<wrong hash>/<file>", "public", 404, NEVER, WHO, get("/packages/x/0000000000/y.whl")),  # noqa: E501
    Row("GET /<unknown path>", "public", 404, NEVER, "", get("/no/such/page")),
    Row("GET /simple/<unnormalized name>", "public", 301, NEVER, "", get("/simple/Deploy_Demo")),
    Row("GET /simple/ with a wrong password", "public", 401, NEVER, WHO, get("/simple/", auth=WRONG)),
    Row("POST / (upload) without credentials", "public", 401, NEVER, WHO, upload_as("")),
    Row("POST / (upload) as a user", "public", 200, NEVER, WHO, upload_as("bob")),
    Row("POST /manage/... as a non-admin", "public", 403, NEVER, WHO, post(YANK + "/yank", "bob")),
    Row("POST /manage/... as an admin", "public", 200, NEVER, WHO, post(YANK + "/unyank", "admin")),
    Row("GET /", "public", 200, PAGE, "Cookie, Accept-Encoding", get("/")),
    Row("GET /project/<project>/", "public", 200, PAGE, "Cookie, Accept-Encoding", get("/project/{project}/")),  # noqa: E501
    Row("GET /project/<project>/<version>/", "public", 200, PAGE, "Cookie, Accept-Encoding", get("/project/{project}/{version}/")),  # noqa: E501
    Row("GET /project/<project>/ with If-None-Match", "public", 304, PAGE, "Cookie, Accept-Encoding", conditional(f"/project/{DEMO.name}/")),  # noqa: E501
    Row("GET /search/?q=<query>", "public", 200, PAGE, "Cookie, Accept-Encoding", get("/search/?q=deploy")),
    Row("GET /static/registry.css?v=<hash>", "public", 200, FILE, "", stylesheet),
    Row("GET /project/<unknown project>/", "public", 404, NEVER, "Cookie", get("/project/no-such-project/")),
    Row("GET /account/login/", "public", 200, SESSION, "Cookie, Accept-Encoding", get("/account/login/")),
    Row("GET /project/<project>/ in a session", "public", 200, SESSION, "Cookie, Accept-Encoding", ui("/project/{project}/")),  # noqa: E501
    Row("GET /account/tokens/ in a session", "public", 200, SESSION, "Cookie, Accept-Encoding", ui("/account/tokens/")),  # noqa: E501
    Row("POST /account/tokens/ without a CSRF token", "public", 400, NEVER, "Cookie", ui("/account/tokens/", "POST")),  # noqa: E501
    Row("GET /health", "public", 200, NEVER, "Accept-Encoding", get("/health")),
    Row("GET /health/live", "public", 200, NEVER, "Accept-Encoding", get("/health/live")),
    Row("GET /simple/ without credentials", "private", 401, NEVER, WHO, get("/simple/")),
    Row("GET /simple/<project>/ as a user", "private", 200, PRIVATE, "Accept, Authorization, Accept-Encoding", get("/simple/{project}/", "bob")),  # noqa: E501
    Row("GET /pypi/<project>/json as a user", "private", 200, PRIVATE, "Authorization, Accept-Encoding", get("/pypi/{project}/json", "bob")),  # noqa: E501
    Row("GET /packages/.../<file> as a user", "private", 200, PRIVATE, "Authorization", get("{file}", "bob")),
    Row("GET /packages/.../<file> without credentials", "private", 401, NEVER, WHO, get("{file}")),
    Row("GET /project/<project>/ without a session", "private", 303, NEVER, "", get("/project/{project}/")),
    Row("GET /project/<project>/ in a session", "private", 200, SESSION, "Cookie, Accept-Encoding", ui("/project/{project}/")),  # noqa: E501
)  # fmt: skip


def _vary(response: requests.Response) -> set[str]:
    return {part.strip().lower() for part in response.headers.get("Vary", "").split(",") if part.strip()}


@pytest.mark.e2e
@pytest.mark.parametrize("row", ROWS, ids=[f"{r.reads}: {r.request}" for r in ROWS])
def test_row(row: Row, request: pytest.FixtureRequest) -> None:
    registry: Registry = request.getfixturevalue(f"{row.reads}_registry")
    response = row.send(registry)
    assert response.status_code == row.status, response.text
    assert response.headers.get("Cache-Control") == row.cache_control
    assert _vary(response) == {v.strip().lower() for v in row.vary.split(",") if v.strip()}


def _doc_rows() -> set[tuple[str, ...]]:
    """The policy table in docs/caching.md, as (request, reads, status, Cache-Control, Vary)."""
    text = (ROOT / "docs" / "caching.md").read_text()
    table = text.split("<!-- policy table -->")[1]
    rows = set()
    for line in table.strip().splitlines():
        cells = [cell.strip().strip("`") for cell in line.strip().strip("|").split("|")]
        if len(cells) != 5 or cells[0] in ("request", "") or set(cells[0]) <= {"-", " "}:
            continue
        rows.add(tuple(re.sub(r"\s+", " ", cell) for cell in cells))
    return rows


def test_docs_table_matches_the_tested_rows() -> None:
    expected = {(r.request, r.reads, str(r.status), r.cache_control, r.vary or "-") for r in ROWS}
    assert _doc_rows() == expected


def test_new_upload_visibility_bound_is_the_documented_one() -> None:
    """A new upload shows through the CDN within s-maxage + stale-while-revalidate (defaults)."""
    text = " ".join((ROOT / "docs" / "caching.md").read_text().split())
    defaults = load_config(environ={}).settings.index_caching
    bound = defaults.cdn_max_age + defaults.stale_while_revalidate
    assert f"within {bound} seconds" in text
