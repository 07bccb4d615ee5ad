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
import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..errors import ConfigError
from .parsers import (
    NAME_PATTERN,
    PSEUDO_GROUPS,
    Parser,
    choice,
    parse_base_url,
    parse_bool,
    parse_float,
    parse_int,
    parse_list,
    parse_size,
    parse_text,
    parse_url,
    principals,
)
from .table import ENV_PREFIX, SETTINGS, SETTINGS_BY_KEY, Setting
from .upstreams import UPSTREAM_FIELDS, upstream_settings
from .views import Settings

__all__ = [
    "CONFIG_ENV",
    "ENV_PREFIX",
    "NAME_PATTERN",
    "PSEUDO_GROUPS",
    "SETTINGS",
    "SETTINGS_BY_KEY",
    "Config",
    "Parser",
    "Setting",
    "Settings",
    "build_config",
    "choice",
    "env_overrides",
    "load_config",
    "parse_base_url",
    "parse_bool",
    "parse_float",
    "parse_int",
    "parse_list",
    "parse_size",
    "parse_text",
    "parse_url",
    "principals",
    "read_ini",
    "settings_markdown",
]

CONFIG_ENV = "REGISTRY_CONFIG"
SECTION = "app:main"
# Sections whose keys may come from the environment; the first underscore after the section
# name becomes the dot (REGISTRY_USER_ALICE -> user.alice, REGISTRY_DB_URL -> db.url).
KNOWN_SECTIONS = ("pypi", "storage", "db", "auth", "user", "group", "package", "http", "log", "upstream")
# Environment variables with the prefix that are not settings.
NOT_SETTINGS = {"REGISTRY_CONFIG", "REGISTRY_ADMIN_PASSWORD"}
# Keys the registry core validates strictly; storage.* and db.* also belong to backends.
_STRICT_SECTIONS = ("pypi", "auth", "log")


@dataclass(frozen=True)
class Config:
    """The validated settings: ``settings`` holds them typed, grouped by what reads them.

    ``values`` maps each core key to its parsed value; ``raw`` keeps every key as text (after
    environment overrides) for the dynamic keys that belong to backends and to access control:
    ``storage.*``, ``db.*``, ``user.<name>`` ...
    """

    values: Mapping[str, Any]
    raw: Mapping[str, str]
    settings: Settings
    here: Path = field(default_factory=Path.cwd)
    source: str | None = None

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

    def fingerprint(self) -> str:
        """A digest of the settings as given (every raw key, and the folder paths are relative
        to): processes with equal fingerprints run the same configuration."""
        text = "\n".join([str(self.here), *(f"{key}={value}" for key, value in sorted(self.raw.items()))])
        return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()

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
        settings=Settings.from_values(values, upstream_settings(raw, values)),
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
    rows: dict[str, tuple[Setting, list[str]]] = {}
    for setting in (*SETTINGS, *UPSTREAM_FIELDS, *extra):
        if setting.key not in rows:
            rows[setting.key] = (setting, [setting.help])
            continue
        # A key several backends read (storage.bucket, db.url) is one row with each meaning.
        first, meanings = rows[setting.key]
        if setting.default != first.default:
            meanings.append(f"{setting.help} (Default here: {_shown_default(setting)}.)")
        elif setting.help not in meanings:
            meanings.append(setting.help)
    for setting, meanings in rows.values():
        row = f"| `{setting.key}` | `{setting.env_var}` | {_shown_default(setting)} | {' '.join(meanings)} |"
        lines.append(row)
    return "\n".join(lines) + "\n"


def _shown_default(setting: Setting) -> str:
    return f"`{setting.default}`" if setting.default else "(empty)"
