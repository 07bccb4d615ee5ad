"""Odd values in an upstream's PEP 691 page never break the registry's pages: a lone UTF-16
surrogate escaped in the JSON (valid JSON, not encodable as UTF-8), a size past 64 bits, text in
other scripts. Each page is served 200 in both forms, as valid UTF-8, with every usable file.

A real gunicorn server with the fallback in cache mode (the mode that lists the upstream's files
as its own) over a static upstream on loopback (tests/static_index.py) whose page file is
written byte for byte.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server import RegistryServer, base_settings
from tests.static_index import StaticIndex

pytestmark = pytest.mark.e2e

JSON = "application/vnd.pypi.simple.v1+json"
SHA = hashlib.sha256(b"odd").hexdigest()
# Written by hand: json.dumps would not write a lone surrogate the way a hostile page can.
PAGE = (
    '{"meta": {"api-version": "1.1"}, "name": "odd-lib", "files": ['
    '{"filename": "odd_lib-1.0-py3-none-any.whl", "url": "../../files/odd_lib-1.0-py3-none-any.whl",'
    ' "hashes": {"sha256": "SHA256"}, "requires-python": ">=3.8\\ud800", "yanked": "bad \\udc00 build",'
    ' "size": 1180591620717411303424, "upload-time": "2024-01-02T03:04:05.000000Z"},'
    '{"filename": "odd_lib-1.1-py3-none-any.whl", "url": "../../files/odd_lib-1.1-py3-none-any.whl",'
    ' "hashes": {"sha256": "SHA256"}, "yanked": "r\\u00e9trac\\u00e9 \\u2014 \\ud83d\\ude00", "size": 10},'
    '{"filename": "odd_lib-1.2-py3-none-any.whl", "url": "../../files/odd_lib-1.2\\udfff.whl",'
    ' "hashes": {"sha256": "SHA256"}}'
    "]}"
).replace("SHA256", SHA)


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[StaticIndex]:
    index = StaticIndex(tmp_path / "upstream")
    folder = index.root / "simple" / "odd-lib"
    folder.mkdir(parents=True)
    (folder / "index.html").write_text(PAGE, encoding="ascii")
    yield index
    index.stop()


def test_odd_upstream_values_render_as_valid_pages(upstream: StaticIndex, tmp_path: Path) -> None:
    settings = base_settings(tmp_path / "data") | {
        "pypi.fallback": "cache",
        "pypi.fallback_url": upstream.url,
    }
    server = RegistryServer(settings, tmp_path / "logs").start()
    try:
        answer = server.get("simple/odd-lib/", headers={"Accept": JSON})
        assert answer.status_code == 200, answer.text
        assert b"\\ud" not in answer.content.lower()  # no surrogate escaped through
        page = json.loads(answer.content.decode("utf-8"))
        files = {entry["filename"]: entry for entry in page["files"]}
        assert set(files) == {
            "odd_lib-1.0-py3-none-any.whl",
            "odd_lib-1.1-py3-none-any.whl",
            "odd_lib-1.2-py3-none-any.whl",
        }
        first, second = files["odd_lib-1.0-py3-none-any.whl"], files["odd_lib-1.1-py3-none-any.whl"]
        assert "size" not in first  # past 64 bits: no size is better than a wrong one
        assert first["yanked"] == "bad \ufffd build" and first["requires-python"] == ">=3.8\ufffd"
        assert second["yanked"] == "r\u00e9trac\u00e9 \u2014 \U0001f600" and second["size"] == 10
        assert page["versions"] == ["1.0", "1.1", "1.2"]

        html = server.get("simple/odd-lib/")
        assert html.status_code == 200, html.text
        text = html.content.decode("utf-8")
        assert 'data-yanked="bad \ufffd build"' in text and "\U0001f600" in text
        assert text.count("<a ") == 3
    finally:
        server.stop()
