"""Helpers for the web UI tests: forms, CSRF tokens and signed-in HTTP sessions."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable

import requests

from tests.conftest import post_upload
from tests.distributions import Dist, sdist_bytes, wheel_bytes
from tests.server import RegistryServer

README = """# Getting started

Install it and run:

```python
import readme_demo
print(readme_demo.VERSION)
```

See [the guide](https://example.invalid/guide) for more.
"""


def csrf_from(page: str) -> str:
    """The CSRF token of the first form on ``page``."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the page has no form with a CSRF token"
    return html.unescape(found.group(1))


def signed_in(server: RegistryServer, user: tuple[str, str]) -> requests.Session:
    """An HTTP session signed in through the sign-in form."""
    http = requests.Session()
    form = http.get(server.url + "account/login/", timeout=30)
    answer = http.post(
        server.url + "account/login/",
        data={"username": user[0], "password": user[1], "csrf_token": csrf_from(form.text), "next": "/"},
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 303, answer.text
    return http


def readme_dist(name: str, version: str = "1.0", *, keywords: str = "", **fields: str) -> Dist:
    """A project whose description is ``README`` (Markdown) unless ``fields`` say otherwise."""
    extra = f"Description-Content-Type: {fields.pop('content_type', 'text/markdown')}\n"
    if keywords:
        extra += f"Keywords: {keywords}\n"
    return Dist(name, version, extra_metadata=extra, description=fields.pop("description", README), **fields)


def upload(
    server: RegistryServer, dist: Dist, *, sdist: bool = True, auth: tuple[str, str] | None = None
) -> None:
    """Upload ``dist``'s wheel (and sdist); fail the test if one is refused."""
    files = [(wheel_bytes(dist), dist.wheel_name)]
    if sdist:
        files.append((sdist_bytes(dist), dist.sdist_name))
    for content, filename in files:
        kwargs = {"auth": auth} if auth else {}
        response = post_upload(server, content, filename, dist.name, dist.version, **kwargs)  # type: ignore[arg-type]
        assert response.status_code == 200, response.text


def eventually(check: Callable[[], bool], seconds: float = 5.0) -> bool:
    """Whether ``check`` holds within ``seconds``: other worker processes see access changes
    (a revoked token) within ``auth.refresh_seconds`` (1 s)."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True
