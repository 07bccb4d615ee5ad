"""Parsers for setting values: each takes the text a user wrote and returns the typed value,
or raises ``ValueError`` with what is expected (the loader adds the key and the value)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

Parser = Callable[[str], Any]


def parse_text(value: str) -> str:
    return value.strip()


def parse_base_url(value: str) -> str:
    """An http(s) base URL, normalized to end with a slash; empty stays empty.

    >>> parse_base_url("https://pypi.example.com")
    'https://pypi.example.com/'
    """
    url = value.strip()
    if not url:
        return ""
    if not re.match(r"https?://[^/\s]+", url):
        raise ValueError("expected an http:// or https:// URL")
    return url if url.endswith("/") else url + "/"


def parse_bool(value: str) -> bool:
    """Parse an ini boolean.

    >>> parse_bool("Yes"), parse_bool("0")
    (True, False)
    """
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected true or false")


def parse_int(value: str) -> int:
    number = int(value.strip())
    if number < 0:
        raise ValueError("expected a number >= 0")
    return number


def parse_float(value: str) -> float:
    number = float(value.strip())
    if number < 0:
        raise ValueError("expected a number >= 0")
    return number


_SIZE_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 10**6, "mb": 10**6}
_SIZE_UNITS.update({"mib": 2**20, "g": 10**9, "gb": 10**9, "gib": 2**30})


def parse_size(value: str) -> int:
    """Parse a byte size such as ``100MiB``, ``2GB`` or ``1048576``.

    >>> parse_size("100 MiB")
    104857600
    """
    match = re.fullmatch(r"\s*(\d+)\s*([a-zA-Z]*)\s*", value)
    if not match or match.group(2).lower() not in _SIZE_UNITS:
        raise ValueError("expected a size such as 100MiB, 2GB or 1048576")
    return int(match.group(1)) * _SIZE_UNITS[match.group(2).lower()]


_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(value: str) -> int:
    """Parse a duration into seconds: ``7d``, ``12h``, ``1d12h``, ``90m``, ``2w``, ``30s``, or a
    plain number of seconds (``0`` turns a duration setting off).

    >>> parse_duration("7d"), parse_duration("1d12h"), parse_duration("90")
    (604800, 129600, 90)
    """
    text = value.strip().lower().replace(" ", "")
    if text.isdigit():
        return int(text)
    parts = re.findall(r"(\d+)([smhdw])", text)
    if not text or "".join(number + unit for number, unit in parts) != text:
        raise ValueError("expected a duration such as 7d, 12h, 1d12h, 90m or a number of seconds")
    return sum(int(number) * _DURATION_UNITS[unit] for number, unit in parts)


def parse_list(value: str) -> tuple[str, ...]:
    """Split on whitespace and commas.

    >>> parse_list("alice, bob\\ncarol")
    ('alice', 'bob', 'carol')
    """
    return tuple(item for item in re.split(r"[\s,]+", value) if item)


def parse_url(value: str) -> str:
    """An http(s) URL, or empty for none; a trailing slash is added (it names a folder).

    >>> parse_url(" http://127.0.0.1:3141/simple ")
    'http://127.0.0.1:3141/simple/'
    """
    url = value.strip()
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("expected an http:// or https:// URL")
    if parts.query or parts.fragment:
        raise ValueError("expected a URL without ?query or #fragment")
    return url if url.endswith("/") else url + "/"


def choice(*allowed: str) -> Parser:
    def parse(value: str) -> str:
        cleaned = value.strip().lower()
        if cleaned not in allowed:
            raise ValueError(f"choose one of {', '.join(allowed)}")
        return cleaned

    parse.choices = allowed  # type: ignore[attr-defined]
    return parse


def backend_choice(*names: str) -> Parser:
    """One of ``names`` (any case), or a dotted path to a class of one's own, which is
    imported and checked only when the backend is loaded (``registry.backends``).

    >>> backend_choice("config", "db")("mypkg.access:LdapAccess"), backend_choice("db")(" DB ")
    ('mypkg.access:LdapAccess', 'db')
    """

    def parse(value: str) -> str:
        text = value.strip()
        if "." in text or ":" in text:
            return text
        if text.lower() not in names:
            raise ValueError(f"choose one of {', '.join(names)}, or name a class as 'package.module:Class'")
        return text.lower()

    parse.choices = names  # type: ignore[attr-defined]
    return parse


PSEUDO_GROUPS = ("everyone", "authenticated", "admin")
# User and group names: what a config key, a Firestore document id and basic auth all accept.
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._@+-]{0,99}")


def principals(*, allow_empty: bool = False) -> Parser:
    """A list of who may do something: the pseudo-groups ``everyone``, ``authenticated`` and
    ``admin``, or group names.

    >>> principals()("authenticated, Staff")
    ('authenticated', 'staff')
    """

    def parse(value: str) -> tuple[str, ...]:
        items = tuple(item.lower() for item in parse_list(value))
        if not items and not allow_empty:
            raise ValueError(f"expected one or more of {', '.join(PSEUDO_GROUPS)} or group names")
        for item in items:
            if item not in PSEUDO_GROUPS and not NAME_PATTERN.fullmatch(item):
                raise ValueError(f"{item!r} is neither one of {', '.join(PSEUDO_GROUPS)} nor a group name")
        return items

    parse.choices = PSEUDO_GROUPS  # type: ignore[attr-defined]
    return parse
