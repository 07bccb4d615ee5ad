"""Liveness (/health/live) never touches a backend; readiness (/health) checks each one."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from registry import create_app
from registry.errors import BackendUnavailable


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    return create_app({"storage.dir": str(tmp_path / "packages"), "db.path": str(tmp_path / "db.sqlite3")})


def _broken(*args: object, **kwargs: object) -> None:
    raise BackendUnavailable("database unreachable")


def test_both_answer_ok_when_backends_work(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/health/live").json == {"status": "ok"}
    ready = client.get("/health")
    assert ready.status_code == 200 and ready.json == {"status": "ok", "storage": "ok", "cache": "ok"}


def test_liveness_stays_up_when_a_backend_is_down(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    services = app.extensions["registry"].stores
    monkeypatch.setattr(services.cache, "check_health", _broken)
    monkeypatch.setattr(services.cache, "docs_serial", _broken)  # first-use start-up work too
    client = app.test_client()
    live = client.get("/health/live")
    assert live.status_code == 200 and live.headers["Cache-Control"] == "no-store"
    ready = client.get("/health")
    assert ready.status_code == 503 and "database unreachable" in ready.get_data(as_text=True)
    assert ready.headers["Cache-Control"] == "no-store"


def test_readiness_names_the_failing_backend(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app.extensions["registry"].stores.storage, "check_health", _broken)
    ready = app.test_client().get("/health")
    assert ready.status_code == 503
    assert ready.json == {"status": "error", "storage": "error: database unreachable", "cache": "ok"}
