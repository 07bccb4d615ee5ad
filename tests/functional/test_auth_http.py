"""Logging in over HTTP: failures that reveal nothing, brute-force limits, tokens, hidden listings."""

from __future__ import annotations

import base64
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from registry import create_app
from tests.access_helpers import READER, UPLOADER, seeded_server
from tests.conftest import post_upload
from tests.distributions import Dist, wheel_bytes
from tests.server import ADMIN, RegistryServer, base_settings

SETTINGS = {
    "pypi.default_read": "everyone",
    "pypi.default_write": "uploaders",
    "package.secret.user.uploader": "rw",
    "auth.max_failures_per_user": "3",
    "auth.max_failures_per_address": "0",
}


@pytest.fixture(scope="module")
def seeded(
    tmp_path_factory: pytest.TempPathFactory,
    backend_settings: Callable[[], dict[str, str]],
) -> Iterator[tuple[RegistryServer, dict[str, str]]]:
    """One worker, so in-memory limits are deterministic; ``pub`` and hidden ``secret`` uploaded."""
    server, tokens = seeded_server(tmp_path_factory.mktemp("auth"), SETTINGS, backend_settings(), workers=1)
    for name in ("pub", "secret"):
        dist = Dist(name, "1.0")
        assert post_upload(server, wheel_bytes(dist), dist.wheel_name, name, "1.0").status_code == 200
    yield server, tokens
    server.stop()


@pytest.fixture
def server(seeded: tuple[RegistryServer, dict[str, str]]) -> RegistryServer:
    return seeded[0]


@pytest.fixture
def single(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., RegistryServer]]:
    """Start a one-worker server (deterministic in-memory limits) with extra settings."""
    started: list[RegistryServer] = []

    def make(**settings: str) -> RegistryServer:
        tmp = tmp_path_factory.mktemp("single")
        merged = {**base_settings(tmp / "data"), **settings}
        started.append(RegistryServer(settings=merged, log_dir=tmp / "logs", workers=1).start())
        return started[-1]

    yield make
    for running in started:
        running.stop()


def comparable(response: requests.Response) -> tuple[object, ...]:
    headers = {k: v for k, v in response.headers.items() if k.lower() not in ("date", "server")}
    return response.status_code, response.reason, response.text, headers


def test_wrong_password_and_unknown_user_answer_the_same(server: RegistryServer) -> None:
    wrong = server.get("simple/pub/", auth=(READER[0], "not-the-password"))
    unknown = server.get("simple/pub/", auth=("no-such-user", "not-the-password"))
    assert wrong.status_code == 401
    assert comparable(wrong) == comparable(unknown)
    assert wrong.headers["WWW-Authenticate"].startswith("Basic")
    assert "no-store" in wrong.headers["Cache-Control"]


def test_wrong_password_and_unknown_user_take_the_same_time(single: Callable[..., RegistryServer]) -> None:
    server = single(**{"auth.max_failures_per_user": "0", "auth.max_failures_per_address": "0"})

    def seconds(name: str) -> float:
        start = time.perf_counter()
        assert server.get("simple/", auth=(name, "not-the-password")).status_code == 401
        return time.perf_counter() - start

    wrong: list[float] = []
    unknown: list[float] = []
    for _ in range(12):
        wrong.append(seconds(ADMIN[0]))
        unknown.append(seconds("no-such-user"))
    ratio = statistics.median(unknown) / statistics.median(wrong)
    assert 0.6 < ratio < 1.6, (wrong, unknown)


def test_repeated_failures_get_429_with_retry_after(server: RegistryServer) -> None:
    name = "locked-out-user"
    answers = [server.get("simple/pub/", auth=(name, "guess")).status_code for _ in range(3)]
    assert answers == [401, 401, 401]
    blocked = server.get("simple/pub/", auth=(name, "guess"))
    assert blocked.status_code == 429
    assert 0 < int(blocked.headers["Retry-After"]) <= 300
    assert "no-store" in blocked.headers["Cache-Control"]
    assert "Too many failed logins" in blocked.text
    assert server.get("simple/pub/", auth=READER).status_code == 200, "other users are unaffected"


def test_a_locked_out_user_is_refused_even_with_the_right_password(
    single: Callable[..., RegistryServer],
) -> None:
    server = single(**{"auth.max_failures_per_user": "2", "auth.max_failures_per_address": "0"})
    for _ in range(2):
        assert server.get("simple/", auth=(ADMIN[0], "wrong")).status_code == 401
    assert server.get("simple/", auth=ADMIN).status_code == 429


def test_repeated_failures_from_one_address_get_429(single: Callable[..., RegistryServer]) -> None:
    server = single(**{"auth.max_failures_per_user": "0", "auth.max_failures_per_address": "4"})
    for index in range(4):
        assert server.get("simple/", auth=(f"spray-{index}", "guess")).status_code == 401
    blocked = server.get("simple/", auth=("spray-new", "guess"))
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0


def test_behind_a_proxy_the_forwarded_address_is_counted(tmp_path: Path) -> None:
    settings = {
        "auth.max_failures_per_user": "0",
        "auth.max_failures_per_address": "2",
        "auth.trusted_proxy_hops": "1",
    }
    app = create_app({**base_settings(tmp_path), **settings})
    client = app.test_client()

    def status(forwarded: str) -> int:
        return client.get("/simple/", auth=("x", "guess"), headers={"X-Forwarded-For": forwarded}).status_code

    assert [status("203.0.113.7"), status("198.51.100.1, 203.0.113.7")] == [401, 401]
    assert status("203.0.113.7") == 429, "a client-written left part does not change the address"
    assert status("203.0.113.8") == 401, "another client behind the same proxy is not blocked"
    app.extensions["registry"].stores.close()


def test_hidden_projects_are_left_out_of_listings(server: RegistryServer) -> None:
    for auth, sees_secret in ((None, False), (READER, False), (UPLOADER, True), (ADMIN, True)):
        html = server.get("simple/", auth=auth).text
        as_json = server.get("simple/", auth=auth, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
        names = {project["name"] for project in as_json.json()["projects"]}
        assert "pub" in html and "pub" in names
        assert ('href="secret/"' in html) is sees_secret
        assert ("secret" in names) is sees_secret


def test_a_hidden_project_answers_exactly_like_a_missing_one(server: RegistryServer) -> None:
    for path in ("simple/{}/", "pypi/{}/json", "pypi/{}/1.0/json"):
        hidden = server.get(path.format("secret"), auth=READER)
        missing = server.get(path.format("nosuchproject"), auth=READER)
        assert hidden.status_code == missing.status_code == 404
        normalize = comparable(missing)[2].replace("nosuchproject", "secret")  # type: ignore[union-attr]
        assert hidden.text == normalize
        assert {k: v for k, v in hidden.headers.items() if k not in ("Date", "Content-Length")} == {
            k: v for k, v in missing.headers.items() if k not in ("Date", "Content-Length")
        }


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Basic !!!not-base64", "Unsupported Authorization header"),
        ("Digest username=x", "Unsupported Authorization header"),
        ("Bearer pyreg_000000000000_guess", "Invalid or expired API token"),
    ],
)
def test_bad_authorization_headers_get_401(server: RegistryServer, header: str, message: str) -> None:
    response = server.get("simple/pub/", headers={"Authorization": header})
    assert response.status_code == 401 and message in response.text


def test_tokens_over_http(seeded: tuple[RegistryServer, dict[str, str]]) -> None:
    server, _ = seeded
    made = server.post(
        "manage/tokens",
        auth=UPLOADER,
        json={
            "permissions": ["read", "upload"],
            "projects": ["Secret"],
            "expires": "1d",
            "description": "ci",
        },
    )
    assert made.status_code == 201, made.text
    body = made.json()
    secret, token_id = body["token"], body["id"]
    assert body["projects"] == ["secret"] and body["user"] == UPLOADER[0] and body["expires"]
    assert made.headers["Cache-Control"] == "no-store"

    listed = server.get("manage/tokens", auth=UPLOADER).json()["tokens"]
    assert token_id in [token["id"] for token in listed]
    assert secret not in str(listed) and "digest" not in str(listed)
    assert token_id not in str(server.get("manage/tokens", auth=READER).json())
    assert token_id in str(server.get("manage/tokens", auth=ADMIN).json())

    assert server.get("simple/secret/", auth=("__token__", secret)).status_code == 200
    assert server.get("simple/secret/", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    assert server.get("manage/tokens", auth=("__token__", secret)).status_code == 403

    assert server.delete(f"manage/tokens/{token_id}", auth=READER).status_code == 404
    assert server.delete(f"manage/tokens/{token_id}", auth=UPLOADER).status_code == 200
    assert server.get("simple/secret/", auth=("__token__", secret)).status_code == 401


def test_admins_manage_everyones_tokens(server: RegistryServer) -> None:
    made = server.post("manage/tokens", auth=ADMIN, json={"user": READER[0]})
    assert made.status_code == 201 and made.json()["user"] == READER[0]
    assert made.json()["permissions"] == ["read"]
    only = server.get("manage/tokens", auth=ADMIN, params={"user": READER[0]}).json()["tokens"]
    assert {token["user"] for token in only} == {READER[0]}
    assert server.delete(f"manage/tokens/{made.json()['id']}", auth=ADMIN).status_code == 200
    assert server.post("manage/tokens", auth=READER, json={"user": UPLOADER[0]}).status_code == 403


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"permissions": ["admin"]}, "read and/or upload"),
        ({"permissions": []}, "at least one permission"),
        ({"permissions": "read"}, "'permissions' must be a list of strings"),
        ({"projects": ["not a name!"]}, "Invalid project name"),
        ({"expires": "tomorrow-ish"}, "Invalid expiry"),
        ({"expires": 5}, "'expires' must be a string"),
        ({"description": "x" * 500}, "too long"),
        ({"user": "nobody"}, ""),
    ],
)
def test_token_requests_are_validated(server: RegistryServer, body: dict[str, object], message: str) -> None:
    response = server.post("manage/tokens", auth=ADMIN, json=body)
    assert response.status_code == (404 if "user" in body else 400), response.text
    assert message in response.json()["error"]
    assert "Traceback" not in response.text


def test_token_request_that_is_not_json(server: RegistryServer) -> None:
    response = server.post(
        "manage/tokens", auth=READER, data=b"not json", headers={"Content-Type": "text/plain"}
    )
    # A text/plain POST is what a page on another site can make a browser send: refused (415).
    assert response.status_code == 415 and "application/json" in response.json()["error"]


def test_secrets_never_reach_the_logs(tmp_path: Path) -> None:
    server, tokens = seeded_server(tmp_path, SETTINGS, workers=1, extra_args=["--log-level", "debug"])
    try:
        made = server.post("manage/tokens", auth=UPLOADER, json={"permissions": ["read", "upload"]}).json()
        secret = made["token"]
        calls: list[tuple[str, str]] = [
            READER,
            UPLOADER,
            ADMIN,
            (READER[0], "a-wrong-password-123"),
            ("__token__", secret),
            ("__token__", tokens["expired"]),
            ("__token__", "pyreg_000000000000_not-a-real-token"),
            (secret, ""),  # a token pasted as the user name
            ("a-password-typed-as-a-name", "x"),
        ]
        for auth in calls:
            server.get("simple/pub/", auth=auth)
            server.get("simple/missing/", auth=auth)
        server.get("simple/pub/", headers={"Authorization": f"Bearer {secret}"})
        dist = Dist("logged", "1.0")
        post_upload(server, wheel_bytes(dist), dist.wheel_name, "logged", "1.0", auth=("__token__", secret))
        requests.put(server.url + "simple/", auth=UPLOADER, timeout=30)
    finally:
        server.stop()
    logs = server.access_log.read_text() + server.error_log.read_text()
    assert f"uploader/token/{made['id']}" in logs and " reader " in logs
    forbidden = [secret, tokens["expired"], "a-wrong-password-123", "a-password-typed-as-a-name"]
    forbidden += [password for _, password in (READER, UPLOADER, ADMIN)]
    for user, password in calls:
        forbidden.append(base64.b64encode(f"{user}:{password}".encode()).decode())
    for value in forbidden:
        assert value not in logs, f"{value[:12]}... appears in the logs"
    assert "authorization" not in logs.lower()
