"""``jsonbytes.dumps``: orjson's compact output, and the standard library's for what orjson
refuses (the same data either way)."""

from __future__ import annotations

import json

import pytest

from registry import jsonbytes
from registry.core.listing import Link, Repository
from registry.web.render import render_project_html, render_project_json


@pytest.mark.parametrize(
    "value",
    [
        {"name": "a", "files": [{"size": 1, "yanked": False, "hashes": {}}], "t": (1, "x")},
        {"text": "r\u00e9trac\u00e9 \u2014 \U0001f600", "n": None, "f": 1.5},
    ],
)
def test_compact_utf8_json_of_the_same_data(value: object) -> None:
    assert jsonbytes.dumps(value) == json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


@pytest.mark.parametrize("value", [{"size": 2**70}, {"reason": "bad \udc00 build"}, {1: "int key"}])
def test_what_orjson_refuses_is_written_by_json(value: object) -> None:
    written = jsonbytes.dumps(value)
    assert written == json.dumps(value, separators=(",", ":")).encode()


def test_a_page_kept_with_a_lone_surrogate_still_renders() -> None:
    """Kept rows written before upstream text was cleaned on reading may hold a lone surrogate:
    both forms of the page still render (JSON escapes it, HTML shows "?")."""
    link = Link("a-1.0.tar.gz", "1.0", "/x", yanked=True, yanked_reason="bad \udc00 build")
    assert 'data-yanked="bad ? build"' in render_project_html("a", [link], Repository()).decode()
    page = json.loads(render_project_json("a", [link], Repository()))
    assert page["files"][0]["yanked"] == "bad \udc00 build"
