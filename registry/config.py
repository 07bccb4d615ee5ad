"""One frozen configuration object, built once from an ini file and the environment.

Every setting the registry knows is declared once in ``SETTINGS`` with its default, parser and
help text; the configuration docs are generated from the same table
(``python -m registry config-docs``). A file's ``[app:main]`` section uses the keys pypicloud's
users know (``pypi.fallback``, ``storage.dir``, ``user.<name>`` ...). Any key can be overridden
by an environment variable: ``REGISTRY_`` + the key upper-cased, dots as underscores
(``pypi.default_read`` -> ``REGISTRY_PYPI_DEFAULT_READ``), which is how Cloud Run sets it.

Backend settings (``storage.*``, ``db.*``) are validated by the backend chosen, in its
``from_config``; everything else is validated here, and a bad value stops start-up with a
message naming the key, the value and what is allowed.
"""

from __future__ import annotations

import configparser
import difflib
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from .errors import ConfigError

CONFIG_ENV = "REGISTRY_CONFIG"
ENV_PREFIX = "REGISTRY_"
SECTION = "app:main"
# Sections whose keys may come from the environment; the first underscore after the section
# name becomes the dot (REGISTRY_USER_ALICE -> user.alice, REGISTRY_DB_URL -> db.url).
KNOWN_SECTIONS = ("pypi", "storage", "db", "auth", "user", "group", "package", "http", "log")
# Environment variables with the prefix that are not settings.
NOT_SETTINGS = {"REGISTRY_CONFIG", "REGISTRY_ADMIN_PASSWORD"}

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


@dataclass(frozen=True)
class Setting:
    """One configuration key: its default (as text, parsed like user input) and meaning."""

    key: str
    default: str
    parse: Parser
    help: str
    secret: bool = False  # never echo the value (it may hold a password)

    @property
    def env_var(self) -> str:
        return ENV_PREFIX + self.key.upper().replace(".", "_")

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(getattr(self.parse, "choices", ()))


SETTINGS: tuple[Setting, ...] = (
    Setting("pypi.storage", "file", parse_text, "Where package files live: `file` or `gcs`."),
    Setting(
        "pypi.db", "sqlite", parse_text, "Where metadata lives: `sqlite`, `sql`, `firestore` or `dynamo`."
    ),
    Setting(
        "pypi.auth",
        "db",
        choice("config", "db"),
        "Where users, groups and project permissions live: `config` (only the `user.*`, "
        "`group.*` and `package.*` lines) or `db` (those lines plus the database, managed with "
        "`python -m registry user|group|perm`). API tokens always live in the database.",
    ),
    Setting(
        "pypi.default_read",
        "everyone",
        principals(),
        "Who may read a project that has no `package.<project>.*` rule: `everyone`, "
        "`authenticated`, `admin` or group names.",
    ),
    Setting(
        "pypi.default_write",
        "authenticated",
        principals(),
        "Who may upload to a project that has no `package.<project>.*` rule (and so create "
        "new projects): `authenticated`, `admin`, `everyone` or group names. Admins always may.",
    ),
    Setting(
        "pypi.cache_update",
        "authenticated",
        principals(),
        "Who may make the registry fetch a package from upstream into its cache.",
    ),
    Setting(
        "pypi.allow_overwrite",
        "",
        principals(allow_empty=True),
        "Who may upload different bytes under an existing filename, replacing the file, in "
        "projects they may upload to (empty: nobody, not even admins; `admin` names them).",
    ),
    Setting(
        "pypi.allow_delete",
        "",
        principals(allow_empty=True),
        "Who besides admins may delete files (`DELETE /manage/projects/...`) of projects they "
        "may upload to (empty: only admins).",
    ),
    Setting(
        "pypi.fallback",
        "none",
        choice("none", "redirect", "cache"),
        "What to do for a project the registry does not have: `none` (404), `redirect` "
        "(302 to the upstream index) or `cache` (fetch from upstream and keep it).",
    ),
    Setting(
        "pypi.fallback_url",
        "",
        parse_url,
        "The upstream simple index URL, e.g. `https://USER:PASSWORD@index.example/simple/` "
        "(no default: with none, fallback is off). Credentials in it are sent to the upstream "
        "only, never logged or shown in redirects.",
        secret=True,
    ),
    Setting(
        "pypi.fallback_username",
        "",
        parse_text,
        "User name for a private upstream index (basic auth; wins over one in the URL).",
    ),
    Setting(
        "pypi.fallback_password",
        "",
        parse_text,
        "Password for a private upstream index (basic auth; wins over one in the URL).",
        secret=True,
    ),
    Setting(
        "pypi.fallback_timeout",
        "10",
        parse_float,
        "Seconds to wait for the upstream index before answering 504 (or serving a stale "
        "copy of the page); also the longest silence allowed while a file downloads.",
    ),
    Setting(
        "pypi.fallback_page_ttl",
        "300",
        parse_int,
        "Seconds an upstream project page is reused before it is fetched again. A copy "
        "older than that is still served while the upstream is down or slow.",
    ),
    Setting(
        "pypi.always_show_upstream",
        "false",
        parse_bool,
        "Also list upstream files for projects that exist locally.",
    ),
    Setting(
        "pypi.disallow_fallback",
        "",
        parse_list,
        "Project names never fetched from or redirected to upstream.",
    ),
    Setting(
        "pypi.max_file_size",
        "100MiB",
        parse_size,
        "The largest file accepted by upload, checked while streaming.",
    ),
    Setting(
        "pypi.max_large_file_size",
        "1GiB",
        parse_size,
        "The largest file accepted by a large-file upload (`python -m registry upload-large`: "
        "the bytes go straight to the bucket, then get the same checks as an upload). "
        "Needs `pypi.storage = gcs`.",
    ),
    Setting(
        "pypi.max_unpacked_size",
        "2GiB",
        parse_size,
        "The largest total size a wheel or sdist may declare when unpacked (zip bomb guard).",
    ),
    Setting(
        "pypi.public_url",
        "",
        parse_base_url,
        "The registry's public base URL, e.g. `https://pypi.example.com/`, for the absolute links "
        "of the JSON API and the home page (behind a CDN the request's host is the backend's). "
        "Empty: taken from each request.",
    ),
    Setting(
        "pypi.index_max_age",
        "60",
        parse_int,
        "Seconds a client (browser, pip) may reuse a public index page (`/simple/...`, JSON API) "
        "without asking again (`max-age`).",
    ),
    Setting(
        "pypi.index_cdn_max_age",
        "60",
        parse_int,
        "Seconds a CDN (Firebase Hosting) may serve a public index page without asking the "
        "registry (`s-maxage`). A new upload is visible through the CDN within this plus "
        "`pypi.index_stale_while_revalidate` seconds.",
    ),
    Setting(
        "pypi.index_stale_while_revalidate",
        "30",
        parse_int,
        "Seconds a CDN may keep serving an expired public index page while it fetches a fresh "
        "one in the background (`stale-while-revalidate`).",
    ),
    Setting("auth.admins", "", parse_list, "User names that are administrators."),
    Setting(
        "auth.credential_cache_seconds",
        "60",
        parse_int,
        "How long a successful password check is remembered in memory (pip sends basic "
        "auth with every request; verifying a hash costs ~10 ms by design).",
    ),
    Setting(
        "auth.refresh_seconds",
        "1",
        parse_float,
        "How often a process checks the database for changed users, groups, permissions and "
        "tokens (one small read); a revoked token stops working within this time. 0: every request.",
    ),
    Setting(
        "auth.max_failures_per_user",
        "10",
        parse_int,
        "Failed logins for one user name within `auth.failure_window_seconds` before further "
        "attempts get 429 (counted in memory, per process). 0 turns the limit off.",
    ),
    Setting(
        "auth.max_failures_per_address",
        "50",
        parse_int,
        "Failed logins from one client address within `auth.failure_window_seconds` before "
        "further attempts get 429 (per process). 0 turns the limit off.",
    ),
    Setting(
        "auth.trusted_proxy_hops",
        "0",
        parse_int,
        "How many proxies in front of the registry append to `X-Forwarded-For` (a CDN, a load "
        "balancer). The client address that failed logins are counted for is that many entries "
        "from the right; 0 uses the connection's address. Behind a proxy left at 0, every client "
        "shares one address: set this, or `auth.max_failures_per_address = 0`.",
    ),
    Setting(
        "auth.failure_window_seconds",
        "300",
        parse_int,
        "The window over which failed logins are counted, and the longest `Retry-After`.",
    ),
    Setting(
        "log.format",
        "text",
        choice("text", "json"),
        "`text` for people, `json` for Cloud Logging: one JSON object per line with "
        "`severity`, `message`, `httpRequest` and the trace from `X-Cloud-Trace-Context`.",
    ),
    Setting("log.level", "info", choice("debug", "info", "warning", "error"), "The lowest level logged."),
    Setting(
        "log.project",
        "",
        parse_text,
        "Google Cloud project id that JSON logs name in trace ids (empty: `$GOOGLE_CLOUD_PROJECT`).",
    ),
)

SETTINGS_BY_KEY: Mapping[str, Setting] = MappingProxyType({s.key: s for s in SETTINGS})
# Keys the registry core validates strictly; storage.* and db.* also belong to backends.
_STRICT_SECTIONS = ("pypi", "auth", "log")


@dataclass(frozen=True)
class Config:
    """The validated settings. ``config["pypi.fallback"]`` gives the parsed value.

    ``raw`` keeps every key as text (after environment overrides) for the dynamic keys that
    belong to backends and to access control: ``storage.*``, ``db.*``, ``user.<name>`` ...
    """

    values: Mapping[str, Any]
    raw: Mapping[str, str]
    here: Path = field(default_factory=Path.cwd)
    source: str | None = None

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def get_setting(self, setting: Setting) -> Any:
        """Parse a setting declared elsewhere (by a backend) from the raw keys or its default.

        :raises ConfigError: the value does not parse (the message names key and value).
        """
        if setting.key in self.values:
            return self.values[setting.key]
        text = self.raw.get(setting.key, setting.default)
        try:
            return setting.parse(text)
        except ValueError as exc:
            shown = "(hidden)" if setting.secret else repr(text)
            raise ConfigError(f"{setting.key} = {shown} is not valid: {exc}") from exc

    def section(self, prefix: str) -> dict[str, str]:
        """The raw keys under ``prefix.`` with the prefix removed (``storage`` -> {"dir": ..})."""
        start = prefix + "."
        return {key[len(start) :]: value for key, value in self.raw.items() if key.startswith(start)}

    @property
    def users(self) -> dict[str, str]:
        """``user.<name> = <passlib hash>`` lines: name -> hash."""
        return self.section("user")

    def path(self, value: str) -> Path:
        """Resolve a configured path relative to the config file's folder."""
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.here / path

    def replace(self, **overrides: str) -> Config:
        """A new Config with some raw keys changed (used by tests and the CLI)."""
        raw = dict(self.raw)
        raw.update(overrides)
        return build_config(raw, here=self.here, source=self.source)


def read_ini(path: str | os.PathLike[str]) -> dict[str, str]:
    """Read the ``[app:main]`` section; ``%(here)s`` is the file's folder, as in pypicloud."""
    file_path = Path(path)
    if not file_path.is_file():
        raise ConfigError(f"config file {str(file_path)!r} does not exist")
    parser = configparser.ConfigParser(
        defaults={"here": str(file_path.resolve().parent)}, interpolation=configparser.BasicInterpolation()
    )
    try:
        parser.read(file_path, encoding="utf-8")
    except configparser.Error as exc:
        raise ConfigError(f"config file {str(file_path)!r} cannot be parsed: {exc}") from exc
    if not parser.has_section(SECTION):
        raise ConfigError(f"config file {str(file_path)!r} has no [{SECTION}] section")
    section = parser[SECTION]
    try:
        return {key: section[key] for key in section if key != "here"}
    except (configparser.InterpolationError, KeyError) as exc:
        raise ConfigError(f"config file {str(file_path)!r}: {exc}") from exc


def env_overrides(environ: Mapping[str, str]) -> dict[str, str]:
    """Settings given as ``REGISTRY_<SECTION>_<KEY>`` environment variables."""
    found: dict[str, str] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name in NOT_SETTINGS:
            continue
        rest = name[len(ENV_PREFIX) :].lower()
        for section in KNOWN_SECTIONS:
            if rest.startswith(section + "_") and len(rest) > len(section) + 1:
                found[f"{section}.{rest[len(section) + 1 :]}"] = value
                break
    return found


def build_config(raw: Mapping[str, str], *, here: Path | None = None, source: str | None = None) -> Config:
    """Validate raw text settings into a Config, or raise ConfigError naming the bad key."""
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        text = raw.get(setting.key, setting.default)
        try:
            values[setting.key] = setting.parse(text)
        except ValueError as exc:
            origin = f" (from {setting.env_var})" if setting.env_var in os.environ else ""
            shown = "(hidden)" if setting.secret else repr(text)
            raise ConfigError(f"{setting.key} = {shown}{origin} is not valid: {exc}") from exc
    for key in raw:
        section = key.split(".", 1)[0]
        if section in _STRICT_SECTIONS and key not in SETTINGS_BY_KEY:
            hint = difflib.get_close_matches(key, SETTINGS_BY_KEY, n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
            raise ConfigError(f"unknown setting {key!r}{suggestion}")
    return Config(
        values=MappingProxyType(values),
        raw=MappingProxyType(dict(raw)),
        here=here or Path.cwd(),
        source=source,
    )


def load_config(
    path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, str] | None = None,
) -> Config:
    """Build the Config: file (``path`` or ``$REGISTRY_CONFIG``), then environment, then overrides."""
    environ = os.environ if environ is None else environ
    path = path or environ.get(CONFIG_ENV) or None
    raw: dict[str, str] = {}
    here = Path.cwd()
    if path:
        raw.update(read_ini(path))
        here = Path(path).resolve().parent
    raw.update(env_overrides(environ))
    raw.update(overrides or {})
    return build_config(raw, here=here, source=str(path) if path else None)


def settings_markdown(extra: Iterable[Setting] = ()) -> str:
    """The configuration docs page, generated from ``SETTINGS`` (and backend settings)."""
    lines = [
        "# Configuration",
        "",
        "Settings go in the `[app:main]` section of an ini file (`python -m registry serve FILE`, or",
        "`$REGISTRY_CONFIG`). Every key can also be set as an environment variable: `REGISTRY_` + the",
        "key upper-cased with dots as underscores. Dynamic keys follow the same rule: `user.alice` is",
        "`REGISTRY_USER_ALICE`. This page is generated by `make docs` from the settings declarations.",
        "",
        "| key | environment variable | default | meaning |",
        "| --- | --- | --- | --- |",
    ]
    for setting in (*SETTINGS, *extra):
        default = f"`{setting.default}`" if setting.default else "(empty)"
        lines.append(f"| `{setting.key}` | `{setting.env_var}` | {default} | {setting.help} |")
    return "\n".join(lines) + "\n"
