"""Every web UI form: refused without this session's CSRF token (nothing changes), and working
with it; sign-in limits and redirects."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import requests

from tests.server import ADMIN, ALICE, RegistryServer
from tests.ui_helpers import csrf_from, eventually, readme_dist, signed_in, upload

P = "ui-forms-demo"
BOB = ("csrf-bob", "bob-secret-pw-1")

FORMS = [
    ("account/tokens/", {"description": "csrf", "permission": "read", "expires": "30d"}),
    ("account/tokens/0123456789ab/revoke", {}),
    ("admin/users/", {"name": "csrf-eve", "password": "eve-secret-pw"}),
    ("admin/users/alice/admin", {"admin": "yes"}),
    ("admin/users/alice/password", {"password": "new-alice-pw"}),
    ("admin/users/alice/delete", {}),
    ("admin/groups/", {"group": "csrf-team", "members": "alice"}),
    ("admin/groups/csrf-team/remove", {}),
    ("admin/permissions/", {"project": P, "principal": "user:alice", "permission": "r"}),
    ("admin/permissions/remove", {"project": P, "principal": "user:alice"}),
    (f"admin/projects/{P}/yank", {"version": "1.0", "reason": "csrf"}),
    (f"admin/projects/{P}/unyank", {"version": "1.0"}),
    (f"admin/projects/{P}/delete", {"file": "ui_forms_demo-1.0.tar.gz"}),
    ("account/logout/", {}),
]


@pytest.fixture(scope="module")
def site(server: RegistryServer) -> Iterator[RegistryServer]:
    upload(server, readme_dist(P, "1.0"))
    yield server


def state(site: RegistryServer, admin: requests.Session) -> list[str]:
    """What any form could change, as an admin sees it."""
    pages = ["admin/users/", "admin/groups/", "admin/permissions/", "account/tokens/"]
    seen = [admin.get(site.url + path, timeout=30).text for path in pages]
    seen.append(requests.get(f"{site.url}simple/{P}/", timeout=30).text)
    return seen


@pytest.mark.parametrize(("path", "fields"), FORMS, ids=[path for path, _ in FORMS])
def test_a_post_without_this_sessions_token_changes_nothing(
    site: RegistryServer, path: str, fields: dict[str, str]
) -> None:
    admin = signed_in(site, ADMIN)
    other = csrf_from(signed_in(site, ALICE).get(site.url + "account/tokens/", timeout=30).text)
    before = state(site, admin)
    for token in (None, "", other, "x" * 43):
        sent = dict(fields) if token is None else {**fields, "csrf_token": token}
        answer = admin.post(site.url + path, data=sent, allow_redirects=False, timeout=30)
        assert answer.status_code == 400, answer.text[:300]
        assert "did not come from this site" in answer.text
        assert answer.headers["Cache-Control"] == "no-store"
    assert state(site, admin) == before
    assert admin.get(site.url + "account/tokens/", timeout=30).url.endswith(
        "/account/tokens/"
    )  # still signed in


def test_the_sign_in_form_needs_its_token(site: RegistryServer) -> None:
    stranger = requests.Session()
    other = csrf_from(requests.get(site.url + "account/login/", timeout=30).text)
    for token in (None, other):
        data = {"username": ALICE[0], "password": ALICE[1]} | ({"csrf_token": token} if token else {})
        answer = stranger.post(site.url + "account/login/", data=data, allow_redirects=False, timeout=30)
        assert answer.status_code == 400
    assert stranger.get(site.url + "account/tokens/", allow_redirects=False, timeout=30).status_code == 303


def _post(http: requests.Session, site: RegistryServer, path: str, **fields: str) -> requests.Response:
    """POST a form with the session's token, as the page with the form would."""
    token = csrf_from(http.get(site.url + "account/logout/", timeout=30).text)
    return http.post(site.url + path, data={**fields, "csrf_token": token}, allow_redirects=False, timeout=30)


def test_every_admin_form_works_with_its_token(site: RegistryServer) -> None:
    admin = signed_in(site, ADMIN)
    steps: list[tuple[str, dict[str, str], Callable[[], bool]]] = [
        ("admin/users/", {"name": BOB[0], "password": "first-password"},
         lambda: row(BOB[0]) in page("users")),
        (f"admin/users/{BOB[0]}/admin", {"admin": "yes"}, lambda: "Remove admin" in page("users")),
        (f"admin/users/{BOB[0]}/admin", {"admin": "no"}, lambda: "Make admin" in page("users")),
        (f"admin/users/{BOB[0]}/password", {"password": BOB[1]}, lambda: bool(signed_in(site, BOB))),
        ("admin/groups/", {"group": "csrf-team", "members": BOB[0]},
         lambda: row("csrf-team") in page("groups")),
        ("admin/groups/csrf-team/remove", {}, lambda: row("csrf-team") not in page("groups")),
        ("admin/permissions/", {"project": P, "principal": f"user:{BOB[0]}", "permission": "rw"},
         lambda: f"<td>user:{BOB[0]}</td>" in page("permissions")),
        ("admin/permissions/remove", {"project": P, "principal": f"user:{BOB[0]}"},
         lambda: f"<td>user:{BOB[0]}</td>" not in page("permissions")),
        (f"admin/users/{BOB[0]}/delete", {}, lambda: row(BOB[0]) not in page("users")),
    ]  # fmt: skip

    def row(name: str) -> str:
        return f'<th scope="row">{name}'

    def page(name: str) -> str:
        return admin.get(f"{site.url}admin/{name}/", timeout=30).text

    for path, fields, done in steps:
        answer = _post(admin, site, path, **fields)
        assert answer.status_code == 303, (path, answer.text[:300])
        assert done(), path


def test_project_forms_yank_unyank_and_delete(site: RegistryServer) -> None:
    admin = signed_in(site, ADMIN)
    simple = f"{site.url}simple/{P}/"
    assert _post(admin, site, f"admin/projects/{P}/yank", version="1.0", reason="bad").status_code == 303
    assert requests.get(simple, timeout=30).text.count('data-yanked="bad"') == 2
    assert (
        _post(admin, site, f"admin/projects/{P}/unyank", file="ui_forms_demo-1.0.tar.gz").status_code == 303
    )
    assert requests.get(simple, timeout=30).text.count('data-yanked="bad"') == 1
    assert (
        _post(admin, site, f"admin/projects/{P}/delete", file="ui_forms_demo-1.0.tar.gz").status_code == 303
    )
    assert "ui_forms_demo-1.0.tar.gz" not in requests.get(simple, timeout=30).text
    refused = _post(signed_in(site, ALICE), site, f"admin/projects/{P}/yank", version="1.0")
    assert refused.status_code == 403 and "not allowed" in refused.text


def test_token_forms(site: RegistryServer) -> None:
    alice = signed_in(site, ALICE)
    made = _post(alice, site, "account/tokens/", description="ci", permission="read", expires="30d")
    assert made.status_code == 201 and made.headers["Cache-Control"] == "private, no-store"
    secret = made.text.split('id="new-token" class="copy" readonly value="')[1].split('"')[0]
    assert requests.get(site.url + "simple/", auth=("__token__", secret), timeout=30).status_code == 200
    bad = _post(alice, site, "account/tokens/", description="x", expires="yesterday")
    assert bad.status_code == 400 and "Invalid expiry" in bad.text
    token_id = secret.split("_")[1]
    assert _post(alice, site, f"account/tokens/{token_id}/revoke").status_code == 303
    auth = ("__token__", secret)
    assert eventually(lambda: requests.get(site.url + "simple/", auth=auth, timeout=30).status_code == 401)


def test_failed_sign_in_is_401_without_a_basic_auth_prompt(site: RegistryServer) -> None:
    http = requests.Session()
    token = csrf_from(http.get(site.url + "account/login/", timeout=30).text)
    data = {"username": ALICE[0], "password": "wrong-password", "csrf_token": token}
    answer = http.post(site.url + "account/login/", data=data, timeout=30)
    assert answer.status_code == 401 and "Invalid username or password" in answer.text
    assert not answer.headers["WWW-Authenticate"].lower().startswith("basic")


def test_sign_in_goes_back_only_to_this_site(site: RegistryServer) -> None:
    for target, expected in (
        ("/project/x/", "/project/x/"),
        ("//evil.example/", "/"),
        ("https://evil.example/", "/"),
    ):
        http = requests.Session()
        token = csrf_from(http.get(site.url + "account/login/", timeout=30).text)
        data = {"username": ALICE[0], "password": ALICE[1], "csrf_token": token, "next": target}
        answer = http.post(site.url + "account/login/", data=data, allow_redirects=False, timeout=30)
        assert answer.headers["Location"] == expected


def test_sign_in_has_the_brute_force_limits_of_basic_auth(make_server: Callable[..., RegistryServer]) -> None:
    limited = make_server(**{"auth.max_failures_per_user": "2"})
    http = requests.Session()
    statuses = []
    for _ in range(3):
        token = csrf_from(http.get(limited.url + "account/login/", timeout=30).text)
        data = {"username": ALICE[0], "password": "wrong-password", "csrf_token": token}
        statuses.append(http.post(limited.url + "account/login/", data=data, timeout=30))
    assert [answer.status_code for answer in statuses] == [401, 401, 429]
    assert int(statuses[-1].headers["Retry-After"]) > 0
    # The same limiter as basic auth (same connection, so the same worker process's counts).
    assert http.get(limited.url + "simple/", auth=(ALICE[0], "wrong-again"), timeout=30).status_code == 429


def test_sign_in_from_a_page_returns_to_it(site: RegistryServer) -> None:
    http = requests.Session()
    page = f"{site.url}project/{P}/"
    form = http.get(site.url + "account/login/", headers={"Referer": page}, timeout=30).text
    assert f'name="next" value="/project/{P}/"' in form
    other = {"Referer": "https://other.invalid/x"}
    elsewhere = http.get(site.url + "account/login/", headers=other, timeout=30)
    assert 'name="next" value="/"' in elsewhere.text
