"""Retention end to end: files cached through a live registry (their use written down without a
write per download), then ``python -m registry prune``, as a dry run and for real."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from registry.core.lastuse import USAGE_KIND
from registry.errors import NotFound
from tests.conftest import upload_dist
from tests.distributions import Dist
from tests.server import ROOT, RegistryServer
from tests.static_index import StaticIndex

pytestmark = pytest.mark.e2e

OLD = datetime.now(UTC) - timedelta(days=400)
CACHED = [Dist("prune-a", "1.0"), Dist("prune-a", "2.0"), Dist("prune-a", "3.0"), Dist("prune-b", "1.0")]
UPLOADED = [Dist("prune-c", "1.0"), Dist("prune-c", "1.1.dev1"), Dist("prune-c", "1.2rc1")]


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[StaticIndex]:
    index = StaticIndex(tmp_path / "static-upstream")
    yield index
    index.stop()


def download(server: RegistryServer, dist: Dist, sha256: str) -> None:
    url = f"{server.url}packages/{dist.name}/{sha256[:16]}/{dist.wheel_name}"
    answer = requests.get(url, timeout=30)
    assert answer.status_code == 200, answer.text


def prune(server: RegistryServer, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "registry", "prune", *args]
    return subprocess.run(
        command, cwd=ROOT, env=server.environment(), capture_output=True, text=True, timeout=120, check=False
    )


def written_down(server: RegistryServer, project: str, count: int) -> dict[str, object]:
    """The usage document of ``project`` once it names ``count`` files (flushed in the background)."""
    documents = server.services().registry.stores.documents
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = documents.get_doc(USAGE_KIND, project) or {}
        if len(found) >= count:
            return found
        time.sleep(0.1)
    raise AssertionError(f"the use of {project}'s files was not written down: {found}")


def test_prune_dry_run_then_real_run(
    upstream: StaticIndex, make_server: Callable[..., RegistryServer]
) -> None:
    digests = {dist.wheel_name: upstream.add(dist, OLD)[dist.wheel_name] for dist in CACHED}
    registry = make_server(
        **{
            "pypi.fallback": "cache",
            "pypi.fallback_url": upstream.url,
            "pypi.cache_update": "everyone",
            "pypi.usage_flush_seconds": "0",
        }
    )
    for dist in CACHED:
        download(registry, dist, digests[dist.wheel_name])
    today = datetime.now(UTC).date().isoformat()
    assert set(written_down(registry, "prune-a", 3).values()) == {today}
    written_down(registry, "prune-b", 1)
    documents = registry.services().registry.stores.documents
    serial = documents.docs_serial()
    for _ in range(5):  # more downloads the same day: no write at all
        download(registry, CACHED[2], digests[CACHED[2].wheel_name])
    time.sleep(0.5)
    assert documents.docs_serial() == serial
    for dist in UPLOADED:
        upload_dist(registry, dist)
    documents.put_doc(USAGE_KIND, "prune-b", {CACHED[3].wheel_name: "2020-01-01"})  # used long ago

    rules = ["--unused-days", "30", "--keep-versions", "2", "--prereleases-older-than", "0"]
    dry = prune(registry, *rules)
    assert dry.returncode == 0, dry.stderr
    doomed = {line.split("\t")[1]: line.split("\t")[3] for line in dry.stdout.splitlines() if "\t" in line}
    early = {name for dist in UPLOADED[1:] for name in (dist.wheel_name, dist.sdist_name)}
    assert doomed.keys() == {CACHED[0].wheel_name, CACHED[3].wheel_name} | early
    assert doomed[CACHED[3].wheel_name] == "not used for 30 days (last 2020-01-01)"
    assert doomed[CACHED[0].wheel_name] == "older than the newest 2 versions"
    cache = registry.services().cache
    sizes = {r.filename: r.size for p in ("prune-a", "prune-b", "prune-c") for r in cache.list_files(p)}
    freed = sum(sizes[name] for name in doomed)
    assert f"Dry run: 6 files, {freed} bytes" in dry.stdout
    assert len(sizes) == 4 + 6  # nothing was deleted

    budget = prune(registry, "--max-size", str(sizes[CACHED[1].wheel_name] + sizes[CACHED[2].wheel_name]))
    listed = [line.split("\t")[1] for line in budget.stdout.splitlines() if "\t" in line]
    assert listed == [CACHED[3].wheel_name, CACHED[0].wheel_name]  # least recently used first

    done = prune(registry, *rules, "--apply")
    assert done.returncode == 0, done.stderr
    assert f"Deleted 6 of 6 files, {freed} bytes" in done.stdout
    left = {r.filename for p in ("prune-a", "prune-b", "prune-c") for r in cache.list_files(p)}
    assert left == {
        CACHED[1].wheel_name,
        CACHED[2].wheel_name,
        UPLOADED[0].wheel_name,
        UPLOADED[0].sdist_name,
    }
    storage = registry.services().storage
    with pytest.raises(NotFound):
        storage.open(f"prune-b/{CACHED[3].wheel_name}")
    assert documents.get_doc(USAGE_KIND, "prune-b") is None
    download(registry, CACHED[0], digests[CACHED[0].wheel_name])  # fetched again on demand
