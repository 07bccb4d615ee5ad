"""What only the Firestore backend promises: the costs in docs/firestore.md, chunked projects,
namespaces, the serial cache, and its settings. The shared contract is in tests/contract/."""

from __future__ import annotations

import hashlib
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner

from registry.cache.firestore import FirestoreCache
from registry.cache.firestore_index import SHARDS
from registry.cli import cli
from registry.config import load_config
from registry.errors import ConfigError
from registry.models import FileRecord
from registry.usage import measure_usage
from tests.emulators import PROJECT, unique
from tests.server import ROOT


def record(version: str, project: str = "demo", info_bytes: int = 0) -> FileRecord:
    filename = f"{project}-{version}-py3-none-any.whl"
    info = {"name": project, "classifiers": ["Topic :: Software Development :: Libraries :: " + "x" * 40]}
    if info_bytes:
        info["requires_dist"] = [f"dependency-{n}>=1.0" for n in range(info_bytes // 24)]
    return FileRecord(
        project=project,
        version=version,
        filename=filename,
        packagetype="bdist_wheel",
        size=100,
        sha256=hashlib.sha256(filename.encode()).hexdigest(),
        info=info,
    )


@pytest.fixture
def firestore(firestore_emulator: object) -> FirestoreCache:
    return FirestoreCache(project=PROJECT, namespace=unique("t"))


def cost(cache: FirestoreCache, operation: object) -> tuple[int, int]:
    """(reads, writes) one call costs."""
    cache.reset_usage()
    operation()  # type: ignore[operator]
    return cache.reads, cache.writes


def test_costs_per_operation_match_the_documented_table(firestore: FirestoreCache) -> None:
    first, second = record("1.0"), record("2.0")
    assert cost(firestore, firestore.index_serial) == (1 + SHARDS, 0)  # once per process: the old index
    assert cost(firestore, lambda: firestore.add_file(first)) == (1, 3)
    firestore.add_file(second)
    assert cost(firestore, lambda: firestore.project_serial("demo")) == (1, 0)
    assert cost(firestore, firestore.index_serial) == (SHARDS, 0)
    assert cost(firestore, firestore.list_projects) == (SHARDS, 0)
    assert cost(firestore, lambda: firestore.list_files("demo")) == (1, 0)
    assert cost(firestore, lambda: firestore.get_file("demo", first.filename)) == (1, 0)
    assert cost(firestore, firestore.is_empty) == (1, 0)
    yanked = [first.with_changes(yanked=True), second.with_changes(yanked=True)]
    assert cost(firestore, lambda: firestore.update_files(yanked)) == (2, 4)
    assert cost(firestore, lambda: firestore.remove_file("demo", first.filename)) == (2, 3)
    assert cost(firestore, lambda: firestore.remove_file("demo", second.filename)) == (2, 3)
    assert firestore.usage == {"remove_file": [2, 3]}  # counted under the operation's name


def test_a_project_of_thousands_of_files_is_split_into_chunks(firestore: FirestoreCache) -> None:
    # ~2 KB records: 700 of them are 1.4 MB, more than one 1 MiB document could hold.
    records = [record(f"1.{n}", info_bytes=1800) for n in range(700)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(firestore.add_file, records))
    assert cost(firestore, lambda: firestore.list_files("demo"))[0] in (2, 3)
    assert sorted(r.filename for r in firestore.list_files("demo")) == sorted(r.filename for r in records)
    last = records[-1].with_changes(yanked=True, yanked_reason="x" * 900)
    firestore.update_files([last])
    assert firestore.get_file("demo", last.filename) == last
    firestore.remove_file("demo", records[0].filename)
    assert len(firestore.list_files("demo")) == 699


def test_small_chunks_keep_every_operation_correct(firestore_emulator: object) -> None:
    cache = FirestoreCache(project=PROJECT, namespace=unique("t"), chunk_bytes=2000)
    records = [record(f"1.{n}") for n in range(30)]
    for item in records:
        cache.add_file(item)
    assert cost(cache, lambda: cache.list_files("demo"))[0] > 5  # header + overflow chunks
    changed = [item.with_changes(yanked=True) for item in records[::7]]
    cache.update_files(changed)
    for item in records[1::3]:
        cache.remove_file("demo", item.filename)
    expected = {item.filename: item for item in records if item not in records[1::3]}
    expected.update({item.filename: item for item in changed if item.filename in expected})
    assert {r.filename: r for r in cache.list_files("demo")} == expected
    for item in records:
        if item.filename in expected:
            cache.remove_file("demo", item.filename)
    assert cache.is_empty()
    assert cache.list_projects() == []


def test_namespaces_keep_registries_apart(firestore_emulator: object) -> None:
    one = FirestoreCache(project=PROJECT, namespace=unique("a"))
    two = FirestoreCache(project=PROJECT, namespace=unique("b"))
    one.add_file(record("1.0"))
    assert two.is_empty()
    assert two.list_projects() == []
    assert two.get_file("demo", record("1.0").filename) is None


def test_the_serial_cache_saves_reads_and_sees_its_own_writes(firestore_emulator: object) -> None:
    namespace = unique("t")
    cache = FirestoreCache(project=PROJECT, namespace=namespace, serial_cache_seconds=60)
    other = FirestoreCache(project=PROJECT, namespace=namespace)
    cache.add_file(record("1.0"))
    serial = cache.project_serial("demo")
    assert cost(cache, lambda: cache.project_serial("demo")) == (0, 0)
    cache.add_file(record("2.0"))
    assert cache.project_serial("demo") != serial  # its own write is seen at once
    seen = cache.project_serial("demo")
    other.add_file(record("3.0"))
    assert cache.project_serial("demo") == seen  # another instance's write waits for the TTL
    assert other.project_serial("demo") != seen


def test_settings(firestore_emulator: object) -> None:
    config = load_config(
        environ={},
        overrides={"pypi.db": "firestore", "db.namespace": "team-a", "db.serial_cache_seconds": "2"},
    )
    cache = FirestoreCache.from_config(config)
    assert (cache.namespace, cache.serial_cache_seconds, cache.database) == ("team-a", 2.0, "(default)")
    with pytest.raises(ConfigError, match=r"db\.namespace"):
        FirestoreCache.from_config(config.replace(**{"db.namespace": "no/slashes"}))
    with pytest.raises(ConfigError, match=r"db\.serial_cache_seconds"):
        FirestoreCache.from_config(config.replace(**{"db.serial_cache_seconds": "soon"}))


def test_counters_are_safe_across_threads(firestore: FirestoreCache) -> None:
    firestore.add_file(record("1.0"))
    firestore.reset_usage()
    threads = [
        threading.Thread(target=lambda: [firestore.get_file("demo", "x") for _ in range(20)])
        for _ in range(5)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (firestore.reads, firestore.usage["get_file"]) == (100, [100, 0])


def test_usage_per_request_type(gcp_settings: dict[str, str]) -> None:
    results = measure_usage(load_config(environ={}, overrides=gcp_settings), existing_files=3)
    costs = {label: (usage.status, usage.reads, usage.writes) for label, usage in results.items()}
    # Logging in costs no read: the access data is a snapshot, re-read only when it changes.
    assert costs["upload a new file"] == (200, 2, 3)
    assert costs["GET /simple/ (unchanged)"] == (200, SHARDS, 0)
    assert costs["GET /simple/<project>/ (after a change)"] == (200, 2, 0)
    assert costs["GET /simple/<project>/ (unchanged)"] == (200, 1, 0)
    assert costs["download a file"] == (200, 1, 0)
    # The web UI's project page costs what the simple page costs (its README is a Storage read).
    assert costs["GET /project/<project>/ (after a change)"] == (200, 2, 0)
    assert costs["GET /project/<project>/ (unchanged)"] == (200, 1, 0)
    # The UI's catalog refresh: the saved catalog, the index serial (32 shards), the changed
    # project; the listing of the index is the one /simple/ read at this serial (core/projects.py).
    assert costs["GET / (after a change)"][1:] == (2 + SHARDS, 1)
    assert costs["GET / (unchanged)"] == (200, SHARDS, 0)
    assert costs["GET /search/?q=<name> (after a change)"] == (200, SHARDS, 0)
    assert costs["GET /search/?q=<name> (unchanged)"] == (200, SHARDS, 0)
    assert costs["yank a release"] == (200, 2, 3)
    assert costs["delete a file"] == (200, 3, 3)


def test_the_index_file_names_the_collections_in_use(firestore_emulator: object) -> None:
    from google.cloud import firestore as google_firestore

    project = unique("demo-")
    cache = FirestoreCache(project=project, chunk_bytes=2000)  # the default namespace
    for number in range(12):
        cache.add_file(record(f"1.{number}"))
    cache.put_doc("user", "alice", {"password_hash": "x", "admin": False})
    client = google_firestore.Client(project=project)
    groups = {collection.id for collection in client.collections()}
    groups |= {
        sub.id
        for doc in client.collection("registry_projects").stream()
        for sub in doc.reference.collections()
    }
    declared = json.loads((ROOT / "firestore.indexes.json").read_text())
    assert declared["indexes"] == []
    overridden = {override["collectionGroup"] for override in declared["fieldOverrides"]}
    assert overridden <= groups, overridden - groups
    assert groups == overridden


def test_backend_usage_command(gcp_settings: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "registry.ini"
    config.write_text("[app:main]\n" + "".join(f"{k} = {v}\n" for k, v in gcp_settings.items()))
    refused = CliRunner().invoke(cli, ["backend-usage", str(config)])
    assert refused.exit_code != 0 and "--allow-writes" in refused.output
    result = CliRunner().invoke(cli, ["backend-usage", str(config), "--allow-writes", "--files", "2"])
    assert result.exit_code == 0, result.output
    assert "| GET /simple/<project>/ (unchanged) | 200 | 1 | 0 |" in result.output
    # The throwaway project and user are gone again.
    cache = FirestoreCache.from_config(load_config(config, environ={}))
    assert cache.list_projects() == []
    assert list(cache.list_docs("user")) == ["admin"]  # made by the first start


def test_an_index_of_an_earlier_version_is_moved_into_the_shards(firestore_emulator: object) -> None:
    from google.cloud import firestore as google_firestore

    namespace = unique("t")
    cache = FirestoreCache(project=PROJECT, namespace=namespace)
    cache.add_file(record("1.0", project="kept"))
    legacy = google_firestore.Client(project=PROJECT).collection(f"{namespace}_meta").document("index")
    legacy.set({"projects": {"old-one": {"d": "Old.One"}, "old-two": {"d": "old-two"}}})
    fresh = FirestoreCache(project=PROJECT, namespace=namespace)  # a new process
    listed = {p.name: p.display_name for p in fresh.list_projects()}
    assert listed == {"kept": "kept", "old-one": "Old.One", "old-two": "old-two"}
    assert not legacy.get().exists
    assert {p.name for p in FirestoreCache(project=PROJECT, namespace=namespace).list_projects()} == set(
        listed
    )
