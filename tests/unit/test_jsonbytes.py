"""``jsonbytes.dumps``: orjson's compact output, and the standard library's for what orjson
refuses (the same data either way)."""

from __future__ import annotations

import json

import pytest

from registry import jsonbytes


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
