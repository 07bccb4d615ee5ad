"""What is measured on one server, in order, and how.

1. Start it empty, do any set-up it needs (devpi: user and index), stop it.
2. Start-up time with nothing stored: median of three starts (spawn -> first 200 from the index).
3. Start it, upload the whole corpus with one ``twine upload`` call (files/s).
4. Check each read URL answers what the corpus holds (every file listed, the downloaded bytes
   are the uploaded ones), then load it with ``wrk`` pinned to the client core.
5. Memory of the process tree after the load.
6. Stop it; start-up time with the corpus stored: median of three starts.
"""

from __future__ import annotations

import json
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urldefrag, urljoin

from . import procs
from .corpus import Corpus
from .servers import Server, base_env

HTML = "text/html"
JSON = "application/vnd.pypi.simple.v1+json"
STARTS = 3
START_TIMEOUT = 120.0
WRK_CONNECTIONS = 8


@dataclass
class Endpoint:
    """A read URL to load, and how to tell its answer is complete."""

    key: str  # row key, e.g. "project-html"
    url: str
    accept: str
    check: Callable[[procs.Answer], str | None]  # None when fine, else what is wrong


@dataclass
class Results:
    """One server's numbers (``values``) and what could not be measured (``notes``)."""

    label: str
    version: str = ""
    command: str = ""
    values: dict[str, float] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- wrk ----------------------------------------------------------------------------------

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not match:
        raise ValueError(f"cannot read wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str) -> dict[str, float]:
    """Requests/s, p50 and p99 (ms), and the count of failed requests from wrk's report."""
    rps = re.search(r"Requests/sec:\s*([\d.]+)", output)
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", output)
    p50 = re.search(r"^\s*50%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s*99%\s+(\S+)", output, re.MULTILINE)
    if not (rps and p50 and p99 and total):
        raise ValueError(f"unexpected wrk output:\n{output}")
    bad = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    failed = int(bad.group(1)) if bad else 0
    # Read errors are connections the server closed (sync workers close after each answer).
    failed += int(errors.group(1)) + int(errors.group(4)) if errors else 0
    return {
        "rps": float(rps.group(1)),
        "p50": _ms(p50.group(1)),
        "p99": _ms(p99.group(1)),
        "requests": int(total.group(1)),
        "failed": failed,
    }


def run_wrk(url: str, accept: str, duration: int, server_pid: int) -> dict[str, float]:
    """wrk's figures plus the server's CPU time per request and its share of its core.

    CPU per request barely moves when other work shares the machine, unlike requests/s; a
    share well under 1 means something else ran on the server's core during the load.
    """
    procs.check_loopback(url)
    command = procs.pinned(
        procs.CLIENT_CORE,
        [
            "wrk",
            "-t1",
            f"-c{WRK_CONNECTIONS}",
            f"-d{duration}s",
            "--latency",
            "--timeout",
            "10s",
            "-H",
            f"Accept: {accept}",
            url,
        ],
    )
    cpu_before, started = procs.cpu_seconds(server_pid), time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60, check=False)
    cpu_used, elapsed = procs.cpu_seconds(server_pid) - cpu_before, time.monotonic() - started
    if result.returncode != 0:
        raise RuntimeError(f"wrk failed: {result.stderr.strip()}")
    numbers = parse_wrk(result.stdout)
    numbers["cpu"] = cpu_used / max(numbers["requests"], 1) * 1e6
    numbers["share"] = cpu_used / elapsed
    return numbers


# -- checks -------------------------------------------------------------------------------


def _count_links(minimum: int) -> Callable[[procs.Answer], str | None]:
    def check(answer: procs.Answer) -> str | None:
        if answer.status != 200 or not answer.content_type.startswith(HTML):
            return f"answered {answer.status} {answer.content_type!r}"
        found = answer.body.count(b"href=")
        return None if found >= minimum else f"lists {found} links, expected {minimum}"

    return check


def _count_json(field_name: str, minimum: int) -> Callable[[procs.Answer], str | None]:
    def check(answer: procs.Answer) -> str | None:
        if answer.status != 200 or not answer.content_type.startswith(JSON):
            return f"not supported (answered {answer.status} {answer.content_type.split(';')[0]!r})"
        found = len(json.loads(answer.body).get(field_name, []))
        return None if found >= minimum else f"lists {found} {field_name}, expected {minimum}"

    return check


def endpoints(server: Server, corpus: Corpus) -> list[Endpoint]:
    """The read URLs, in table order; the download URL is taken from the project page."""
    spec = corpus.spec
    base = server.base_url
    pages = [
        ("index", server.index_path, spec.projects + 1, "projects"),
        ("project", server.project_path(corpus.sample_project), 2 * spec.versions, "files"),
        ("big", server.project_path(corpus.big_project), 2 * spec.big_versions, "files"),
    ]
    found: list[Endpoint] = []
    for key, path, count, field_name in pages:
        found.append(Endpoint(f"{key}-html", base + path, HTML, _count_links(count)))
        found.append(Endpoint(f"{key}-json", base + path, JSON, _count_json(field_name, count)))
    found.append(download_endpoint(server, corpus))
    return found


def download_endpoint(server: Server, corpus: Corpus) -> Endpoint:
    page_url = server.base_url + server.project_path(corpus.sample_project)
    page = procs.get(page_url, {"Accept": HTML})
    links = re.findall(rb'href="([^"]+)"', page.body)
    wanted = corpus.sample_wheel
    hrefs = [link.decode() for link in links if urldefrag(link.decode())[0].endswith("/" + wanted)]
    if not hrefs:
        raise RuntimeError(f"{page_url} has no link to {wanted}")
    url = urldefrag(urljoin(page.url, hrefs[0]))[0]
    expected = (corpus.directory / wanted).read_bytes()
    # Resolve redirects once, so wrk (which does not follow them) loads the file itself.
    url = procs.get(url).url

    def check(answer: procs.Answer) -> str | None:
        if answer.status != 200:
            return f"answered {answer.status}"
        return None if answer.body == expected else "the bytes differ from the uploaded file"

    return Endpoint("download", url, "*/*", check)


# -- one server ---------------------------------------------------------------------------


def start_up(server: Server, logfile: Path) -> float:
    """Seconds from spawn until the index answers 200, for one fresh start."""
    started = time.monotonic()
    process = procs.start(server.command(), env=server.env(), cwd=server.cwd, log=logfile)
    try:
        return procs.wait_ready(server.base_url + server.ready_path, process, started, START_TIMEOUT)
    finally:
        procs.stop(process)


def upload(server: Server, corpus: Corpus, logfile: Path, server_pid: int) -> tuple[float, float]:
    """Files/s for one ``twine upload`` of the whole corpus (twine on the client core), and the
    server's CPU ms per file.
    """
    user, password = server.credentials()
    twine = Path(sys.executable).parent / "twine"
    command = [str(twine), "upload", "--non-interactive", "--disable-progress-bar"]
    command += ["--repository-url", server.base_url + server.upload_path, "-u", user, "-p", password]
    command += [str(path) for path in corpus.files]
    cpu_before, started = procs.cpu_seconds(server_pid), time.monotonic()
    procs.run(
        procs.pinned(procs.CLIENT_CORE, command),
        env=base_env(),
        log=logfile,
        timeout=max(900.0, len(corpus.files) * 0.5),
    )
    elapsed, cpu_used = time.monotonic() - started, procs.cpu_seconds(server_pid) - cpu_before
    return len(corpus.files) / elapsed, cpu_used / len(corpus.files) * 1e3


def load(server: Server, corpus: Corpus, results: Results, duration: int, server_pid: int) -> None:
    for endpoint in endpoints(server, corpus):
        answer = procs.get(endpoint.url, {"Accept": endpoint.accept})
        problem = endpoint.check(answer)
        if problem:
            results.notes[endpoint.key] = problem
            log(f"{results.label}: {endpoint.key}: {problem}")
            continue
        numbers = run_wrk(endpoint.url, endpoint.accept, duration, server_pid)
        if numbers["failed"]:
            results.notes[endpoint.key] = f"{numbers['failed']:.0f} failed requests"
        for name in ("rps", "p50", "p99", "cpu", "share"):
            results.values[f"{endpoint.key}:{name}"] = numbers[name]
        log(
            f"{results.label}: {endpoint.key}: {numbers['rps']:.0f} req/s, p50 {numbers['p50']:.2f} ms, "
            f"{numbers['cpu']:.0f} us CPU/request, {numbers['share']:.0%} of a core"
        )


def bench(server: Server, corpus: Corpus, duration: int, logs: Path) -> Results:
    """Every measurement for one server; a failure is noted and ends this server's run."""
    results = Results(server.label)
    logfile = logs / f"{server.data.name}.log"
    try:
        log(f"{server.label}: installing")
        server.install(logfile)
        results.version = server.version()
        shutil.rmtree(server.data, ignore_errors=True)
        server.configure(procs.free_port(), logfile)
        results.command = server.describe()
        log(f"{server.label}: first start")
        process = procs.start(server.command(), env=server.env(), cwd=server.cwd, log=logfile)
        try:
            procs.wait_ready(server.base_url + server.ready_path, process, time.monotonic(), START_TIMEOUT)
            server.after_first_start(logfile)
        finally:
            procs.stop(process)
        results.values["startup-empty"] = statistics.median(start_up(server, logfile) for _ in range(STARTS))
        process = procs.start(server.command(), env=server.env(), cwd=server.cwd, log=logfile)
        try:
            procs.wait_ready(server.base_url + server.ready_path, process, time.monotonic(), START_TIMEOUT)
            log(f"{server.label}: uploading {len(corpus.files)} files")
            results.values["upload"], results.values["upload-cpu"] = upload(
                server, corpus, logfile, process.pid
            )
            log(
                f"{server.label}: upload {results.values['upload']:.1f} files/s, "
                f"{results.values['upload-cpu']:.1f} ms server CPU/file"
            )
            load(server, corpus, results, duration, process.pid)
            results.values["rss"], results.values["pss"] = procs.memory_mib(process.pid)
            shares = [value for key, value in results.values.items() if key.endswith(":share")]
            if shares:
                results.values["share-min"] = min(shares)
        finally:
            procs.stop(process)
        results.values["startup-full"] = statistics.median(start_up(server, logfile) for _ in range(STARTS))
        log(f"{server.label}: start-up {results.values['startup-full']:.2f} s with the corpus stored")
    except Exception as exc:  # noqa: BLE001 - one server failing must not stop the others
        results.notes["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        log(f"{server.label}: FAILED: {exc}")
    return results
