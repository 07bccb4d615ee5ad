"""Several upstreams end to end: real pip and uv, through this registry, to two real upstreams.

``public`` is pypiserver with an htpasswd login; ``partner`` is a second instance of this
registry that needs a login, read with an API token. The registry runs with the exact config
of docs/usage.md (``docs/configs/several-upstreams.ini``), with only paths, URLs and secrets
changed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from registry.config import read_ini
from tests.conftest import upload_dist
from tests.distributions import Dist
from tests.e2e.test_clients import fresh_venv, installed, pip_install, uv_install
from tests.server import ALICE, ROOT, RegistryServer
from tests.upstream import PypiServer

pytestmark = pytest.mark.e2e

PUBLIC_PASSWORD = "public-bot-secret"
MACHINE_SPECIFIC = ("storage.dir", "db.path")


def several_upstreams_config(public: str, partner: str, token: str) -> dict[str, str]:
    path = ROOT / "docs" / "configs" / "several-upstreams.ini"
    settings = {k: v for k, v in read_ini(path).items() if k not in MACHINE_SPECIFIC}
    settings.update(
        {
            "upstream.public.url": public,
            "upstream.public.password": PUBLIC_PASSWORD,
            "upstream.partner.url": partner,
            "upstream.partner.token": token,
        }
    )
    return settings


def wait_for_health(registry: RegistryServer, expected: dict[str, str], timeout: float = 30) -> str:
    """``/health`` once its upstreams' statuses start as ``expected`` (probes run in the
    background, in each worker); its text."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = requests.get(registry.url + "health", timeout=10)
        statuses = {name: state["status"] for name, state in answer.json()["upstreams"].items()}
        if all(statuses.get(name, "").startswith(status) for name, status in expected.items()):
            assert answer.status_code == 200  # an unreachable upstream does not fail readiness
            return answer.text
        time.sleep(0.1)
    raise AssertionError(f"/health did not show {expected} within {timeout}s, last: {statuses}")


def test_pip_and_uv_install_through_two_upstreams_routed_never_merged(
    make_server: Callable[..., RegistryServer], tmp_path: Path
) -> None:
    public = PypiServer(tmp_path / "public", users={"proxy-bot": PUBLIC_PASSWORD}).start()
    try:
        _run(make_server, public, tmp_path)
    finally:
        public.stop()


def _run(make_server: Callable[..., RegistryServer], public: PypiServer, tmp_path: Path) -> None:
    partner = make_server(**{"pypi.default_read": "authenticated"})
    answer = partner.post("manage/tokens", auth=ALICE, json={"permissions": ["read"]})
    assert answer.status_code == 201, answer.text
    token = str(answer.json()["token"])
    for dist in (Dist("acme-lib", "1.0"), Dist("shared-lib", "2.0")):
        upload_dist(partner, dist)
    public.add(Dist("team-app", "1.0", requires=["acme-lib", "shared-lib"]))
    public.add(Dist("acme-lib", "99.0"))  # a same-named project: routing keeps it out
    public.add(Dist("shared-lib", "1.0"))  # on both, unrouted: the first upstream wins
    settings = several_upstreams_config(public.url, partner.url + "simple/", token)
    registry = make_server(**settings, **{"pypi.upstream_probe_seconds": "1"})
    index = registry.url.replace("http://", f"http://{ALICE[0]}:{ALICE[1]}@") + "simple/"

    python = fresh_venv(tmp_path / "pip")
    pip_install(python, index, "team-app")
    assert {k: installed(python)[k] for k in ("team-app", "acme-lib", "shared-lib")} == {
        "team-app": "1.0",
        "acme-lib": "1.0",
        "shared-lib": "1.0",
    }
    uv_python = fresh_venv(tmp_path / "uv", with_pip=False)
    uv_install(uv_python, index, "team-app", cache=tmp_path / "uv-cache")
    assert installed(uv_python)["acme-lib"] == "1.0"

    cache = registry.services().cache
    came_from = {
        project: {record.upstream for record in cache.list_files(project)}  # type: ignore[arg-type]
        for project in ("team-app", "acme-lib", "shared-lib")
    }
    assert came_from == {"team-app": {"public"}, "acme-lib": {"partner"}, "shared-lib": {"public"}}
    page = requests.get(index + "shared-lib/", timeout=10).text
    assert "shared_lib-2.0" not in page and 'data-upstream="public"' in page

    public.stop()  # one upstream down: cached and partner projects still install
    down = {"public": "error: The upstream index cannot be reached", "partner": "ok"}
    shown = wait_for_health(registry, down)
    for secret in (PUBLIC_PASSWORD, token, ALICE[1]):
        assert secret not in shown and secret not in page
    python = fresh_venv(tmp_path / "pip2")
    pip_install(python, index, "team-app")
    assert installed(python)["acme-lib"] == "1.0"
