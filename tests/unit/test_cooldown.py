"""The release cooldown's rule, with a clock the test moves (the HTTP side: e2e/test_cooldown.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from packaging.utils import NormalizedName
from packaging.version import Version

from registry.config import load_config
from registry.config.parsers import parse_duration
from registry.core.app import Registry, build
from registry.core.cooldown import Cooldown, describe_duration
from registry.core.manage import COMMAND_LINE
from registry.errors import HeldBack

START = datetime(2030, 1, 1, tzinfo=UTC)
P = NormalizedName("demo")


def registry(tmp_path: Path, **settings: str) -> Registry:
    base = {"db.path": str(tmp_path / "db.sqlite3"), "storage.dir": str(tmp_path / "files")}
    return build(load_config(environ={}, overrides={**base, **settings}))


def test_durations_parse_and_print() -> None:
    assert parse_duration("7d") == 7 * 86400 and parse_duration("1d12h") == 129600
    assert parse_duration(" 90 ") == 90 and parse_duration("0") == 0
    for bad in ("", "7 days", "d", "1x", "-1d"):
        with pytest.raises(ValueError, match="duration"):
            parse_duration(bad)
    assert describe_duration(129600) == "1d12h" and describe_duration(0) == "0s"


def test_files_pass_when_old_enough_and_unknown_times_follow_the_setting(tmp_path: Path) -> None:
    now = [START]
    built = registry(tmp_path, **{"pypi.fallback_min_age": "1h", "pypi.fallback_min_age_unknown": "allow"})
    cooldown = Cooldown(
        built.cooldown.settings, built.stores.documents, built.access.permissions, clock=lambda: now[0]
    )
    uploaded = START - timedelta(minutes=30)
    held = cooldown.hold(P, "demo-1.0.tar.gz", Version("1.0"), uploaded)
    assert held is not None and held.available == START + timedelta(minutes=30)
    with pytest.raises(HeldBack, match="2030-01-01T00:30:00"):
        cooldown.check(P, "demo-1.0.tar.gz", Version("1.0"), uploaded)
    assert cooldown.hold(P, "demo-1.0.tar.gz", Version("1.0"), None) is None  # allow
    now[0] = START + timedelta(minutes=30)
    assert cooldown.hold(P, "demo-1.0.tar.gz", Version("1.0"), uploaded) is None


def test_a_page_version_moves_when_a_file_becomes_available_or_is_released(tmp_path: Path) -> None:
    now = [START]
    built = registry(tmp_path, **{"pypi.fallback_min_age": "1h", "auth.refresh_seconds": "0"})
    cooldown = Cooldown(
        built.cooldown.settings, built.stores.documents, built.access.permissions, clock=lambda: now[0]
    )
    uploads = [START - timedelta(minutes=50), START - timedelta(minutes=10), None]
    first = cooldown.page_state(P, 1, lambda: uploads)
    assert cooldown.page_state(P, 1, lambda: []) == first  # computed once per upstream page
    now[0] = START + timedelta(minutes=15)
    second = cooldown.page_state(P, 1, lambda: uploads)
    assert second != first
    cooldown.release(COMMAND_LINE, P, "1.0")
    assert cooldown.page_state(P, 1, lambda: uploads) != second
    assert cooldown.hold(P, "demo-1.0-py3-none-any.whl", Version("1.0.0"), None) is None  # PEP 440 equal
    assert cooldown.hold(P, "demo-1.1-py3-none-any.whl", Version("1.1"), None) is not None
    assert [r.version for r in cooldown.releases(COMMAND_LINE, P)] == ["1.0"]
