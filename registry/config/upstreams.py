"""Several upstream indexes: ``pypi.upstreams`` orders them, ``upstream.<name>.*`` sets each.

::

    pypi.upstreams = pypi torch
    upstream.pypi.url = https://index.example/simple/
    upstream.torch.url = https://wheels.example/simple/
    upstream.torch.token = ...
    upstream.torch.projects = torch torchvision nvidia-*

The keys are dynamic (one set per name), so they are validated here rather than in the
``SETTINGS`` table; ``UPSTREAM_FIELDS`` documents them in the same generated page. An
environment variable ``REGISTRY_UPSTREAM_TORCH_URL`` arrives as ``upstream.torch_url`` (the
first underscore after the section is the dot) and is split again by its known field suffix.
pypicloud's single-upstream keys (``pypi.fallback_url`` ...) keep working as a list of one
named ``default``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any

from packaging.utils import canonicalize_name

from ..errors import ConfigError
from .parsers import parse_float, parse_int, parse_list, parse_text, parse_url
from .table import Setting
from .views import UpstreamSettings

DEFAULT_NAME = "default"  # the upstream the pypi.fallback_* keys describe
NAME = re.compile(r"[a-z0-9](?:[a-z0-9_-]{0,38}[a-z0-9])?")
PATTERN = re.compile(r"[a-z0-9*?](?:[a-z0-9.*?-]*[a-z0-9*?])?")


def _optional(parse: Any) -> Any:
    """A parser whose empty value means "inherit the ``pypi.fallback_*`` one" (None)."""
    return lambda text: parse(text) if text.strip() else None


UPSTREAM_FIELDS: tuple[Setting, ...] = (
    Setting(
        "upstream.<name>.url",
        "",
        parse_url,
        "The simple index URL of the upstream `<name>` listed in `pypi.upstreams` (required). "
        "Credentials in it are sent to that upstream only, never logged or shown.",
        secret=True,
    ),
    Setting("upstream.<name>.username", "", parse_text, "User name for that upstream (basic auth)."),
    Setting(
        "upstream.<name>.password", "", parse_text, "Password for that upstream (basic auth).", secret=True
    ),
    Setting(
        "upstream.<name>.token",
        "",
        parse_text,
        "An API token for that upstream, sent as `Authorization: Bearer` (instead of a user name "
        "and password).",
        secret=True,
    ),
    Setting(
        "upstream.<name>.timeout",
        "",
        _optional(parse_float),
        "Seconds to wait for that upstream (empty: `pypi.fallback_timeout`).",
    ),
    Setting(
        "upstream.<name>.page_ttl",
        "",
        _optional(parse_int),
        "Seconds that upstream's project pages are reused (empty: `pypi.fallback_page_ttl`).",
    ),
    Setting(
        "upstream.<name>.projects",
        "",
        parse_list,
        "Routing: project names or patterns (`torch nvidia-*`, compared normalized) that go to "
        "this upstream only. Empty: any project no other upstream's patterns claim. A project "
        "several upstreams' patterns match is asked of those in order.",
    ),
)
FIELDS = {setting.key.rsplit(".", 1)[1]: setting for setting in UPSTREAM_FIELDS}
# Longest first, so "page_ttl" is recognised before a shorter suffix could be.
_SUFFIXES = sorted(FIELDS, key=len, reverse=True)


def split_key(key: str) -> tuple[str, str]:
    """(name, field) of an ``upstream.*`` key, from an ini file or the environment.

    >>> split_key("upstream.torch.url"), split_key("upstream.my_index_page_ttl")
    (('torch', 'url'), ('my_index', 'page_ttl'))
    """
    rest = key.split(".", 1)[1] if "." in key else ""
    if "." in rest:
        name, field = rest.split(".", 1)
        return name, field
    for field in _SUFFIXES:
        if rest.endswith("_" + field):
            return rest[: -len(field) - 1], field
    return rest, ""


def upstream_settings(raw: Mapping[str, str], values: Mapping[str, Any]) -> tuple[UpstreamSettings, ...]:
    """The ordered upstreams the settings describe (``values``: the parsed ``pypi.*`` keys).

    :raises ConfigError: an unknown or unlisted ``upstream.*`` key, a listed name without a
        URL, a bad value or pattern, or ``pypi.upstreams`` together with ``pypi.fallback_url``.
    """
    order = tuple(name.lower() for name in values["pypi.upstreams"])
    given = _given(raw, order)
    if not order:
        if not values["pypi.fallback_url"]:
            return ()
        return (_legacy(values),)
    if values["pypi.fallback_url"]:
        raise ConfigError(
            "pypi.fallback_url and pypi.upstreams are both set: name every upstream in "
            "pypi.upstreams and give its URL as upstream.<name>.url"
        )
    for name in order:
        if not NAME.fullmatch(name):
            raise ConfigError(
                f"pypi.upstreams: {name!r} is not a valid upstream name (lower-case letters, "
                "digits, '-' and '_', at most 40)"
            )
    if len(set(order)) != len(order):
        raise ConfigError(f"pypi.upstreams names an upstream twice: {' '.join(order)}")
    return tuple(_one(name, given.get(name, {}), values) for name in order)


def _given(raw: Mapping[str, str], order: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """The ``upstream.*`` keys by name and field, each checked to be known and listed."""
    given: dict[str, dict[str, str]] = {}
    for key, text in raw.items():
        if not key.startswith("upstream."):
            continue
        name, field = split_key(key)
        if field not in FIELDS:
            known = [f"upstream.{name}.{known}" for known in FIELDS]
            hint = difflib.get_close_matches(key, known, n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
            raise ConfigError(f"unknown setting {key!r}{suggestion}")
        if name not in order:
            raise ConfigError(
                f"upstream.{name}.{field} is set but {name!r} is not listed in pypi.upstreams "
                f"(now: {' '.join(order) or 'empty'})"
            )
        given.setdefault(name, {})[field] = text
    return given


def _one(name: str, given: Mapping[str, str], values: Mapping[str, Any]) -> UpstreamSettings:
    parsed: dict[str, Any] = {}
    for field, setting in FIELDS.items():
        text = given.get(field, setting.default)
        key = f"upstream.{name}.{field}"
        try:
            parsed[field] = setting.parse(text)
        except ValueError as exc:
            shown = "(hidden)" if setting.secret else repr(text)
            raise ConfigError(f"{key} = {shown} is not valid: {exc}") from exc
    if not parsed["url"]:
        raise ConfigError(f"pypi.upstreams names {name!r} but upstream.{name}.url is not set")
    if parsed["token"] and (parsed["username"] or parsed["password"]):
        raise ConfigError(f"upstream.{name}: give either a token or a username and password, not both")
    return UpstreamSettings(
        name=name,
        url=parsed["url"],
        username=parsed["username"],
        password=parsed["password"],
        token=parsed["token"],
        timeout=values["pypi.fallback_timeout"] if parsed["timeout"] is None else parsed["timeout"],
        page_ttl=values["pypi.fallback_page_ttl"] if parsed["page_ttl"] is None else parsed["page_ttl"],
        projects=tuple(_pattern(name, text) for text in parsed["projects"]),
    )


def _pattern(name: str, text: str) -> str:
    """A routing pattern, normalized like a project name (``*`` and ``?`` kept).

    >>> _pattern("torch", "NVIDIA_*")
    'nvidia-*'
    """
    pattern = canonicalize_name(text)
    if not PATTERN.fullmatch(pattern):
        raise ConfigError(
            f"upstream.{name}.projects: {text!r} is not a project name or pattern (letters, "
            "digits, '-', '_', '.', and the wildcards '*' and '?')"
        )
    return pattern


def _legacy(values: Mapping[str, Any]) -> UpstreamSettings:
    """pypicloud's one upstream (``pypi.fallback_url`` ...) as a list of one."""
    return UpstreamSettings(
        name=DEFAULT_NAME,
        url=values["pypi.fallback_url"],
        username=values["pypi.fallback_username"],
        password=values["pypi.fallback_password"],
        timeout=values["pypi.fallback_timeout"],
        page_ttl=values["pypi.fallback_page_ttl"],
    )


__all__ = ["DEFAULT_NAME", "UPSTREAM_FIELDS", "split_key", "upstream_settings"]
