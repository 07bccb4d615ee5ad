"""Every web UI page: its status, Cache-Control and Vary for each kind of visitor, and the CSRF
check of every form (a POST without this session's token changes nothing).

Cells: ``page`` = shareable (``public, max-age=0, s-maxage=...``, ETag, ``Vary: Cookie``),
``session`` = ``private, no-store`` + ``Vary: Cookie``, ``never`` = ``no-store``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests

from registry.config import load_config
from registry.web.caching import cache_control
from tests.server import ADMIN, ALICE, RegistryServer
from tests.ui_helpers import readme_dist, signed_in, upload

PAGE = cache_control("page", load_config(environ={}).settings.index_caching)
SESSION = "private, no-store"
NEVER = "no-store"
P = "ui-pages-demo"


@pytest.fixture(scope="module")
def site(server: RegistryServer) -> Iterator[RegistryServer]:
    """The shared server with one project of two releases (wheel and sdist each)."""
    for version in ("1.0", "2.0"):
        upload(server, readme_dist(P, version))
    yield server


def _vary(response: requests.Response) -> set[str]:
    """The request headers the answer varies on, besides Accept-Encoding (gzipped pages)."""
    found = {part.strip().lower() for part in response.headers.get("Vary", "").split(",") if part.strip()}
    if "accept-encoding" in found:
        assert response.status_code in (200, 304), "only compressible answers vary on Accept-Encoding"
    return found - {"accept-encoding"}


# (path, status for anonymous, policy, status for a signed-in user, status for an admin)
GETS = [
    ("", 200, "page", 200, 200),
    ("search/", 200, "page", 200, 200),
    (f"search/?q={P}", 200, "page", 200, 200),
    ("search/?page=x", 400, "never", 400, 400),
    (f"project/{P}/", 200, "page", 200, 200),
    (f"project/{P}/1.0/", 200, "page", 200, 200),
    (f"project/{P}/9.9/", 404, "never", 404, 404),
    ("project/no-such-project-anywhere/", 404, "never", 404, 404),
    ("project/UI_Pages.Demo/", 301, "never", 301, 301),
    ("account/login/", 200, "session", 303, 303),
    ("account/logout/", 200, "session", 200, 200),
    ("account/tokens/", 303, "never", 200, 200),
    ("admin/", 303, "never", 403, 200),
    ("admin/users/", 303, "never", 403, 200),
    ("admin/users/alice/delete", 303, "never", 403, 200),
    ("admin/groups/", 303, "never", 403, 200),
    ("admin/permissions/", 303, "never", 403, 200),
    (f"admin/projects/{P}/", 200, "session", 200, 200),
    (f"admin/projects/{P}/confirm?action=yank&version=1.0", 200, "session", 200, 200),
    (f"admin/projects/{P}/confirm?action=explode&version=1.0", 400, "never", 400, 400),
]


def _policy(response: requests.Response) -> str:
    control = response.headers.get("Cache-Control", "")
    return {PAGE: "page", SESSION: "session", NEVER: "never"}.get(control, f"?{control!r}")


@pytest.mark.parametrize(
    ("path", "status", "policy"), [(g[0], g[1], g[2]) for g in GETS], ids=[g[0] for g in GETS]
)
def test_anonymous_pages(site: RegistryServer, path: str, status: int, policy: str) -> None:
    response = requests.get(site.url + path, allow_redirects=False, timeout=30)
    assert response.status_code == status, response.text[:300]
    expected = "session" if "Set-Cookie" in response.headers else policy
    assert _policy(response) == expected
    if expected != "never" or status >= 400:
        assert _vary(response) == {"cookie"}
    if status == 303:
        assert response.headers["Location"].startswith("/account/login/?next=")
    assert "Traceback" not in response.text


@pytest.mark.parametrize("user", ["alice", "admin"])
@pytest.mark.parametrize("path", [g[0] for g in GETS])
def test_signed_in_pages_are_never_shared(site: RegistryServer, path: str, user: str) -> None:
    http = signed_in(site, ALICE if user == "alice" else ADMIN)
    response = http.get(site.url + path, allow_redirects=False, timeout=30)
    row = next(g for g in GETS if g[0] == path)
    assert response.status_code == (row[3] if user == "alice" else row[4]), response.text[:300]
    assert response.headers["Cache-Control"] in (SESSION, NEVER)
    assert "cookie" in _vary(response) or response.status_code in (301, 303)
    assert "ETag" not in response.headers or response.status_code >= 300


def test_public_pages_revalidate_with_etags(site: RegistryServer) -> None:
    for path in ("", f"project/{P}/", f"search/?q={P}"):
        first = requests.get(site.url + path, timeout=30)
        again = requests.get(site.url + path, headers={"If-None-Match": first.headers["ETag"]}, timeout=30)
        assert again.status_code == 304
        assert again.headers["Cache-Control"] == PAGE and _vary(again) == {"cookie"}


def test_the_stylesheet_is_immutable_at_its_versioned_url(site: RegistryServer) -> None:
    page = requests.get(site.url, timeout=30).text
    href = re.search(r'href="(/static/registry\.css\?v=[0-9a-f]+)"', page)
    assert href, "no stylesheet link"
    assert requests.get(site.url + href.group(1)[1:], timeout=30).headers["Cache-Control"] == cache_control(
        "file"
    )
    plain = requests.get(site.url + "static/registry.css", timeout=30)
    assert (
        plain.headers["Cache-Control"].startswith("public, max-age=")
        and "immutable" not in plain.headers["Cache-Control"]
    )
    assert requests.get(site.url + "static/nothing.css", timeout=30).status_code == 404


def test_session_cookie_flags(site: RegistryServer) -> None:
    answer = requests.get(site.url + "account/login/", timeout=30)
    cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith("__session=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie
    https = requests.get(site.url + "account/login/", headers={"X-Forwarded-Proto": "https"}, timeout=30)
    assert "Secure" in https.headers["Set-Cookie"]


def test_a_wrong_or_forged_session_cookie_is_dropped(site: RegistryServer) -> None:
    answer = requests.get(
        site.url + "account/tokens/", cookies={"__session": "forged.value"}, allow_redirects=False, timeout=30
    )
    assert answer.status_code == 303
    assert "__session=;" in answer.headers["Set-Cookie"]
