"""Measure what a Cloud Run cold start costs: app import, first requests, gunicorn start to ready.

    python scripts/startup_time.py [--runs 5] [--json]

Backends come from the environment like everywhere else: with nothing set, the local ones
(in a temporary folder); with ``REGISTRY_PYPI_STORAGE=gcs``, ``REGISTRY_PYPI_DB=firestore``
and their settings (or the emulators' ``STORAGE_EMULATOR_HOST``/``FIRESTORE_EMULATOR_HOST``),
the Google Cloud ones. Each run is a fresh interpreter, so nothing is warm but the OS file cache.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Runs in a fresh interpreter: import the app, then time the first and second requests.
_PROBE = """
import json, sys, time
started = time.perf_counter()
import main
imported = time.perf_counter()
client = main.app.test_client()
times = {"import_s": imported - started}
for name, path in (("first_request_s", "/simple/"), ("second_request_s", "/simple/"),
                   ("first_health_s", "/health")):
    t = time.perf_counter()
    status = client.get(path).status_code
    times[name] = time.perf_counter() - t
    if status != 200:
        sys.exit(f"{path} answered {status}")
print(json.dumps(times))
"""


def _env(data_dir: str) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("REGISTRY_STORAGE_DIR", os.path.join(data_dir, "packages"))
    env.setdefault("REGISTRY_DB_PATH", os.path.join(data_dir, "registry.sqlite3"))
    env.setdefault("REGISTRY_ADMIN_PASSWORD", "startup-time")
    env.setdefault("PYTHONDONTWRITEBYTECODE", "")
    return env


def in_process(env: dict[str, str]) -> dict[str, float]:
    """Import time and first-request times in one fresh interpreter."""
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def gunicorn_ready(env: dict[str, str], limit: float = 60.0) -> dict[str, float]:
    """Seconds from starting gunicorn to the first 200 from /health, then one /simple/."""
    port = _free_port()
    env = {**env, "PORT": str(port), "HOST": "127.0.0.1"}
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "main:app"]
    started = time.perf_counter()
    quiet = subprocess.DEVNULL
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=quiet, stderr=quiet)
    try:
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {server.returncode}")
            if time.perf_counter() - started > limit:
                raise RuntimeError(f"gunicorn not ready after {limit} s")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.01)
        ready = time.perf_counter() - started
        t = time.perf_counter()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/simple/", timeout=5) as answer:
            answer.read()
        return {"gunicorn_ready_s": ready, "gunicorn_first_simple_s": time.perf_counter() - t}
    finally:
        server.terminate()
        server.wait(timeout=15)


def measure(runs: int) -> dict[str, float]:
    """Medians over ``runs`` fresh starts, each with an empty data folder."""
    samples: dict[str, list[float]] = {}
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as data_dir:
            env = _env(data_dir)
            for key, value in {**in_process(env), **gunicorn_ready(env)}.items():
                samples.setdefault(key, []).append(value)
    return {key: statistics.median(values) for key, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="Print one JSON object.")
    args = parser.parse_args()
    figures = measure(args.runs)
    if args.json:
        print(json.dumps(figures))
        return
    for key, value in figures.items():
        print(f"{key:26} {value * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
