"""Measure what logging in costs: requests/s of ``/simple/<project>/``, anonymous vs authenticated.

pip sends basic auth with every request and a password hash costs ~10 ms to verify by design,
so an authenticated request must not pay it each time (the registry remembers a successful
check). Target: authenticated within 20% of anonymous.

Starts the registry with gunicorn on loopback (``main:app``, 2 workers x 8 threads, as
``python -m registry serve`` runs it), one wheel uploaded, then loads it with ``wrk`` (pinned
to the other core with ``taskset`` when there are two) or, without wrk, a bounded Python loop.
Modes: ``open`` (everyone reads: anonymous, password, token) and ``org`` (reads need a login:
password, token). Callers are measured in interleaved rounds and the median is shown, because
a shared machine drifts; the workers' CPU time per request (from /proc) is shown too, being
steadier than throughput when other jobs share the cores. Run from the repository root::

    .venv/bin/python bench/auth_overhead.py [--duration 10] [--rounds 3] [--json FILE]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from registry.access import manage  # noqa: E402
from registry.access.tokens import create_token  # noqa: E402
from registry.config import load_config  # noqa: E402
from registry.core.app import build  # noqa: E402
from tests.processes import stop_group  # noqa: E402

USER = ("bench-user", "bench-password-1")
PROJECT = "bench-project"
MODES = {"open": {"pypi.default_read": "everyone"}, "org": {"pypi.default_read": "authenticated"}}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wheel() -> tuple[str, bytes]:
    """A minimal valid wheel."""
    name = f"{PROJECT.replace('-', '_')}-1.0-py3-none-any.whl"
    info = f"{PROJECT.replace('-', '_')}-1.0.dist-info"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {PROJECT}\nVersion: 1.0\n")
        archive.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        archive.writestr(f"{info}/RECORD", "")
    return name, buffer.getvalue()


class Server:
    """The registry under gunicorn, with one user, one token and one project."""

    def __init__(self, work: Path, settings: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.settings = {
            "db.path": str(work / "registry.sqlite3"),
            "storage.dir": str(work / "packages"),
            **settings,
        }
        registry = build(load_config(environ={}, overrides=self.settings))
        manage.add_user(registry.access.store, USER[0], USER[1], admin=True)
        _, self.token = create_token(registry.access.store, USER[0], permissions=("read", "upload"))
        registry.stores.close()
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        env.update({"REGISTRY_" + k.upper().replace(".", "_"): v for k, v in self.settings.items()})
        pin = ["taskset", "-c", "0"] if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else []
        command = [*pin, str(Path(sys.executable).parent / "gunicorn"), "--bind", f"127.0.0.1:{self.port}",
                   "--workers", "2", "--worker-class", "gthread", "--threads", "8",
                   "--access-logfile", "/dev/null", "main:app"]  # fmt: skip
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
        try:
            self._wait_and_upload()
        except BaseException:
            self.stop()
            raise

    def _wait_and_upload(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(self.url + "health", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("the registry did not start")
            time.sleep(0.1)
        name, content = wheel()
        form = {":action": "file_upload", "name": PROJECT, "version": "1.0",
                "sha256_digest": hashlib.sha256(content).hexdigest()}  # fmt: skip
        answer = requests.post(self.url, data=form, files={"content": (name, content)}, auth=USER, timeout=60)
        answer.raise_for_status()

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the workers have used so far: steadier than wall-clock
        throughput when other jobs share the machine. 0 where /proc is missing."""
        ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:  # a worker: its parent is the master
                total += int(fields[11]) + int(fields[12])
        return total / ticks

    def stop(self) -> None:
        stop_group(self.process)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def with_wrk(url: str, header: str | None, duration: float) -> float:
    pin = ["taskset", "-c", "1"] if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else []
    command = [*pin, "wrk", "-t", "1", "-c", "8", "-d", f"{duration:g}s", url]
    if header:
        command[-1:-1] = ["-H", f"Authorization: {header}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=duration + 30).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"non-2xx answers during the run:\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not match:
        raise RuntimeError(f"cannot read wrk's output:\n{out}")
    return float(match.group(1))


def with_python(url: str, header: str | None, duration: float) -> float:
    """A bounded closed loop: 8 threads, each with a keep-alive session, for ``duration`` s."""
    counts = [0] * 8
    deadline = time.monotonic() + duration

    def worker(index: int) -> None:
        session = requests.Session()
        headers = {"Authorization": header} if header else {}
        while time.monotonic() < deadline:
            if session.get(url, headers=headers, timeout=10).status_code != 200:
                raise RuntimeError("non-200 answer")
            counts[index] += 1

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / duration


def in_process(work: Path, rounds: int) -> tuple[dict[str, float], dict[str, float]]:
    """What the app itself spends, without network or gunicorn (steadier on a busy machine):
    microseconds per ``/simple/<project>/`` through Flask's test client (median of interleaved
    rounds), and per ``Authenticator.authenticate`` call."""
    from registry import create_app

    app = create_app({"db.path": str(work / "db.sqlite3"), "storage.dir": str(work / "packages")})
    store = app.extensions["registry"].access.store
    access = app.extensions["registry"].access.authenticator
    manage.add_user(store, USER[0], USER[1], admin=True)
    _, token = create_token(store, USER[0])
    client = app.test_client()
    name, content = wheel()
    form = {
        ":action": "file_upload",
        "name": PROJECT,
        "version": "1.0",
        "sha256_digest": hashlib.sha256(content).hexdigest(),
        "content": (io.BytesIO(content), name),
    }
    assert client.post("/", data=form, auth=USER).status_code == 200
    headers = {
        "anonymous": {},
        "password": {"Authorization": basic(*USER)},
        "token": {"Authorization": basic("__token__", token)},
    }

    def per_request(sent: dict[str, str], count: int = 2000) -> float:
        start = time.perf_counter()
        for _ in range(count):
            assert client.get(f"/simple/{PROJECT}/", headers=sent).status_code == 200
        return (time.perf_counter() - start) / count * 1e6

    for sent in headers.values():
        per_request(sent, 300)
    runs: dict[str, list[float]] = {caller: [] for caller in headers}
    for _ in range(rounds):
        for caller, sent in headers.items():
            runs[caller].append(per_request(sent))
    requests_us = {caller: statistics.median(found) for caller, found in runs.items()}

    def per_call(call: Callable[[], object], count: int) -> float:
        start = time.perf_counter()
        for _ in range(count):
            call()
        return (time.perf_counter() - start) / count * 1e6

    access.memo.ttl = 0
    full = per_call(lambda: access.authenticate(*USER), 20)
    access.memo.ttl = 60
    access.authenticate(*USER)
    remembered = per_call(lambda: access.authenticate(*USER), 5000)
    tokened = per_call(lambda: access.authenticate("__token__", token), 5000)
    app.extensions["registry"].cache.close()
    calls_us = {"password, first check": full, "password, remembered": remembered, "token": tokened}
    return requests_us, calls_us


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=5, help="measurements per caller (median shown)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    options = parser.parse_args()
    load = with_wrk if shutil.which("wrk") else with_python
    results: list[dict[str, object]] = []
    for mode, settings in MODES.items():
        with tempfile.TemporaryDirectory() as work:
            server = Server(Path(work), settings)
            try:
                url = f"{server.url}simple/{PROJECT}/"
                callers = {
                    "anonymous": None,
                    "password": basic(*USER),
                    "token": basic("__token__", server.token),
                }
                if mode == "org":
                    del callers["anonymous"]
                for header in callers.values():  # warm up: each worker has checked the password
                    load(url, header, 2)
                rates: dict[str, list[float]] = {caller: [] for caller in callers}
                cpu: dict[str, list[float]] = {caller: [] for caller in callers}
                for _ in range(options.rounds):  # interleaved, so drift hits every caller alike
                    for caller, header in callers.items():
                        before = server.cpu_seconds()
                        rate = load(url, header, options.duration)
                        rates[caller].append(rate)
                        cpu[caller].append((server.cpu_seconds() - before) / (rate * options.duration) * 1e6)
                for caller, runs in rates.items():
                    results.append(
                        {
                            "mode": mode,
                            "caller": caller,
                            "rps": statistics.median(runs),
                            "runs": runs,
                            "cpu_us": statistics.median(cpu[caller]),
                        }
                    )
            finally:
                server.stop()
    anonymous = next(row for row in results if row["caller"] == "anonymous")
    base_rps, base_cpu = float(anonymous["rps"]), float(anonymous["cpu_us"])  # type: ignore[arg-type]
    tool = load.__name__.removeprefix("with_")
    print(f"load: {tool}, 8 connections, {options.duration:g}s x {options.rounds} rounds, interleaved")
    print("| mode | caller | requests/s (median) | vs anonymous | server CPU per request | vs anonymous |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for row in results:
        rps, cpu_us = float(row["rps"]), float(row["cpu_us"])  # type: ignore[arg-type]
        print(
            f"| {row['mode']} | {row['caller']} | {rps:,.0f} | {100 * (rps / base_rps - 1):+.1f}% "
            f"| {cpu_us:,.0f} µs | {100 * (cpu_us / base_cpu - 1):+.1f}% |"
        )
    with tempfile.TemporaryDirectory() as work:
        requests_us, calls_us = in_process(Path(work), options.rounds)
    print(
        "\n| in process (Flask test client), /simple/<project>/ | microseconds per request | vs anonymous |"
    )
    print("| --- | ---: | ---: |")
    for caller, micros in requests_us.items():
        print(f"| {caller} | {micros:,.0f} | {100 * (micros / requests_us['anonymous'] - 1):+.1f}% |")
    print("\n| Authenticator.authenticate (in process) | microseconds per call |")
    print("| --- | ---: |")
    for label, micros in calls_us.items():
        print(f"| {label} | {micros:,.1f} |")
    if options.json:
        document = {"http": results, "request_us": requests_us, "authenticate_us": calls_us}
        options.json.write_text(json.dumps(document, indent=2) + "\n")


if __name__ == "__main__":
    main()
