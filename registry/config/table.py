"""Every setting the registry core knows, declared once: default, parser and help text.

The configuration docs are generated from this table (``python -m registry config-docs``);
backends declare their own ``storage.*``/``db.*`` settings on their classes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from .parsers import (
    Parser,
    backend_choice,
    choice,
    parse_base_url,
    parse_bool,
    parse_duration,
    parse_float,
    parse_int,
    parse_list,
    parse_size,
    parse_text,
    parse_url,
    principals,
)

ENV_PREFIX = "REGISTRY_"


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
    Setting(
        "pypi.storage",
        "file",
        parse_text,
        "Where package files live: `file`, `gcs`, `s3` or `azure-blob`, or a class of your own as "
        "`package.module:Class` (docs/extending.md).",
    ),
    Setting(
        "pypi.db",
        "sqlite",
        parse_text,
        "Where metadata lives: `sqlite`, `sql`, `firestore` or `dynamo`, or a class of your own as "
        "`package.module:Class`.",
    ),
    Setting(
        "pypi.auth",
        "db",
        backend_choice("config", "db"),
        "Where users, groups and project permissions live: `config` (only the `user.*`, "
        "`group.*` and `package.*` lines) or `db` (those lines plus the database, managed with "
        "`python -m registry user|group|perm`), or a class of your own as "
        "`package.module:Class`. API tokens always live in the database.",
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
        "Seconds after which a kept upstream project page is refreshed. Pages are kept in the "
        "Storage (shared by every worker and instance, kept across restarts): an older page is "
        "still answered at once while a background refresh asks the upstream with a conditional "
        "request (ETag / Last-Modified), unless `pypi.fallback_wait_for_refresh` is on.",
    ),
    Setting(
        "pypi.fallback_wait_for_refresh",
        "false",
        parse_bool,
        "Make a client asking for a page older than `pypi.fallback_page_ttl` wait for the "
        "upstream's answer (up to `pypi.fallback_timeout`; the kept page is still served if the "
        "upstream fails) instead of answering at once from the kept page.",
    ),
    Setting(
        "pypi.fallback_retry_after",
        "30",
        parse_float,
        "Seconds the upstream is left alone after it timed out, could not be reached or answered "
        "5xx (a circuit breaker shared by the workers): meanwhile kept pages are served at once "
        "and other requests fail at once with 502/504. 0 turns the breaker off.",
    ),
    Setting(
        "pypi.fallback_memory",
        "64MiB",
        parse_size,
        "Memory each worker may use for upstream pages: parsed pages, and rendered pages (each "
        "bounded by this); the least recently used go first. `/health` shows the use to admins.",
    ),
    Setting(
        "pypi.shared_pages",
        "256MiB",
        parse_size,
        "Disk space on this host for big rendered project pages (64 KiB and more, such as an "
        "upstream project with thousands of files), shared by its workers and kept across "
        "restarts in `$TMPDIR/registry-pages`; the least recently used go first. `0` turns it "
        "off (Cloud Run: one worker per instance, and `/tmp` is memory there).",
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
        "pypi.upstreams",
        "",
        parse_list,
        "Several upstream indexes, by name, in the order they are asked (`pypi torch partner`); "
        "each is set with the `upstream.<name>.*` keys. A project is served by the first "
        "upstream its routing allows that has it, never merged across upstreams. Empty: the one "
        "upstream of `pypi.fallback_url` (named `default`); setting both is an error.",
    ),
    Setting(
        "pypi.upstream_probe_seconds",
        "60",
        parse_int,
        "How old each upstream's reachability shown on `/health` may be (what its last request "
        "saw, or a probe): an older one is checked again in the background, never before the "
        "process has run this long (a request never waits for it).",
    ),
    Setting(
        "pypi.fallback_min_age",
        "0",
        parse_duration,
        "Release cooldown: upstream files uploaded more recently than this (`7d`, `12h`, `1d12h`) "
        "are left off project pages and refused at their URL (403, saying when they become "
        "available); files already cached stay available. `0` turns it off. Needs "
        "`pypi.fallback = cache`.",
    ),
    Setting(
        "pypi.fallback_min_age_unknown",
        "refuse",
        choice("refuse", "allow"),
        "Release cooldown: what to do with upstream files whose page gives no upload time "
        "(PEP 503 HTML pages never do): `refuse` (held back until an admin releases them) or `allow`.",
    ),
    Setting(
        "pypi.fallback_min_age_exempt",
        "",
        parse_list,
        "Release cooldown: project names it does not apply to.",
    ),
    Setting(
        "pypi.usage_flush_seconds",
        "600",
        parse_int,
        "How often a process writes down which cached upstream files it served (for `python -m "
        "registry prune --unused-days`): at most one write per project per interval, never one "
        "per download. Files are remembered by day.",
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
