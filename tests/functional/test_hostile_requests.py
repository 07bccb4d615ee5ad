"""Requests an attacker sends: URL values that name nothing, JSON bodies that are not JSON, writes
a browser was made to send from another site. Each gets a precise 4xx, changes nothing, and
every answer carries the security headers.

The route lists come from the app's own URL map, so a route added later is covered too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from werkzeug.routing import Rule

from registry import create_app
from registry.web.headers import CONTENT_SECURITY_POLICY
from registry.web.jsonbody import JSON_BLUEPRINTS, WRITES
from tests.conftest import upload_dist, upload_form
from tests.distributions import Dist, wheel_bytes
from tests.server import ADMIN, RegistryServer

APP = create_app({"storage.dir": "/nonexistent"})
BAD = {"project": "Foo.Bar\r\nX:1", "version": "\r\n", "filename": "a\r\nb.whl"}
MESSAGES = {
    "project": "it is not a valid project name",
    "version": "it contains a space or a control character",
    "filename": "it contains a space or a control character",
}
EVIL = "https://evil.example"


def _rules() -> Iterator[tuple[Rule, str]]:
    for rule in APP.url_map.iter_rules():
        if rule.endpoint == "static":  # Flask's own, for a static folder the registry does not have
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule, method


NAMED = [(rule, method) for rule, method in _rules() if set(BAD) & set(rule.arguments)]
JSON_WRITES = [
    (rule, method)
    for rule, method in _rules()
    if method in WRITES and rule.endpoint.rsplit(".", 1)[0] in JSON_BLUEPRINTS
]
ALL_WRITES = [(rule, method) for rule, method in _rules() if method in WRITES]


def _id(item: tuple[Rule, str]) -> str:
    return f"{item[1]} {item[0].rule}"


def url_for(rule: Rule, **values: str) -> str:
    """The rule's path with every argument filled in (``values`` first), percent-encoded."""
    filled = {name: values.get(name, "x") for name in rule.arguments}
    return APP.url_map.bind("localhost").build(rule.endpoint, filled, append_unknown=False).lstrip("/")


def send(server: RegistryServer, method: str, path: str, **kwargs: Any) -> requests.Response:
    kwargs.setdefault("auth", ADMIN)
    return requests.request(method, server.url + path, timeout=30, allow_redirects=False, **kwargs)


@pytest.fixture
def released(server: RegistryServer, unique_name: str) -> Dist:
    dist = Dist(unique_name, "1.0")
    upload_dist(server, dist)
    return dist


def yanked(server: RegistryServer, project: str) -> set[object]:
    page = server.get(f"simple/{project}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    return {entry["yanked"] for entry in page.json()["files"]}


def token_count(server: RegistryServer) -> int:
    return len(server.get("manage/tokens", auth=ADMIN).json()["tokens"])


# -- URL values that name nothing: 404 with the reason, never a 500 ------------------------------


def test_the_issues_urls_are_404s(server: RegistryServer) -> None:
    for path in ("simple/Foo.Bar%0d%0aX:1/", "simple/Foo.Bar%0d%0aX:1", "pypi/Foo.Bar/%0d%0a/json"):
        response = server.get(path, allow_redirects=False)
        assert response.status_code == 404, (path, response.text)
        assert "not found: it" in response.text and "Location" not in response.headers


@pytest.mark.parametrize(("rule", "method"), NAMED, ids=map(_id, NAMED))
def test_every_route_refuses_url_values_that_name_nothing(
    server: RegistryServer, released: Dist, rule: Rule, method: str
) -> None:
    valid = {"project": released.name, "version": released.version, "filename": released.wheel_name}
    for argument in set(BAD) & set(rule.arguments):
        response = send(server, method, url_for(rule, **(valid | {argument: BAD[argument]})))
        assert response.status_code == 404, (argument, response.text)
        assert MESSAGES[argument] in response.text
        assert "Traceback" not in response.text and "Location" not in response.headers
    assert yanked(server, released.name) == {False}


# -- JSON endpoints take JSON --------------------------------------------------------------------


@pytest.mark.parametrize(("rule", "method"), JSON_WRITES, ids=map(_id, JSON_WRITES))
def test_json_endpoints_refuse_bodies_that_are_not_json(
    server: RegistryServer, released: Dist, rule: Rule, method: str
) -> None:
    path = url_for(rule, project=released.name, version=released.version, filename=released.wheel_name)
    tokens = token_count(server)
    cases = [
        ("[" * 100_000, 413, "A JSON body may be at most 64 KiB"),  # the issue's: refused unread
        ("[" * 60_000, 400, "The JSON body is nested too deeply"),
        ('{"reason": ', 400, "The body is not valid JSON: Expecting value"),
        (b"\xff\xfe{}", 400, "The body is not valid JSON"),
    ]
    for body, status, message in cases:
        response = send(server, method, path, data=body, headers={"Content-Type": "application/json"})
        assert response.status_code == status, (body[:10], response.text)
        assert response.json()["error"].startswith(message)
    chunked = send(server, method, path, data=iter([b"{}"]), headers={"Content-Type": "application/json"})
    assert chunked.status_code == 411 and "Content-Length" in chunked.json()["error"]
    for content_type in (
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ):
        response = send(server, method, path, data=b"reason=x", headers={"Content-Type": content_type})
        assert response.status_code == 415, (content_type, response.text)
        assert "Send JSON with 'Content-Type: application/json'" in response.json()["error"]
    assert yanked(server, released.name) == {False}
    assert token_count(server) == tokens
    assert server.get(f"simple/{released.name}/").status_code == 200  # nothing deleted


def test_an_empty_form_post_is_refused_but_a_bare_post_works(server: RegistryServer, released: Dist) -> None:
    """The issue's yank: a form content type and no body. ``curl -X POST`` sends no type."""
    path = f"manage/projects/{released.name}/releases/1.0/yank"
    form = send(server, "POST", path, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert form.status_code == 415 and yanked(server, released.name) == {False}
    assert send(server, "POST", path).status_code == 200 and yanked(server, released.name) == {True}


def test_text_plain_cannot_make_a_token(server: RegistryServer) -> None:
    tokens = token_count(server)
    response = send(server, "POST", "manage/tokens", data="{}", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415 and token_count(server) == tokens


# -- cross-site writes ---------------------------------------------------------------------------


@pytest.mark.parametrize(("rule", "method"), ALL_WRITES, ids=map(_id, ALL_WRITES))
@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": EVIL},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site", "Origin": "https://other.registry.example"},
        {"Sec-Fetch-Site": "cross-site", "Origin": "SELF"},  # Sec-Fetch-Site decides
    ],
    ids=["foreign-origin", "null-origin", "cross-site", "same-site", "cross-site-own-origin"],
)
def test_every_write_refuses_a_cross_site_browser_request(
    server: RegistryServer, released: Dist, rule: Rule, method: str, headers: dict[str, str]
) -> None:
    path = url_for(rule, project=released.name, version=released.version, filename=released.wheel_name)
    headers = {name: server.url.rstrip("/") if value == "SELF" else value for name, value in headers.items()}
    tokens = token_count(server)
    response = send(server, method, path, json={"reason": "csrf"}, headers=headers)
    assert response.status_code == 403, response.text
    assert "Cross-site request refused" in response.text
    assert yanked(server, released.name) == {False} and token_count(server) == tokens


def test_a_cross_site_upload_is_not_stored(server: RegistryServer, unique_name: str) -> None:
    dist = Dist(unique_name, "1.0")
    data, files = upload_form(wheel_bytes(dist), dist.wheel_name, dist.name, dist.version)
    response = server.post("/", auth=ADMIN, data=data, files=files, headers={"Origin": EVIL})
    assert (
        response.status_code == 403
        and "Origin 'https://evil.example' is not this registry's" in response.text
    )
    assert server.get(f"simple/{unique_name}/").status_code == 404


@pytest.mark.parametrize(
    "headers",
    [
        {},  # twine, uv, poetry, curl
        {"Sec-Fetch-Site": "same-origin", "Origin": "SELF"},
        {"Sec-Fetch-Site": "none"},  # the user's own action
        {"Origin": "SELF"},  # a browser without Sec-Fetch-Site
    ],
    ids=["no-browser-headers", "same-origin", "user-initiated", "own-origin"],
)
def test_same_origin_and_tool_writes_pass(
    server: RegistryServer, released: Dist, headers: dict[str, str]
) -> None:
    headers = {name: server.url.rstrip("/") if value == "SELF" else value for name, value in headers.items()}
    path = f"manage/projects/{released.name}/releases/1.0/yank"
    response = send(server, "POST", path, json={"reason": "ok"}, headers=headers)
    assert response.status_code == 200, response.text
    assert yanked(server, released.name) == {"ok"}


def test_the_public_url_is_an_own_origin(make_server: Any, unique_name: str) -> None:
    """Through Firebase Hosting the browser's page is on the Hosting domain (pypi.public_url)."""
    server = make_server(**{"pypi.public_url": "https://registry.example/"})
    dist = Dist(unique_name, "1.0")
    upload_dist(server, dist)
    path = f"manage/projects/{unique_name}/releases/1.0/yank"
    for origin, status in (("https://registry.example", 200), ("http://registry.example", 403)):
        assert send(server, "POST", path, headers={"Origin": origin}).status_code == status, origin
    for origin in ("https://registry.example:8443", "https://evil.registry.example"):
        assert send(server, "POST", path, headers={"Origin": origin}).status_code == 403, origin


def test_reads_from_other_sites_are_served(server: RegistryServer, released: Dist) -> None:
    response = server.get(
        f"simple/{released.name}/", headers={"Origin": EVIL, "Sec-Fetch-Site": "cross-site"}
    )
    assert response.status_code == 200


# -- security headers ----------------------------------------------------------------------------


def test_html_answers_carry_a_csp_and_no_framing(server: RegistryServer, released: Dist) -> None:
    for accept in ("text/html", "application/vnd.pypi.simple.v1+html"):
        response = server.get(f"simple/{released.name}/", headers={"Accept": accept})
        assert response.status_code == 200
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert (
            "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
            and "script-src" not in CONTENT_SECURITY_POLICY
        )
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_every_answer_says_nosniff(server: RegistryServer, released: Dist) -> None:
    page = server.get(f"simple/{released.name}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    wheel_url = next(entry["url"] for entry in page.json()["files"] if entry["filename"].endswith(".whl"))
    answers = [
        page,
        server.get(f"pypi/{released.name}/json"),
        server.get("simple/no-such-project-here/"),
        server.get(wheel_url.replace("../../", "")),
        server.post("/", auth=None),
        server.get("health"),
    ]
    for response in answers:
        assert response.headers["X-Content-Type-Options"] == "nosniff", response.url
        assert "Content-Security-Policy" not in response.headers or "html" in response.headers["Content-Type"]
