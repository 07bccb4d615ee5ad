"""Metadata at organisation scale: ``/simple/`` with 100,000 projects, and a burst of parallel
first fetches of distinct projects through the upstream cache.

    .venv/bin/python bench/metadata_scale.py                    # SQLite and Firestore, 100,000
    .venv/bin/python bench/metadata_scale.py --backend sqlite --projects 20000 --parallel 100

For each metadata backend (SQLite; Firestore on Google's emulator) it records ``--projects``
projects through ``Cache.add_file`` (as uploads and cache fills do), then measures:

- ``/simple/`` in process (Flask's test client, so the backend's billed reads are counted):
  the first view after a change and an unchanged one, time and document reads;
- the same two over HTTP against gunicorn (time only);
- ``--parallel`` clients at once, each asking for the page and then the file of a project
  the registry has never seen (a static PEP 691 upstream on loopback serves them): every
  answer must be a 200 with the upstream's bytes, and every project must then be listed.

Not a timed test: the figures go into docs/firestore.md. Everything runs on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from registry import create_app  # noqa: E402
from registry.cache import Cache, cache_from_config  # noqa: E402
from registry.config import load_config  # noqa: E402
from registry.models import FileRecord  # noqa: E402
from tests.distributions import Dist  # noqa: E402
from tests.emulators import firestore_jar, free_port  # noqa: E402
from tests.processes import stop_group  # noqa: E402
from tests.server import RegistryServer, base_settings  # noqa: E402
from tests.static_index import StaticIndex  # noqa: E402

GOOGLE_ENV = {
    "NO_GCE_CHECK": "true",
    "GCE_METADATA_HOST": "127.0.0.1:9",
    "GCE_METADATA_IP": "127.0.0.1:9",
    "GOOGLE_CLOUD_PROJECT": "demo-bench",
}


@contextmanager
def firestore_emulator(log: Path) -> Iterator[str]:
    """Google's Firestore emulator on a free port; yields its host:port."""
    port = free_port()
    command = ["java", "-Xmx3g", "-Duser.language=en", "-cp", str(firestore_jar())]
    command += [
        "com.google.cloud.datastore.emulator.firestore.CloudFirestore",
        "--host=127.0.0.1",
        f"--port={port}",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        stop_group(process)


def record(project: str) -> FileRecord:
    filename = f"{project.replace('-', '_')}-1.0-py3-none-any.whl"
    return FileRecord(
        project=project,  # type: ignore[arg-type]
        version="1.0",
        filename=filename,
        packagetype="bdist_wheel",
        size=1000,
        sha256=hashlib.sha256(filename.encode()).hexdigest(),
        info={"name": project, "summary": "A project of the scale benchmark"},
        origin="http://127.0.0.1:9/files/" + filename,
    )


def populate(cache: Cache, count: int, threads: int) -> float:
    """Record ``count`` projects of one file each; returns projects per second."""
    names = [f"scale-{n:06d}" for n in range(count)]
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        for done, _ in enumerate(pool.map(lambda name: cache.add_file(record(name)), names), 1):
            if done % 10000 == 0:
                print(
                    f"  {done} projects recorded ({done / (time.perf_counter() - started):.0f}/s)", flush=True
                )
    return count / (time.perf_counter() - started)


def in_process(settings: dict[str, str]) -> dict[str, tuple[float, int]]:
    """``/simple/`` through the app in this process: (seconds, backend reads) per view, after
    a warm-up request (the access data, the first connection) and one new project."""
    app = create_app(load_config(environ={}, overrides=settings))
    client = app.test_client()
    cache = app.extensions["registry"].stores.cache
    assert client.get("/simple/").status_code == 200
    cache.add_file(record("scale-one-more"))
    results = {}
    for label in ("after a change", "unchanged"):
        reads_before = getattr(cache, "reads", 0)
        started = time.perf_counter()
        answer = client.get("/simple/")
        elapsed = time.perf_counter() - started
        assert answer.status_code == 200, answer.status
        results[label] = (elapsed, getattr(cache, "reads", 0) - reads_before)
    return results


def listed_soon(cache: Cache, names: list[str], timeout: float = 60) -> list[str]:
    """The names not listed yet, after waiting for fills that store once their answer is sent."""
    deadline = time.monotonic() + timeout
    while True:
        listed = {project.name for project in cache.list_projects()}
        missing = [name for name in names if name not in listed]
        if not missing or time.monotonic() > deadline:
            return missing
        time.sleep(0.5)


def over_http(server: RegistryServer, rounds: int = 5) -> dict[str, float]:
    """Median seconds of ``/simple/`` over HTTP, first view (per worker) and repeated ones."""
    first = time.perf_counter()
    size = len(requests.get(server.url + "simple/", timeout=300).content)
    first = time.perf_counter() - first
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        requests.get(server.url + "simple/", timeout=300).raise_for_status()
        times.append(time.perf_counter() - started)
    return {"first": first, "median": statistics.median(times), "bytes": size}


def first_fetches(server: RegistryServer, upstream: StaticIndex, count: int) -> tuple[float, list[str]]:
    """``count`` clients at once, each fetching a project the registry has never seen."""
    names = [f"burst-{n:04d}" for n in range(count)]
    expected = {}
    for name in names:
        ((filename, _),) = upstream.add(Dist(name, "1.0"), datetime.now(UTC) - timedelta(days=30)).items()
        expected[name] = (filename, (upstream.root / "files" / filename).read_bytes())

    def fetch(name: str) -> str:
        try:
            page = requests.get(
                f"{server.url}simple/{name}/",
                headers={"Accept": "application/vnd.pypi.simple.v1+json"},
                timeout=120,
            )
            if page.status_code != 200:
                return f"{name}: page {page.status_code}"
            url = page.json()["files"][0]["url"]
            answer = requests.get(requests.compat.urljoin(page.url, url), timeout=120)
            ok = answer.status_code == 200 and answer.content == expected[name][1]
            return "" if ok else f"{name}: file {answer.status_code}"
        except requests.RequestException as exc:
            return f"{name}: {exc}"

    started = time.perf_counter()
    with ThreadPoolExecutor(count) as pool:
        failures = [problem for problem in pool.map(fetch, names) if problem]
    return time.perf_counter() - started, failures


def run_backend(name: str, settings: dict[str, str], args: argparse.Namespace, work: Path) -> list[str]:
    config = load_config(environ={}, overrides=settings)
    cache = cache_from_config(config)
    rate = populate(cache, args.projects, args.threads)
    lines = [
        f"### {name}: {args.projects} projects",
        f"- recorded at {rate:.0f} projects/s ({args.threads} threads)",
    ]
    for label, (seconds, reads) in in_process(settings).items():
        queries = "2 SQL queries" if label == "after a change" else "1 SQL query"
        counted = f"{reads} document reads" if hasattr(cache, "reads") else queries
        lines.append(f"- in process, `/simple/` {label}: {seconds * 1000:.0f} ms, {counted}")
    upstream = StaticIndex(work / f"upstream-{name}")
    server = RegistryServer(
        {
            **settings,
            "pypi.fallback": "cache",
            "pypi.fallback_url": upstream.url,
            "pypi.cache_update": "everyone",
        },
        work / f"logs-{name}",
        extra_env=dict(os.environ),
        extra_args=["--threads", "32", "--timeout", "300"],
    ).start(timeout=120)
    try:
        http = over_http(server)
        lines.append(f"- over HTTP, `/simple/` first view {http['first'] * 1000:.0f} ms, then median "
                     f"{http['median'] * 1000:.0f} ms ({http['bytes'] / 1e6:.1f} MB of HTML)")  # fmt: skip
        seconds, failures = first_fetches(server, upstream, args.parallel)
        missing = listed_soon(cache, [f"burst-{i:04d}" for i in range(args.parallel)])
        lines.append(f"- {args.parallel} parallel first fetches of distinct projects: {seconds:.1f} s "
                     f"({args.parallel / seconds:.0f} fills/s), {len(failures)} failed, "
                     f"{len(missing)} not listed after")  # fmt: skip
        lines += [f"  - {problem}" for problem in failures[:20]]
    finally:
        server.stop()
        upstream.stop()
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "firestore", "both"], default="both")
    parser.add_argument("--projects", type=int, default=100_000)
    parser.add_argument("--parallel", type=int, default=200)
    parser.add_argument("--threads", type=int, default=16, help="threads recording the projects")
    args = parser.parse_args(argv)
    os.environ.update(GOOGLE_ENV)
    work = Path(tempfile.mkdtemp(prefix="metadata-scale-"))
    report: list[str] = []
    try:
        if args.backend in ("sqlite", "both"):
            report += run_backend("SQLite", base_settings(work / "sqlite"), args, work)
            print("\n".join(report), flush=True)
        if args.backend in ("firestore", "both"):
            with firestore_emulator(work / "firestore.log") as host:
                os.environ["FIRESTORE_EMULATOR_HOST"] = host
                settings = {**base_settings(work / "fs"), "pypi.db": "firestore", "db.project": "demo-bench"}
                report += run_backend("Firestore (emulator)", settings, args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
