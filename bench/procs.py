"""Processes and loopback HTTP: start servers in their own process group, always stop them.

Every server is started with ``start_new_session`` so the whole tree (gunicorn master and
workers, devpi's threads ...) is one process group that ``stop`` ends with SIGTERM, then SIGKILL.
``stop_all`` runs at exit and on SIGINT/SIGTERM, so an error or Ctrl-C leaves nothing behind.
HTTP goes only to loopback addresses: ``get`` refuses any other host, redirects included.
"""

from __future__ import annotations

import atexit
import http.client
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urljoin, urlsplit

from tests.processes import stop_group

LOOPBACK = ("127.0.0.1", "localhost", "::1")
SERVER_CORE = "0"
CLIENT_CORE = "1"

_running: dict[int, subprocess.Popen[bytes]] = {}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def pinned(core: str, command: Sequence[str]) -> list[str]:
    return ["taskset", "-c", core, *command]


def start(command: Sequence[str], *, env: Mapping[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    """Start a server pinned to the server core, output appended to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(command)}\n".encode())
        out.flush()
        process = subprocess.Popen(
            pinned(SERVER_CORE, command),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _running[process.pid] = process
    return process


def stop(process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """End the process group: SIGTERM, then SIGKILL after ``timeout`` seconds."""
    _running.pop(process.pid, None)
    stop_group(process, timeout=timeout)


def stop_all() -> None:
    for process in list(_running.values()):
        stop(process, timeout=5.0)


def _on_signal(signum: int, frame: FrameType | None) -> None:
    stop_all()
    raise SystemExit(128 + signum)


def install_cleanup() -> None:
    atexit.register(stop_all)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)


def run(
    command: Sequence[str], *, env: Mapping[str, str], log: Path, timeout: float, cwd: Path | None = None
) -> None:
    """Run a command to completion (bounded by ``timeout``); raise with the log's tail on failure."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(command)}\n".encode())
        out.flush()
        result = subprocess.run(
            list(command),
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            check=False,
        )
    if result.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"{command[0]} failed (exit {result.returncode}); see {log}:\n{tail}")


# -- CPU and memory -------------------------------------------------------------------------------


def _tree(root: int) -> list[int]:
    """``root`` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: fields restart after the last ")".
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry))
    found, pending = [], [root]
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(children.get(pid, []))
    return found


def _kib(path: str, field: str) -> int:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(root: int) -> float:
    """User + system CPU time used so far by the process tree (threads included)."""
    ticks = 0
    for pid in _tree(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def memory_mib(root: int) -> tuple[float, float]:
    """(RSS, PSS) summed over the process tree, in MiB. PSS splits pages shared after a fork."""
    pids = _tree(root)
    rss = sum(_kib(f"/proc/{pid}/status", "VmRSS") for pid in pids)
    pss = sum(_kib(f"/proc/{pid}/smaps_rollup", "Pss") for pid in pids)
    return rss / 1024, pss / 1024


# -- loopback HTTP ------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    url: str  # the final URL, after loopback redirects
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


def check_loopback(url: str) -> None:
    host = urlsplit(url).hostname
    if host not in LOOPBACK:
        raise RuntimeError(f"refusing to send traffic to {url!r}: only loopback is allowed")


def get(url: str, headers: Mapping[str, str] | None = None, *, timeout: float = 30.0) -> Answer:
    """GET on loopback, following up to 3 redirects (each checked to stay on loopback)."""
    for _ in range(4):
        check_loopback(url)
        parts = urlsplit(url)
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port or 80, timeout=timeout)
        try:
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            connection.request("GET", path or "/", headers=dict(headers or {}))
            response = connection.getresponse()
            body = response.read()
            found = {name.lower(): value for name, value in response.getheaders()}
        finally:
            connection.close()
        if response.status in (301, 302, 303, 307, 308) and "location" in found:
            url = urljoin(url, found["location"])
            continue
        return Answer(url, response.status, found, body)
    raise RuntimeError(f"too many redirects from {url}")


def post_json(url: str, document: object, *, timeout: float = 60.0) -> Any:
    """POST a JSON document to a loopback URL and return the decoded JSON answer."""
    check_loopback(url)
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port or 80, timeout=timeout)
    try:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        connection.request("POST", parts.path, body=json.dumps(document).encode(), headers=headers)
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    if response.status != 200:
        raise RuntimeError(f"POST {url} answered {response.status}: {body[:300]!r}")
    return json.loads(body)


def wait_ready(url: str, process: subprocess.Popen[bytes], started: float, timeout: float) -> float:
    """Seconds from ``started`` until ``url`` first answers 200; polls every 5 ms."""
    deadline = started + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before answering {url}")
        try:
            if get(url, timeout=timeout).status == 200:
                return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.005)
    raise RuntimeError(f"{url} did not answer 200 within {timeout:.0f} s")
