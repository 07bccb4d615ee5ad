"""What is measured on one server, in order, and how.

1. ``prepare``: start it empty, do any set-up it needs (devpi: user and index), stop it; time
   three empty start-ups (spawn -> first 200 from the index; median); start it and upload the
   whole corpus with one ``twine upload`` call (files/s); check each read URL answers what the
   corpus holds (every file listed, the downloaded bytes are the uploaded ones). It stays up.
2. ``load_all``: with every server up, load each URL with ``wrk`` (pinned to the client core),
   one server after another, for ``rounds`` rounds.
3. ``finish``: memory of the process tree after the loads; stop it; time three start-ups with
   the corpus stored.
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
    for key, project, count in (
        ("ui-project", corpus.sample_project, 2),
        ("ui-big", corpus.big_project, spec.big_versions),
    ):
        ui_path = server.ui_project_path(project)
        if ui_path:
            found.append(Endpoint(f"{key}-html", base + ui_path, HTML, _ui_page(count)))
    found.append(download_endpoint(server, corpus))
    return found


def _ui_page(minimum: int) -> Callable[[procs.Answer], str | None]:
    """A web UI project page: its release history and at least ``minimum`` links."""

    def check(answer: procs.Answer) -> str | None:
        if answer.status != 200 or not answer.content_type.startswith(HTML):
            return f"answered {answer.status} {answer.content_type!r}"
        if b"Release history" not in answer.body:
            return "no release history on the page"
        found = answer.body.count(b"href=")
        return None if found >= minimum else f"lists {found} links, expected {minimum}"

    return check


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


@dataclass
class Session:
    """A server under test: its results so far and, while it runs, its process and URLs."""

    server: Server
    results: Results
    logfile: Path
    process: subprocess.Popen[bytes] | None = None
    urls: list[Endpoint] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.server.label

    def fail(self, exc: BaseException) -> None:
        self.results.notes["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        log(f"{self.label}: FAILED: {exc}")
        self.stop()

    def stop(self) -> None:
        if self.process is not None:
            procs.stop(self.process)
            self.process = None


def prepare(server: Server, corpus: Corpus, logs: Path) -> Session:
    """Install, set up, time an empty start-up, start, upload, find the URLs; leave it running."""
    session = Session(server, Results(server.label), logs / f"{server.data.name}.log")
    results, logfile = session.results, session.logfile
    try:
        log(f"{server.label}: installing")
        server.install(logfile)
        results.version = server.version()
        shutil.rmtree(server.data, ignore_errors=True)
        server.configure(procs.free_port(), logfile)
        results.command = server.describe()
        log(f"{server.label}: first start")
        session.process = procs.start(server.command(), env=server.env(), cwd=server.cwd, log=logfile)
        procs.wait_ready(
            server.base_url + server.ready_path, session.process, time.monotonic(), START_TIMEOUT
        )
        server.after_first_start(logfile)
        session.stop()
        results.values["startup-empty"] = statistics.median(start_up(server, logfile) for _ in range(STARTS))
        session.process = procs.start(server.command(), env=server.env(), cwd=server.cwd, log=logfile)
        procs.wait_ready(
            server.base_url + server.ready_path, session.process, time.monotonic(), START_TIMEOUT
        )
        log(f"{server.label}: uploading {len(corpus.files)} files")
        results.values["upload"], results.values["upload-cpu"] = upload(
            server, corpus, logfile, session.process.pid
        )
        log(
            f"{server.label}: upload {results.values['upload']:.1f} files/s, "
            f"{results.values['upload-cpu']:.1f} ms server CPU/file"
        )
        for endpoint in endpoints(server, corpus):
            problem = endpoint.check(procs.get(endpoint.url, {"Accept": endpoint.accept}))
            if problem:
                results.notes[endpoint.key] = problem
                log(f"{server.label}: {endpoint.key}: {problem}")
            else:
                session.urls.append(endpoint)
    except Exception as exc:  # noqa: BLE001 - one server failing must not stop the others
        session.fail(exc)
    return session


def load(session: Session, endpoint: Endpoint, duration: int) -> None:
    """One wrk run; keeps it if it is this server's best (highest req/s) for the URL so far."""
    if session.process is None:
        return
    try:
        numbers = run_wrk(endpoint.url, endpoint.accept, duration, session.process.pid)
    except Exception as exc:  # noqa: BLE001 - noted; the other servers go on
        session.fail(exc)
        return
    values, key = session.results.values, endpoint.key
    log(
        f"{session.label}: {key}: {numbers['rps']:.0f} req/s, p50 {numbers['p50']:.2f} ms, "
        f"{numbers['cpu']:.0f} us CPU/request, {numbers['share']:.0%} of a core"
    )
    if numbers["failed"]:
        session.results.notes[key] = f"{numbers['failed']:.0f} failed requests"
    if values.get(f"{key}:rps", -1.0) < numbers["rps"]:
        for name in ("rps", "p50", "p99", "share"):
            values[f"{key}:{name}"] = numbers[name]
    # CPU per request: the lowest seen, the run least disturbed by other work on the machine.
    values[f"{key}:cpu"] = min(values.get(f"{key}:cpu", numbers["cpu"]), numbers["cpu"])


def load_all(sessions: list[Session], duration: int, rounds: int) -> None:
    """Load every URL of every server, interleaved: for each URL, each server in turn.

    Other work on a shared machine comes and goes over minutes; measuring the servers one URL
    at a time, in a rotating order, and keeping each one's best of ``rounds`` runs gives them
    the same conditions as nearly as possible.
    """
    keys = [endpoint.key for session in sessions for endpoint in session.urls]
    ordered = list(dict.fromkeys(keys))
    for number in range(rounds):
        turn = sessions[number % len(sessions) :] + sessions[: number % len(sessions)] if sessions else []
        for key in ordered:
            for session in turn:
                endpoint = next((e for e in session.urls if e.key == key), None)
                if endpoint is not None:
                    load(session, endpoint, duration)


def finish(session: Session) -> Results:
    """Memory after the loads, then start-up time with the corpus stored."""
    results = session.results
    if session.process is None:
        return results
    try:
        results.values["rss"], results.values["pss"] = procs.memory_mib(session.process.pid)
        shares = [value for key, value in results.values.items() if key.endswith(":share")]
        if shares:
            results.values["share-min"] = min(shares)
        session.stop()
        results.values["startup-full"] = statistics.median(
            start_up(session.server, session.logfile) for _ in range(STARTS)
        )
        log(f"{session.label}: start-up {results.values['startup-full']:.2f} s with the corpus stored")
    except Exception as exc:  # noqa: BLE001
        session.fail(exc)
    return results
