"""Rebuilding the Cache from Storage, by command, as a function, and on first use of an empty Cache."""

from __future__ import annotations

import io
import json
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from registry.cli import cli
from registry.core.rebuild import rebuild
from tests.distributions import Dist, sdist_bytes, wheel_bytes
from tests.recovery.conftest import Registry, build


def fill(registry: Registry) -> list[Dist]:
    dists = [Dist("rebuild-demo", "1.0"), Dist("rebuild-demo", "2.0"), Dist("Other.Project", "0.1")]
    for dist in dists:
        assert registry.upload_wheel(dist).status_code == 200
        response = registry.upload(sdist_bytes(dist), dist.sdist_name, dist.name, dist.version)
        assert response.status_code == 200
    return dists


def test_rebuild_repairs_every_kind_of_drift(registry: Registry) -> None:
    fill(registry)
    services = registry.services
    cache, storage = services.cache, services.storage
    before = {r.key: r for p in cache.list_projects() for r in cache.list_files(p.name)}
    # Drift: two lost records, a yank only Storage knows, a record whose file is gone, a wheel
    # copied in by hand without its record, and objects that are not distributions at all.
    cache.remove_file("rebuild-demo", "rebuild_demo-1.0-py3-none-any.whl")
    cache.remove_file("other-project", "other_project-0.1.tar.gz")
    yanked = before["rebuild-demo/rebuild_demo-2.0.tar.gz"].with_changes(yanked=True, yanked_reason="bad")
    storage.set_meta(yanked.key, {"record": json.dumps(yanked.to_dict())})
    storage.delete("rebuild-demo/rebuild_demo-2.0-py3-none-any.whl")
    storage.delete("rebuild-demo/rebuild_demo-2.0-py3-none-any.whl.metadata")
    stray_wheel = Dist("rebuild-demo", "3.0")
    storage.put(f"rebuild-demo/{stray_wheel.wheel_name}", io.BytesIO(wheel_bytes(stray_wheel)), {})
    storage.put("rebuild-demo/notes.txt", io.BytesIO(b"not a distribution"), {})
    storage.put("rebuild-demo/broken-4.0-py3-none-any.whl", io.BytesIO(b"not a zip"), {})

    report = rebuild(services.stores)

    assert sorted(report.added) == [
        "other-project/other_project-0.1.tar.gz",
        "rebuild-demo/rebuild_demo-1.0-py3-none-any.whl",
        f"rebuild-demo/{stray_wheel.wheel_name}",
    ]
    assert report.updated == [yanked.key]
    assert report.removed == ["rebuild-demo/rebuild_demo-2.0-py3-none-any.whl"]
    assert report.indexed_from_bytes == [f"rebuild-demo/{stray_wheel.wheel_name}"]
    assert sorted(report.strays) == ["rebuild-demo/broken-4.0-py3-none-any.whl", "rebuild-demo/notes.txt"]
    assert report.unchanged == 2
    # The lost records come back exactly as they were; the hand-copied wheel is served too.
    assert (
        cache.get_file("rebuild-demo", "rebuild_demo-1.0-py3-none-any.whl")
        == before["rebuild-demo/rebuild_demo-1.0-py3-none-any.whl"]
    )
    assert cache.get_file("rebuild-demo", yanked.filename) == yanked
    assert registry.listed("rebuild-demo") == sorted(
        [
            "rebuild_demo-1.0-py3-none-any.whl",
            "rebuild_demo-1.0.tar.gz",
            "rebuild_demo-2.0.tar.gz",
            stray_wheel.wheel_name,
        ]
    )
    record = cache.get_file("rebuild-demo", stray_wheel.wheel_name)
    assert record is not None and record.metadata_sha256
    assert registry.client.get(record.url_path + ".metadata").status_code == 200
    # Nothing was deleted from Storage, and a second rebuild finds nothing to do.
    assert storage.exists("rebuild-demo/notes.txt")
    again = rebuild(services.stores)
    assert (again.added, again.updated, again.removed, again.indexed_from_bytes) == ([], [], [], [])
    assert again.unchanged == 6


def test_an_empty_cache_is_rebuilt_on_first_use(registry: Registry, tmp_path: Path) -> None:
    dists = fill(registry)
    fresh = dict(registry.settings)
    if fresh.get("pypi.db") == "firestore":
        fresh["db.namespace"] = fresh["db.namespace"] + "fresh"
    else:
        fresh["db.path"] = str(tmp_path / "fresh.sqlite3")
    second = build(fresh)
    assert second.services.cache.is_empty()
    assert second.listed("rebuild-demo") == sorted(
        name for dist in dists[:2] for name in (dist.wheel_name, dist.sdist_name)
    )
    assert not second.services.cache.is_empty()
    second.services.cache.close()


def test_rebuild_command(registry: Registry, tmp_path: Path) -> None:
    fill(registry)
    registry.services.cache.remove_file("rebuild-demo", "rebuild_demo-1.0.tar.gz")
    registry.services.storage.put("stray.txt", io.BytesIO(b"?"), {})
    config = tmp_path / "registry.ini"
    config.write_text("[app:main]\n" + "".join(f"{k} = {v}\n" for k, v in registry.settings.items()))
    result = CliRunner().invoke(cli, ["rebuild", str(config)], env={})
    assert result.exit_code == 0, result.output
    assert "stray: stray.txt:" in result.output
    assert "1 added, 0 updated, 0 removed, 5 unchanged" in result.output
    assert "rebuild_demo-1.0.tar.gz" in registry.listed("rebuild-demo")


def test_rebuild_of_an_empty_registry_does_nothing(registry: Registry) -> None:
    report = rebuild(registry.services.stores)
    assert report.summary().startswith("0 added, 0 updated, 0 removed, 0 unchanged")
    assert registry.services.cache.is_empty()


def test_rebuild_on_a_live_registry_never_hides_a_file(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(registry)
    registry.services.cache.remove_file("rebuild-demo", "rebuild_demo-1.0.tar.gz")
    served = set(registry.listed("rebuild-demo"))
    real_get_meta = registry.services.storage.get_meta

    overlapped = threading.Event()

    def slow_get_meta(key: str) -> dict[str, str]:  # a slow bucket: the rebuild overlaps the reads
        overlapped.wait(timeout=30)  # held until the page was checked a few times mid-rebuild
        time.sleep(0.01)
        return real_get_meta(key)

    monkeypatch.setattr(registry.services.storage, "get_meta", slow_get_meta)
    done = threading.Event()
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(rebuild(registry.services.stores))
        except Exception as exc:  # noqa: BLE001 - reported below
            outcome.append(exc)
        finally:
            done.set()

    worker = threading.Thread(target=run)
    worker.start()
    new = Dist("rebuild-demo", "5.0")
    assert registry.upload_wheel(new).status_code == 200  # uploads go on during the rebuild
    served.add(new.wheel_name)
    checks = 0
    while not done.is_set():
        assert served <= set(registry.listed("rebuild-demo"))
        checks += 1
        if checks >= 3:
            overlapped.set()
    worker.join()
    assert checks >= 3
    assert not isinstance(outcome[0], Exception), outcome
    assert set(registry.listed("rebuild-demo")) == served | {"rebuild_demo-1.0.tar.gz"}
