"""Soak: uploads, reads and slow clients at once, for a few minutes, against the registry as shipped.

    make soak                                   # both configurations, 3 minutes each
    python bench/soak.py --duration 60 --shipped container

For each configuration (the container's ``gunicorn -c gunicorn.conf.py`` and ``make run``'s
``python -m registry serve``), on loopback with local backends, this holds 200 slow connections
(heads a byte at a time, 100 kB bodies at 2 KB/s, 20 MB authenticated uploads at 2 KB/s that
the app reads), runs uploader threads that each upload a new wheel in a loop, and a normal
client that reads ``/simple/<project>/`` and downloads a wheel. It prints the latencies, the
upload rate, what the slow clients were answered, the server's CPU and memory, and checks at the
end that every accepted upload is listed. Everything it starts is stopped when it ends.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.procs import cpu_seconds, memory_mib
from tests.deploy.servers import Process, Users, basic_auth, start_gunicorn, start_serve
from tests.distributions import Dist, wheel_bytes, write_wheel
from tests.slowclients import Latencies, LatencyProbe, slow_clients

SEED = Dist("soak-seed", "1.0")


@dataclass
class Uploader:
    """Uploads a new wheel after another until stopped; times each upload."""

    url: str
    authorization: str
    number: int
    result: Latencies = field(default_factory=Latencies)
    accepted: list[str] = field(default_factory=list)

    def run(self, stop: threading.Event) -> None:
        for count in range(1_000_000):
            if stop.is_set():
                return
            dist = Dist(f"soak-{self.number}-{count}", "1.0")
            content = wheel_bytes(dist)
            form = {":action": "file_upload", "name": dist.name, "version": dist.version}
            form |= {"filetype": "bdist_wheel", "sha256_digest": hashlib.sha256(content).hexdigest()}
            started = time.perf_counter()
            try:
                answer = requests.post(
                    self.url + "/", data=form, files={"content": (dist.wheel_name, content)},
                    headers={"Authorization": self.authorization}, timeout=30,
                )  # fmt: skip
            except requests.RequestException as exc:
                self.result.failures[type(exc).__name__] += 1
                continue
            if answer.status_code == 200:
                self.result.samples.append((time.perf_counter() - started) * 1000)
                self.accepted.append(dist.name)
            else:
                self.result.failures[f"status {answer.status_code}"] += 1


def _sample_memory(pid: int, stop: threading.Event, samples: list[float]) -> None:
    while not stop.wait(2.0):
        samples.append(memory_mib(pid)[0])


def soak(shipped: str, duration: float, slow: int, uploaders: int, tmp: Path) -> dict[str, object]:
    """Run one configuration; return its figures."""
    users = Users()
    server = (start_gunicorn if shipped == "container" else start_serve)(tmp, users.settings())
    admin = basic_auth("admin", users.admin_password)
    try:
        return _load(server, admin, duration, slow, uploaders, tmp)
    finally:
        server.stop()


def _seed(server: Process, admin: str, tmp: Path) -> str:
    """Upload the project the normal client reads; return its wheel's URL path."""
    path = write_wheel(tmp, SEED)
    with path.open("rb") as wheel:
        form = {
            ":action": "file_upload",
            "name": SEED.name,
            "version": SEED.version,
            "filetype": "bdist_wheel",
            "sha256_digest": hashlib.sha256(path.read_bytes()).hexdigest(),
        }
        headers = {"Authorization": admin}
        requests.post(
            server.url + "/", data=form, files={"content": wheel}, headers=headers
        ).raise_for_status()
    url: str = requests.get(f"{server.url}/pypi/{SEED.name}/json", timeout=10).json()["urls"][0]["url"]
    return url[url.index("/packages/") :]


def _load(
    server: Process, admin: str, duration: float, slow: int, uploaders: int, tmp: Path
) -> dict[str, object]:
    port, wheel_path = int(server.url.rsplit(":", 1)[1]), _seed(server, admin, tmp)
    counts = {"headers": slow // 2, "body": slow * 3 // 10, "big-body": slow - slow // 2 - slow * 3 // 10}
    workers = [Uploader(server.url, admin, number) for number in range(uploaders)]
    stop, memory = threading.Event(), [memory_mib(server.process.pid)[0]]
    threads = [threading.Thread(target=worker.run, args=(stop,)) for worker in workers]
    threads.append(threading.Thread(target=_sample_memory, args=(server.process.pid, stop, memory)))
    cpu_before, started = cpu_seconds(server.process.pid), time.monotonic()
    with (
        slow_clients("127.0.0.1", port, counts, authorization=admin) as blocks,
        LatencyProbe("127.0.0.1", port, f"/simple/{SEED.name}/") as reads,
        LatencyProbe("127.0.0.1", port, wheel_path, interval=0.1) as downloads,
    ):
        for thread in threads:
            thread.start()
        time.sleep(duration)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    elapsed = time.monotonic() - started
    accepted = [name for worker in workers for name in worker.accepted]
    listed = requests.get(f"{server.url}/simple/", timeout=30).text
    uploads = Latencies([sample for worker in workers for sample in worker.result.samples])
    for worker in workers:
        uploads.failures.update(worker.result.failures)
    found = sum(f'href="{name}/"' in listed for name in accepted)
    return {
        "slow connections held": f"{counts} (opened {sum(b.opened for b in blocks)} in all)",
        "slow clients answered": {b.kind: dict(b.answers) for b in blocks},
        "GET /simple/<project>/": reads.result.summary(),
        "GET a wheel": downloads.result.summary(),
        "uploads": f"{uploads.summary()}, {len(accepted) / elapsed:.1f}/s",
        "uploads listed afterwards": f"{found} of {len(accepted)}",
        "server CPU": f"{(cpu_seconds(server.process.pid) - cpu_before) / elapsed:.0%} of a core",
        "server RSS MiB": f"start {memory[0]:.0f}, max {max(memory):.0f}, end {memory[-1]:.0f}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=180.0, help="seconds per configuration")
    parser.add_argument("--shipped", choices=["container", "make-run", "both"], default="both")
    parser.add_argument("--slow", type=int, default=200, help="slow connections held open")
    parser.add_argument("--uploaders", type=int, default=4, help="threads uploading in a loop")
    args = parser.parse_args()
    for shipped in ["container", "make-run"] if args.shipped == "both" else [args.shipped]:
        with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
            figures = soak(shipped, args.duration, args.slow, args.uploaders, Path(tmp))
        print(
            f"\n## {shipped}: {args.duration:g} s, {args.slow} slow connections, {args.uploaders} uploaders"
        )
        for name, value in figures.items():
            print(f"- {name}: {value}")


if __name__ == "__main__":
    main()
