"""Start-up cost: building the app connects to nothing, and a cold start stays quick."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .servers import ROOT, child_env


def test_import_touches_no_backend(tmp_path: Path) -> None:
    """``import main`` creates neither the storage folder nor the database file."""
    env = child_env(
        REGISTRY_STORAGE_DIR=str(tmp_path / "packages"), REGISTRY_DB_PATH=str(tmp_path / "db.sqlite3")
    )
    subprocess.run([sys.executable, "-c", "import main"], cwd=ROOT, env=env, check=True, timeout=60)
    assert list(tmp_path.iterdir()) == []


def test_startup_time_script_measures_a_cold_start() -> None:
    out = subprocess.run(
        [sys.executable, "scripts/startup_time.py", "--runs", "1", "--json"],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    figures = json.loads(out.stdout)
    print(f"\nstartup (local backends, 1 run): {figures}")
    assert set(figures) == {
        "import_s",
        "first_request_s",
        "second_request_s",
        "first_health_s",
        "gunicorn_ready_s",
        "gunicorn_first_simple_s",
    }
    # Generous bounds: they catch a backend call or a heavy import at start-up, not noise.
    assert figures["import_s"] < 5 and figures["gunicorn_ready_s"] < 15
