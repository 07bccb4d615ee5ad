"""Compact JSON as bytes, for the big documents: a project page listing thousands of files, a
kept upstream page's rows. orjson writes them ten times faster than the standard library (a
cold proxy install writes 20 MB of them); whatever orjson refuses (an integer past 64 bits, a
lone surrogate, a key that is not a string) is written by ``json`` instead, as the same data."""

from __future__ import annotations

import json

import orjson


def dumps(value: object) -> bytes:
    """``value`` as compact JSON (no spaces), UTF-8."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return json.dumps(value, separators=(",", ":")).encode()
