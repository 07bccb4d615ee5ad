"""Several upstreams (``pypi.upstreams``): order, routing, never merged, attribution, health.

Two real pypiservers on loopback: ``main`` (open) and ``partner`` (reads need a login, from
an htpasswd file). Projects matching ``routed-*`` go to ``partner`` only.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urljoin

import pytest
from flask import Flask
from flask.testing import FlaskClient

from registry import create_app
from registry.config import load_config
from registry.core.routing import Locator
from registry.lockfiles import Pin
from registry.storage.base import UPSTREAM_PREFIX
from registry.upstream import UpstreamIndex
from registry.upstream.store import space_of
from tests.backends import Backends as Services
from tests.distributions import Dist, wheel_bytes
from tests.server import ADMIN, base_settings, basic_auth, free_port
from tests.upstream import PypiServer, SilentServer

PARTNER_USER = ("reader", "partner-secret-pw")
JSON = {"Accept": "application/vnd.pypi.simple.v1+json"}


@pytest.fixture(scope="module")
def main(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PypiServer]:
    server = PypiServer(tmp_path_factory.mktemp("main") / "files").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def partner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PypiServer]:
    root = tmp_path_factory.mktemp("partner") / "files"
    server = PypiServer(root, users=dict([PARTNER_USER])).start()
    yield server
    server.stop()


def two_upstreams(first: str, second: str, **extra: str) -> dict[str, str]:
    """``main`` then ``partner`` (with its login), ``routed-*`` going to ``partner`` only."""
    return {
        "pypi.fallback": "cache",
        "pypi.cache_update": "everyone",
        "pypi.upstreams": "main partner",
        "upstream.main.url": first,
        "upstream.partner.url": second,
        "upstream.partner.username": PARTNER_USER[0],
        "upstream.partner.password": PARTNER_USER[1],
        "upstream.partner.projects": "routed-*",
        **extra,
    }


@pytest.fixture
def make_app(tmp_path: Path) -> Callable[..., Flask]:
    def make(data: str = "", **settings: str) -> Flask:
        merged = base_settings(tmp_path / (data or f"data-{len(list(tmp_path.iterdir()))}"))
        merged.update(settings)
        return create_app(load_config(environ={}, overrides=merged))

    return make


@pytest.fixture
def client(make_app: Callable[..., Flask], main: PypiServer, partner: PypiServer) -> FlaskClient:
    return make_app(**two_upstreams(main.url, partner.url)).test_client()


def services(client: FlaskClient) -> Services:
    return Services(client.application.extensions["registry"])


def files_on(page: str) -> dict[str, str]:
    """filename -> data-upstream of every file on an HTML project page."""
    found = {}
    for attributes, name in re.findall(r"<a ([^>]*)>([^<]+)</a>", page):
        upstream = re.search(r'data-upstream="([^"]*)"', attributes)
        found[name] = upstream.group(1) if upstream else ""
    return found


def fetch_first_file(client: FlaskClient, project: str) -> str:
    """Download the first file listed on the project's page; its filename."""
    document = client.get(f"/simple/{project}/", headers=JSON).get_json()
    entry = document["files"][0]
    answer = client.get(urljoin(f"/simple/{project}/", entry["url"]))
    assert answer.status_code == 200, answer.text
    return str(entry["filename"])


def test_the_first_upstream_that_has_a_project_serves_it_never_merged(
    client: FlaskClient, main: PypiServer, partner: PypiServer, unique_name: str
) -> None:
    main.add(Dist(unique_name, "1.0"), sdist=False)
    partner.add(Dist(unique_name, "2.0"), sdist=False)
    page = client.get(f"/simple/{unique_name}/")
    assert page.status_code == 200
    assert files_on(page.text) == {Dist(unique_name, "1.0").wheel_name: "main"}
    document = client.get(f"/simple/{unique_name}/", headers=JSON).get_json()
    assert document["versions"] == ["1.0"]
    assert [entry["_upstream"] for entry in document["files"]] == ["main"]
    assert document["meta"]["tracks"] == [f"{main.url}{unique_name}/"]
    # each upstream keeps its pages in a Storage folder of its own; partner was never asked
    kept = kept_heads(client, unique_name)
    assert kept == [f"{UPSTREAM_PREFIX}{space_of(main.url)}/heads/{unique_name}"]


def kept_heads(client: FlaskClient, project: str, timeout: float = 10) -> list[str]:
    """The Storage keys of the project's kept upstream pages (saved in the background)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        keys = services(client).storage.list_keys(UPSTREAM_PREFIX)
        found = sorted(key for key in keys if key.endswith(f"/heads/{project}"))
        if found:
            return found
        time.sleep(0.02)
    return []


def test_a_project_only_on_a_later_upstream_comes_from_it_with_its_login(
    make_app: Callable[..., Flask], main: PypiServer, partner: PypiServer, unique_name: str
) -> None:
    unrouted = two_upstreams(main.url, partner.url, **{"upstream.partner.projects": ""})
    client = make_app(**unrouted).test_client()
    dist = Dist(unique_name, "3.0")
    partner.add(dist, sdist=False)
    page = client.get(f"/simple/{unique_name}/")
    assert files_on(page.text) == {dist.wheel_name: "partner"}
    assert fetch_first_file(client, unique_name) == dist.wheel_name
    record = services(client).cache.get_file(unique_name, dist.wheel_name)  # type: ignore[arg-type]
    assert (
        record is not None and record.upstream == "partner" and record.origin.startswith("http://127.0.0.1")
    )
    info = client.get(f"/pypi/{unique_name}/json").get_json()
    assert [entry["_upstream"] for entry in info["urls"]] == ["partner"]
    ui = client.get(f"/project/{unique_name}/").text
    assert "cached from upstream partner" in ui and 'class="upstream">partner<' in ui
    for text in (page.text, ui, json.dumps(info), record.origin):
        assert PARTNER_USER[1] not in text


def test_a_routed_pattern_goes_to_its_upstream_only(
    client: FlaskClient, main: PypiServer, partner: PypiServer, unique_name: str
) -> None:
    routed = f"Routed_{unique_name}"  # normalized before it is matched: routed-...
    main.add(Dist(routed, "9.0"), sdist=False)  # the same name on the first upstream is never used
    partner.add(Dist(routed, "1.0"), sdist=False)
    page = client.get(f"/simple/routed-{unique_name}/")
    assert files_on(page.text) == {Dist(routed, "1.0").wheel_name: "partner"}
    kept = kept_heads(client, f"routed-{unique_name}")
    assert kept == [f"{UPSTREAM_PREFIX}{space_of(partner.url)}/heads/routed-{unique_name}"]

    only_on_main = f"routed-only-{unique_name}"
    main.add(Dist(only_on_main, "1.0"), sdist=False)
    assert client.get(f"/simple/{only_on_main}/").status_code == 404
    assert client.get(f"/simple/{unique_name}-unrouted/").status_code == 404  # on neither


def test_a_project_stays_with_the_upstream_it_came_from(
    make_app: Callable[..., Flask], main: PypiServer, partner: PypiServer, unique_name: str
) -> None:
    # no routing: main is asked first, yet a same-name project added there later never takes over
    settings = two_upstreams(main.url, partner.url, **{"pypi.fallback_page_ttl": "0"})
    settings["upstream.partner.projects"] = ""
    client = make_app(data="sticky", **settings).test_client()
    located, cached = f"{unique_name}-located", f"{unique_name}-cached"
    for project in (located, cached):
        partner.add(Dist(project, "1.0"), sdist=False)
        assert set(files_on(client.get(f"/simple/{project}/").text).values()) == {"partner"}
    fetch_first_file(client, cached)  # its record now names partner
    for project in (located, cached):
        main.add(Dist(project, "5.0"), sdist=False)  # dependency confusion attempt
        assert set(files_on(client.get(f"/simple/{project}/").text).values()) == {"partner"}

    restarted = make_app(data="sticky", **settings).test_client()  # a new process: no memory
    assert files_on(restarted.get(f"/simple/{cached}/").text) == {Dist(cached, "1.0").wheel_name: "partner"}


def test_one_upstream_down_the_other_still_serves_and_health_says_which(
    make_app: Callable[..., Flask], tmp_path: Path, partner: PypiServer, unique_name: str
) -> None:
    flaky = PypiServer(tmp_path / "flaky").start()
    try:
        settings = two_upstreams(flaky.url, partner.url, **{"pypi.fallback_page_ttl": "0"})
        settings.update({"upstream.partner.projects": "", "pypi.upstream_probe_seconds": "0"})
        client = make_app(**settings).test_client()
        partner.add(Dist(unique_name, "1.0"), sdist=False)
        assert files_on(client.get(f"/simple/{unique_name}/").text) == {
            Dist(unique_name, "1.0").wheel_name: "partner"
        }
    finally:
        flaky.stop()
    # main is gone: a project found on partner is still served from partner
    assert files_on(client.get(f"/simple/{unique_name}/").text) == {
        Dist(unique_name, "1.0").wheel_name: "partner"
    }
    # a project never located is not looked for past the failing upstream (it might be there)
    partner.add(Dist(f"{unique_name}-new", "1.0"), sdist=False)
    answer = client.get(f"/simple/{unique_name}-new/")
    assert answer.status_code == 502 and "cannot be reached" in answer.text

    upstreams = wait_for_probes(client)
    assert str(upstreams["main"]["status"]).startswith("error: The upstream index cannot be reached")
    assert upstreams["partner"] == {
        "url": partner.url,
        "status": "ok",
        "checked_seconds_ago": upstreams["partner"]["checked_seconds_ago"],
    }
    health = client.get("/health")
    assert health.status_code == 200 and PARTNER_USER[1] not in health.text  # still ready


def wait_for_probes(client: FlaskClient, timeout: float = 20) -> dict[str, dict[str, object]]:
    """/health's upstreams once every probe has answered (the first call only starts them)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        upstreams = client.get("/health").get_json()["upstreams"]
        if all(state["status"] != "unknown" for state in upstreams.values()):
            return dict(upstreams)
        time.sleep(0.05)
    raise AssertionError(f"the probes did not answer in {timeout}s")


def test_health_answers_at_once_while_an_upstream_hangs(
    make_app: Callable[..., Flask], partner: PypiServer
) -> None:
    silent = SilentServer()
    try:
        settings = two_upstreams(silent.url, partner.url)
        settings.update({"upstream.main.timeout": "2", "pypi.upstream_probe_seconds": "0"})
        client = make_app(**settings).test_client()
        started = time.monotonic()
        first = client.get("/health").get_json()["upstreams"]
        assert time.monotonic() - started < 1  # the probe of main takes 2 seconds
        assert first["main"]["status"] == "unknown"
        assert wait_for_probes(client, timeout=20)["partner"]["status"] == "ok"
    finally:
        silent.stop()


def test_redirect_mode_goes_to_the_projects_upstream(
    make_app: Callable[..., Flask], main: PypiServer, partner: PypiServer, unique_name: str
) -> None:
    client = make_app(
        **two_upstreams(
            main.url, partner.url, **{"pypi.fallback": "redirect", "upstream.partner.projects": ""}
        )
    ).test_client()
    partner.add(Dist(unique_name, "1.0"), sdist=False)
    answer = client.get(f"/simple/{unique_name}/")
    assert answer.status_code == 302 and answer.headers["Location"] == f"{partner.url}{unique_name}/"
    assert PARTNER_USER[1] not in answer.headers["Location"]


def test_mirror_fetches_each_pin_from_the_upstream_its_project_routes_to(
    client: FlaskClient, main: PypiServer, partner: PypiServer, unique_name: str
) -> None:
    plain, routed = Dist(unique_name, "1.0"), Dist(f"routed-{unique_name}", "2.0")
    main.add(plain, sdist=False)
    main.add(Dist(routed.name, "2.0", summary="the wrong one"), sdist=False)
    partner.add(routed, sdist=False)
    mirror = services(client).registry.mirror
    pins = [Pin(name, version) for name, version in ((plain.name, "1.0"), (routed.name, "2.0"))]  # type: ignore[arg-type]
    plan = mirror.plan(pins, lambda filename: True)
    assert plan.problems == []
    assert {(w.filename, w.permit.upstream) for w in plan.wanted} == {
        (plain.wheel_name, "main"),
        (routed.wheel_name, "partner"),
    }
    stored = [mirror.fetch(wanted) for wanted in plan.wanted]
    by_name = {record.filename: record for record in stored}
    assert by_name[routed.wheel_name].upstream == "partner"
    assert by_name[routed.wheel_name].size == len(wheel_bytes(routed))


def test_the_locator_asks_an_upstream_once_per_page_ttl(
    main: PypiServer, partner: PypiServer, unique_name: str
) -> None:
    indexes = {
        "main": UpstreamIndex(main.url),
        "partner": UpstreamIndex(partner.url, username=PARTNER_USER[0], password=PARTNER_USER[1]),
    }
    partner.add(Dist(unique_name, "1.0"), sdist=False)
    locator = Locator(indexes)
    assert locator.locate(unique_name, ("main", "partner")) == "partner"  # type: ignore[arg-type]
    asked = main.log.read_text().count(f"/simple/{unique_name}/")
    assert locator.locate(unique_name, ("main", "partner")) == "partner"  # type: ignore[arg-type]
    assert main.log.read_text().count(f"/simple/{unique_name}/") == asked
    assert locator.locate(unique_name, ("main",)) == "main"  # type: ignore[arg-type]


def test_an_unreachable_port_is_reported_by_name(make_app: Callable[..., Flask], partner: PypiServer) -> None:
    closed = f"http://127.0.0.1:{free_port()}/simple/"
    client = make_app(
        **two_upstreams(closed, partner.url, **{"pypi.upstream_probe_seconds": "0"})
    ).test_client()
    upstreams = wait_for_probes(client)
    assert upstreams["main"]["status"].startswith("error: ")  # type: ignore[union-attr]
    assert upstreams["main"]["url"] == closed


def test_start_up_names_each_upstream_without_credentials(
    make_app: Callable[..., Flask], main: PypiServer, partner: PypiServer, caplog: pytest.LogCaptureFixture
) -> None:
    secret_url = main.url.replace("http://", f"http://bot:{PARTNER_USER[1]}@")
    with caplog.at_level(logging.INFO, logger="registry"):
        make_app(**two_upstreams(secret_url, partner.url))
    assert f"in order: main ({main.url}), partner ({partner.url})" in caplog.text
    assert PARTNER_USER[1] not in caplog.text


def test_health_shows_what_requests_saw_and_probes_nothing_at_start_up(
    client: FlaskClient, main: PypiServer, unique_name: str
) -> None:
    before = client.get("/health").get_json()["upstreams"]
    assert {state["status"] for state in before.values()} == {"unknown"}  # nothing sent upstream
    assert client.get(f"/simple/{unique_name}/").status_code == 404  # main answered: reachable
    after = client.get("/health").get_json()["upstreams"]
    assert (after["main"]["status"], after["partner"]["status"]) == ("ok", "unknown")
    admin = client.get("/health", headers={"Authorization": basic_auth(*ADMIN)}).get_json()
    assert set(admin["upstream"]) >= {"main", "partner", "rendered_pages"}  # memory and breaker by name
    assert admin["upstream"]["main"]["breaker"] == {"open": False}
