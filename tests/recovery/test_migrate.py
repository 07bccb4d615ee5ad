"""Migrating a whole registry between configurations: local <-> GCS + Firestore, and resuming."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from registry.access import manage
from registry.cli import cli
from registry.core.migrate import migrate
from registry.errors import BackendUnavailable
from tests.backends import Backends as Services
from tests.distributions import Dist, sdist_bytes
from tests.recovery.conftest import Registry, backend_settings_for, build


def contents(services: Services) -> dict[str, Any]:
    """Everything a registry holds, comparable across backends."""
    keys = sorted(services.storage.list_keys())
    return {
        "files": {key: services.storage.read_bytes(key) for key in keys},
        "records": {
            r.key: r for p in services.cache.list_projects() for r in services.cache.list_files(p.name)
        },
        "projects": sorted((p.name, p.display_name) for p in services.cache.list_projects()),
        "access": {kind: services.cache.list_docs(kind) for kind in ("user", "group", "perm", "token")},
    }


def fill(registry: Registry) -> None:
    for dist in (Dist("Migrate.Demo", "1.0"), Dist("migrate-demo", "1.1"), Dist("second", "0.1")):
        assert registry.upload_wheel(dist).status_code == 200
        assert registry.upload(sdist_bytes(dist), dist.sdist_name, dist.name, dist.version).status_code == 200
    assert (
        registry.client.post(
            "/manage/projects/migrate-demo/releases/1.1/yank", json={"reason": "old"}, headers=admin_headers()
        ).status_code
        == 200
    )
    access = registry.services.access
    manage.add_user(access, "carol", "carol-password")
    manage.add_members(access, "team", ["carol"])


def admin_headers() -> dict[str, str]:
    from tests.server import ADMIN, basic_auth

    return {"Authorization": basic_auth(*ADMIN)}


@pytest.fixture
def pair(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Registry, Registry]:
    """A filled local registry and an empty one on GCS + Firestore."""
    local = build(backend_settings_for("local", tmp_path / "local", request))
    gcp = build(backend_settings_for("gcp", tmp_path / "gcp", request))
    fill(local)
    return local, gcp


def test_local_to_gcp_and_back(
    pair: tuple[Registry, Registry], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    local, gcp = pair
    report = migrate(local.services.stores, gcp.services.stores)
    assert report.files_copied == 9  # 3 wheels, their 3 metadata files, 3 sdists
    assert report.records_added == 6
    assert report.access_copied == 2  # the user carol and the group team
    assert contents(gcp.services) == contents(local.services)
    assert gcp.listed("migrate-demo") == local.listed("migrate-demo")
    # ...and back into a fresh local registry.
    back = build(backend_settings_for("local", tmp_path / "back", request))
    migrate(gcp.services.stores, back.services.stores)
    assert contents(back.services) == contents(local.services)


def test_migrate_is_idempotent(pair: tuple[Registry, Registry]) -> None:
    local, gcp = pair
    migrate(local.services.stores, gcp.services.stores)
    again = migrate(local.services.stores, gcp.services.stores)
    assert (again.files_copied, again.records_added, again.records_updated) == (0, 0, 0)
    assert (again.files_present, again.records_present, again.access_present) == (9, 6, 2)
    assert contents(gcp.services) == contents(local.services)


def test_an_interrupted_migration_resumes(
    pair: tuple[Registry, Registry], monkeypatch: pytest.MonkeyPatch
) -> None:
    local, gcp = pair
    real_put = gcp.services.storage.put
    puts: list[str] = []

    def failing_put(key: str, *args: Any) -> None:
        puts.append(key)
        if len(puts) == 5:
            raise BackendUnavailable("injected: the connection dropped")
        real_put(key, *args)

    monkeypatch.setattr(gcp.services.storage, "put", failing_put)
    with pytest.raises(BackendUnavailable):
        migrate(local.services.stores, gcp.services.stores)
    left = len(list(gcp.services.storage.list_keys()))
    assert 0 < left < 9  # one copy failed; the others that were under way finished whole
    assert gcp.services.cache.is_empty()  # no record was copied before its file
    resumed = migrate(local.services.stores, gcp.services.stores)
    assert (resumed.files_present, resumed.files_copied) == (left, 9 - left)
    assert contents(gcp.services) == contents(local.services)


def test_migrate_command(pair: tuple[Registry, Registry], tmp_path: Path) -> None:
    local, gcp = pair
    paths = []
    for name, registry in (("source", local), ("target", gcp)):
        path = tmp_path / f"{name}.ini"
        path.write_text("[app:main]\n" + "".join(f"{k} = {v}\n" for k, v in registry.settings.items()))
        paths.append(str(path))
    result = CliRunner().invoke(cli, ["migrate", *paths])
    assert result.exit_code == 0, result.output
    assert "files: 9 copied, 0 already there; records: 6 added" in result.output
    assert contents(gcp.services) == contents(local.services)
