"""The security headers and the cross-site rules, as seen through the Firebase Hosting emulator."""

from __future__ import annotations

import pytest
import requests

from registry.web.headers import CONTENT_SECURITY_POLICY

from .conftest import DEMO, Hosting

pytestmark = [pytest.mark.hosting, pytest.mark.e2e]


def test_security_headers_survive_hosting(hosting: Hosting) -> None:
    page = requests.get(f"{hosting.url}/simple/{DEMO.name}/", headers={"Accept": "text/html"}, timeout=10)
    assert page.status_code == 200
    assert page.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    wheel = requests.get(hosting.url + hosting.registry.file_path(), timeout=10)
    assert wheel.status_code == 200 and wheel.headers["X-Content-Type-Options"] == "nosniff"


def test_a_cross_site_write_through_hosting_is_refused(hosting: Hosting) -> None:
    """Hosting passes the browser's headers on: the app still sees where the request came from."""
    path = f"{hosting.url}/manage/projects/{DEMO.name}/releases/{DEMO.version}/unyank"
    admin = {"Authorization": hosting.registry.admin}
    for browser in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        refused = requests.post(path, headers=admin | browser, timeout=10)
        assert refused.status_code == 403, refused.text
        assert "Cross-site request refused" in refused.text
    same_origin = requests.post(path, headers=admin | {"Sec-Fetch-Site": "same-origin"}, timeout=10)
    assert same_origin.status_code == 200, same_origin.text
