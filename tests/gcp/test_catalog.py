"""The project catalog on Firestore: what a refresh costs, shared between processes, and
its documents staying under the size limit."""

from __future__ import annotations

import hashlib

import pytest

from registry.cache.firestore import FirestoreCache
from registry.cache.firestore_index import SHARDS
from registry.core.catalog import Catalog
from registry.core.projects import ProjectList
from registry.models import FileRecord
from tests.emulators import PROJECT, unique


def record(project: str, version: str, summary: str = "Does things") -> FileRecord:
    filename = f"{project}-{version}-py3-none-any.whl"
    return FileRecord(
        project=project,  # type: ignore[arg-type]
        version=version,
        filename=filename,
        packagetype="bdist_wheel",
        size=1000,
        sha256=hashlib.sha256(filename.encode()).hexdigest(),
        info={"name": project, "summary": summary},
    )


@pytest.fixture
def firestore(firestore_emulator: object) -> FirestoreCache:
    return FirestoreCache(project=PROJECT, namespace=unique("cat"))


def refresh(catalog: Catalog, cache: FirestoreCache) -> tuple[int, int, dict[str, list[int]]]:
    """(reads, writes, per operation) of bringing ``catalog`` up to the current index serial."""
    cache.reset_usage()
    catalog.entries(cache.index_serial())
    usage = cache.reset_usage()
    usage.pop("index_serial")
    usage.pop("adopt_legacy", None)  # once per process: an index of the earlier layout is moved
    return sum(r for r, _ in usage.values()), sum(w for _, w in usage.values()), usage


def test_a_change_costs_one_listing_of_the_changed_project(firestore: FirestoreCache) -> None:
    for number in range(5):
        firestore.add_file(record(f"project-{number}", "1.0"))
    first = Catalog(firestore, firestore)
    reads, writes, usage = refresh(first, firestore)
    assert (reads, writes) == (1 + SHARDS + 5, 1)  # catalog + index shards, each project once; saved
    firestore.add_file(record("project-3", "2.0", summary="Newer"))
    reads, writes, usage = refresh(first, firestore)
    assert usage.get("list_files") == [1, 0] and (reads, writes) == (SHARDS + 2, 1), usage
    assert first.entries(firestore.index_serial())["project-3"].version == "2.0"
    assert refresh(first, firestore)[:2] == (0, 0)  # same serial: nothing read at all


def test_another_process_starts_from_the_saved_catalog(firestore: FirestoreCache) -> None:
    for number in range(4):
        firestore.add_file(record(f"shared-{number}", "1.0"))
    refresh(Catalog(firestore, firestore), firestore)
    reads, writes, usage = refresh(Catalog(firestore, firestore), firestore)
    assert "list_files" not in usage and (reads, writes) == (1 + SHARDS, 0)


def test_the_index_page_and_the_catalog_share_one_listing(firestore: FirestoreCache) -> None:
    """The UI home page after a change lists the projects once (the index shards), not once
    for the visible projects and again for the catalog."""
    for number in range(3):
        firestore.add_file(record(f"listed-{number}", "1.0"))
    projects = ProjectList(firestore)
    serial = firestore.index_serial()
    firestore.reset_usage()
    assert len(projects.at(serial)) == 3  # what Reads.index loads
    Catalog(firestore, firestore, projects).entries(serial)
    usage = firestore.reset_usage()
    assert usage["list_projects"] == [SHARDS, 0], usage
    firestore.add_file(record("listed-9", "1.0"))
    assert len(projects.at(firestore.index_serial())) == 4  # a new serial: read again


def test_a_large_catalog_is_split_under_the_document_limit(firestore: FirestoreCache) -> None:
    blob = bytes(range(256)) * 9000  # 2.3 MB, incompressible enough: three parts
    firestore.save_catalog(blob)
    assert firestore.load_catalog() == blob
    firestore.save_catalog(b"small")
    assert firestore.load_catalog() == b"small"
