"""How fast a machine installs through this registry used as a LAN proxy: ``make bench-proxy``.

    python bench/proxy_install.py                   # pip and uv, every mode (~10 minutes)
    python bench/proxy_install.py --clients uv --rounds 1   # uv only, once
    python bench/proxy_install.py --tree before=/path/to/old/checkout   # compare two versions

A local upstream models the public index: a static PEP 503/691 index of real files with PEP
658 metadata (``static_index``), served by nginx, behind ``delay_proxy`` adding ~40 ms to each
request. Each client (pip, uv) installs the whole set in a fresh virtualenv without a client
cache, in these modes:

- ``static``: straight from nginx, no delay: a local static mirror, the physical limit;
- ``upstream``: straight from the delayed upstream;
- ``cold``: through a fresh registry (``pypi.fallback = cache``): every page and file is new;
- ``warm``: through the same registry again (a second machine);
- ``restart``: the registry restarted (a new instance or deploy), then installed again;
- ``hanging``: the upstream now accepts connections and never answers, registry restarted.

``--tree LABEL=PATH`` (repeatable) runs the registry modes once per source tree (gunicorn
imports ``main:app`` from that folder), interleaved, so versions are compared under the same
conditions. Servers run pinned to core 0, clients to core 1, all on 127.0.0.1. The table is printed and
saved under ``bench/results/``.

On a shared or small machine the same install from nginx alone varies several-fold from one run
to the next (other work; on this project's VM a CPU that slows from ~2.6 s to ~10 s per install
after a minute of sustained load and recovers after ~2 idle minutes), so a ratio between two
runs minutes apart says little. Each registry mode is therefore paired with a reference run just
before it (``static`` before ``warm``, ``restart`` and ``hanging``,
``upstream`` before ``cold``), dirty pages are written out before every timed install, and the
targets are judged on the median over ``--rounds`` of each round's paired ratio; the seconds
shown are medians too. ``--rest SECONDS`` idles before every timed install (a rested machine:
the registry's own cost weighs most against a fast install), ``--venvs DIR`` makes the
virtualenvs elsewhere (a tmpfs takes the disk out).

uv reports its own seconds per phase, shown in a second table: resolving (the project pages and
metadata: what the registry's page path costs a client), preparing (downloading and unpacking
the files) and installing. On this VM most of an install's wall clock can be the kernel's, in
preparing and installing (uv's system time, the same install from nginx: 4.0 s of 4.8 and
10.0 s of 10.9, an hour apart); resolving is where a registry differs from a static index.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import procs, static_index  # noqa: E402
from bench.servers import base_env  # noqa: E402

WORK = REPO / "bench" / ".work" / "proxy"
RESULTS = REPO / "bench" / "results"
BIN = Path(sys.executable).parent
MODES = ("static", "upstream", "cold", "warm", "restart", "hanging")
LABELS = {
    "static": "straight from nginx (local static mirror, no delay)",
    "upstream": "straight from the delayed upstream",
    "cold": "through the registry, cold",
    "warm": "through the registry, warm (second machine)",
    "restart": "through the registry, warm after a restart",
    "hanging": "through the registry, warm after a restart, upstream hanging",
}


def _wait_port(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode} before listening on {port}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError(f"nothing listens on {port} after {timeout:.0f} s")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class Stack:
    """nginx, the delay proxy in front of it, and the registry in front of that."""

    root: Path
    logs: Path
    delay: float
    nginx_port: int = field(default_factory=procs.free_port)
    proxy_port: int = field(default_factory=procs.free_port)
    registry_port: int = 0
    data: Path = WORK / "registry-data"
    tree: Path = REPO
    venvs: Path = WORK / "venvs"  # where the clients' fresh virtualenvs are made
    rest: float = 0.0  # seconds of idle before each timed install
    running: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start_nginx(self) -> None:
        config = self.logs / "nginx.conf"
        config.write_text(static_index.nginx_config(self.root, self.nginx_port, self.logs))
        command = ["nginx", "-p", str(self.logs), "-c", str(config), "-e", str(self.logs / "nginx-error.log")]
        self._start("nginx", command, f"http://127.0.0.1:{self.nginx_port}/simple/")

    def start_proxy(self, mode: str) -> None:
        self._stop("proxy")
        command = [sys.executable, str(REPO / "bench" / "delay_proxy.py"), "--listen", str(self.proxy_port)]
        command += ["--target", str(self.nginx_port), "--delay", str(self.delay), "--mode", mode]
        self.running["proxy"] = procs.start(command, env=base_env(), cwd=REPO, log=self.logs / "proxy.log")
        _wait_port(self.proxy_port, self.running["proxy"])

    def use_tree(self, label: str, tree: Path) -> None:
        """Serve the registry from ``tree`` (its data in its own folder) from now on."""
        self._stop("registry")
        self.tree, self.data = tree, WORK / "registry-data" / label

    def start_registry(self) -> None:
        self._stop("registry")
        self.registry_port = procs.free_port()
        env = base_env()
        env.update(
            REGISTRY_STORAGE_DIR=str(self.data / "packages"),
            REGISTRY_DB_PATH=str(self.data / "registry.sqlite3"),
            REGISTRY_PYPI_FALLBACK="cache",
            REGISTRY_PYPI_FALLBACK_URL=f"http://127.0.0.1:{self.proxy_port}/simple/",
            REGISTRY_PYPI_CACHE_UPDATE="everyone",
            REGISTRY_ADMIN_PASSWORD="bench-admin-password",
            WEB_CONCURRENCY="2",  # as `python -m registry serve` runs it: 2 workers x 8 threads
            GUNICORN_THREADS="8",
        )
        command = [
            str(BIN / "gunicorn"),
            "-c",
            "gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{self.registry_port}",
        ]
        command += ["--access-logfile", str(self.logs / "registry-access.log"), "main:app"]
        self.running["registry"] = procs.start(
            command, env=env, cwd=self.tree, log=self.logs / "registry.log"
        )
        procs.wait_ready(
            f"http://127.0.0.1:{self.registry_port}/health", self.running["registry"], time.monotonic(), 60
        )

    def index(self, where: str) -> str:
        port = {"static": self.nginx_port, "upstream": self.proxy_port, "registry": self.registry_port}[where]
        return f"http://127.0.0.1:{port}/simple/"

    def registry_rss(self) -> float:
        process = self.running.get("registry")
        return procs.memory_mib(process.pid)[0] if process else 0.0

    def registry_cpu(self) -> float:
        """CPU seconds the registry's processes have used: steadier than wall time on a shared machine."""
        process = self.running.get("registry")
        return procs.cpu_seconds(process.pid) if process else 0.0

    def upstream_requests(self) -> int:
        path = self.logs / "nginx-access.log"
        return sum(1 for _ in path.open("rb")) if path.exists() else 0

    def _start(self, name: str, command: list[str], ready: str) -> None:
        self.running[name] = procs.start(command, env=base_env(), cwd=REPO, log=self.logs / f"{name}.log")
        procs.wait_ready(ready, self.running[name], time.monotonic(), 30)

    def _stop(self, name: str) -> None:
        process = self.running.pop(name, None)
        if process is not None:
            procs.stop(process)

    def reset_registry(self) -> None:
        """Stop the registry and forget everything it stored."""
        self._stop("registry")
        shutil.rmtree(self.data, ignore_errors=True)

    def stop(self) -> None:
        for name in list(self.running):
            self._stop(name)


@dataclass(frozen=True)
class Result:
    seconds: float
    ok: bool
    upstream_requests: int
    note: str = ""
    server_cpu: float = 0.0  # CPU seconds the registry's processes used (0 when not involved)
    phases: dict[str, float] = field(default_factory=dict)  # the client's seconds per phase (uv)

    def cell(self) -> str:
        if not self.ok:
            return f"FAILED after {self.seconds:.1f} s ({self.note})"
        return f"{self.seconds:.1f}"


def _venv(client: str, where: Path) -> Path:
    shutil.rmtree(where, ignore_errors=True)
    if client == "uv":
        command = [str(BIN / "uv"), "venv", "-q", "--python", "python3.11", str(where)]
    else:
        command = ["python3.11", "-m", "venv", str(where)]
    subprocess.run(command, check=True, env=base_env(), timeout=300, capture_output=True)
    return where / "bin" / "python"


# uv's summary lines: "Resolved 47 packages in 155ms", "Prepared 47 packages in 3.78s", ...
_PHASE = re.compile(r"^(Resolved|Prepared|Installed) \d+ packages? in ([\d.]+)(ms|s)$", re.MULTILINE)
PHASES = ("Resolved", "Prepared", "Installed")


def phases_of(output: str) -> dict[str, float]:
    """uv's own seconds per phase: resolving (project pages and metadata: what a registry's page
    path costs), preparing (downloading and unpacking the files), installing (into the venv)."""
    found = _PHASE.findall(output)
    return {name: float(value) / (1000 if unit == "ms" else 1) for name, value, unit in found}


def install(
    client: str, index: str, timeout: float, venvs: Path
) -> tuple[float, bool, str, dict[str, float]]:
    """Seconds for one install of the whole set in a fresh venv under ``venvs``, no client cache,
    and the client's own seconds per phase (uv's; empty for pip)."""
    python = _venv(client, venvs / client)
    if client == "uv":
        command = [str(BIN / "uv"), "pip", "install", "--no-cache", "--python", str(python)]
    else:
        command = [str(python), "-m", "pip", "install", "--no-cache-dir", "-q"]
    command += ["--index-url", index, *static_index.REQUIREMENTS]
    env = {k: v for k, v in base_env().items() if not k.startswith("UV_")}
    env["UV_NO_CONFIG"] = "1"
    os.sync()  # the previous install's writes are not charged to this one
    started = time.monotonic()
    try:
        done = subprocess.run(
            procs.pinned(procs.CLIENT_CORE, command), env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return time.monotonic() - started, False, f"no end within {timeout:.0f} s", {}
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        lines = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()]
        return elapsed, False, (lines[-1] if lines else f"exit {done.returncode}")[:160], {}
    return elapsed, True, "", phases_of(done.stderr) if client == "uv" else {}


def measure(stack: Stack, client: str, mode: str, timeout: float) -> Result:
    where = mode if mode in ("static", "upstream") else "registry"
    time.sleep(stack.rest)
    before, cpu = stack.upstream_requests(), stack.registry_cpu()
    seconds, ok, note, phases = install(client, stack.index(where), timeout, stack.venvs)
    used = stack.registry_cpu() - cpu if where == "registry" else 0.0
    result = Result(seconds, ok, stack.upstream_requests() - before, note, used, phases)
    log(f"{client} {stack.tree.name} {mode}: {result.cell()}, {result.upstream_requests} upstream requests, "
        f"registry CPU {used:.1f} s, RSS {stack.registry_rss():.0f} MiB")  # fmt: skip
    return result


# Each registry mode, after the direct run it is compared with (measured just before it).
PAIRED = (("cold", "upstream"), ("warm", "static"), ("restart", "static"), ("hanging", "static"))


def run_client(stack: Stack, client: str, trees: dict[str, Path], timeout: float) -> dict[str, Round]:
    """One round of every mode for one client, per tree, each tree's ``cold`` on a fresh data
    folder, each registry mode right after its reference run."""
    results: dict[str, Round] = {}
    for label, tree in trees.items():
        stack.use_tree(label, tree)
        found = Round()
        for mode, reference in PAIRED:
            if mode == "cold":
                stack.reset_registry()
            found.add(reference, measure(stack, client, reference, timeout))
            if mode == "hanging":
                stack.start_proxy("hang")
            if mode != "warm":
                stack.start_registry()
            found.add(mode, measure(stack, client, mode, timeout), reference)
        stack.start_proxy("delay")
        results[label] = found
    return results


@dataclass
class Round:
    """One round's runs of one client and tree: every run per mode, and each registry run's
    ratio to the reference run made just before it."""

    runs: dict[str, list[Result]] = field(default_factory=dict)
    ratios: dict[str, float | None] = field(default_factory=dict)

    def ratio(self, mode: str, base: str) -> float | None:
        if dict(PAIRED).get(mode) == base:
            return self.ratios.get(mode)
        if mode in self.ratios and base in self.ratios:
            one, other = self.ratios[mode], self.ratios[base]
            return one / other if one is not None and other is not None else None
        first, second = self.runs[mode][-1], self.runs[base][-1]
        return first.seconds / second.seconds if first.ok and second.ok else None

    def add(self, mode: str, result: Result, reference: str | None = None) -> None:
        self.runs.setdefault(mode, []).append(result)
        if reference is not None:
            before = self.runs[reference][-1]
            ok = result.ok and before.ok
            self.ratios[mode] = result.seconds / before.seconds if ok else None


@dataclass
class Summary:
    """Every round of one client and tree."""

    rounds: list[Round] = field(default_factory=list)

    def runs(self, mode: str) -> list[Result]:
        return [run for found in self.rounds for run in found.runs.get(mode, [])]

    def cell(self, mode: str) -> str:
        runs = self.runs(mode)
        failed = [run for run in runs if not run.ok]
        if failed:
            return f"FAILED {len(failed)} of {len(runs)} ({failed[0].note})"
        seconds = sorted(run.seconds for run in runs)
        spread = f" ({seconds[0]:.1f}-{seconds[-1]:.1f})" if len(seconds) > 1 else ""
        return f"{statistics.median(seconds):.1f}{spread}"

    def upstream_requests(self, mode: str) -> str:
        counts = sorted({run.upstream_requests for run in self.runs(mode)})
        return f"{counts[0]}-{counts[-1]}" if len(counts) > 1 else str(counts[0])

    def cpu(self, mode: str) -> str:
        return f"{statistics.median(run.server_cpu for run in self.runs(mode)):.1f}"

    def phases(self, mode: str) -> str:
        """Median seconds of each client phase, "resolve / prepare / install" ("" without them)."""
        runs = [run.phases for run in self.runs(mode) if all(name in run.phases for name in PHASES)]
        if not runs:
            return ""
        return " / ".join(f"{statistics.median(run[name] for run in runs):.2f}" for name in PHASES)

    def ratio(self, mode: str, base: str) -> tuple[float, float, float] | None:
        """Median, lowest and highest of the rounds' ratios of ``mode`` to ``base``: paired runs
        where ``base`` is the mode's reference; for two registry modes the ratio of their paired
        ratios (each against the reference run just before it); else the last runs of each in
        the round. None when a run failed."""
        values = []
        for found in self.rounds:
            value = found.ratio(mode, base)
            if value is None:
                return None
            values.append(value)
        return (statistics.median(values), min(values), max(values)) if values else None


TARGETS = (
    ("warm", "static", 1.3, "warm within 1.3x the local static mirror"),
    ("restart", "static", 1.3, "warm after a restart within 1.3x the local static mirror"),
    ("warm", "upstream", 1.0, "warm faster than straight from the upstream"),
    ("cold", "upstream", 1.5, "cold within 1.5x straight from the upstream"),
    ("hanging", "warm", 1.5, "a hanging upstream adds at most 50% to a warm install"),
)


def report(results: dict[tuple[str, str], Summary], sizes: dict[str, int], projects: int) -> str:
    """The table (one column per client and tree) and the targets, per client and tree."""
    columns = list(results)
    rounds = max(len(summary.rounds) for summary in results.values())
    lines = [
        f"| install of the set ({projects} projects), fresh venv, no client cache | "
        + " | ".join(f"{client} s ({tree})" for client, tree in columns)
        + " | upstream requests | registry CPU s |",
        "|---" * (3 + len(columns)) + "|",
    ]
    for mode in MODES:
        cells = [results[column].cell(mode) for column in columns]
        counts = " / ".join(results[column].upstream_requests(mode) for column in columns)
        cpu = " / ".join(results[column].cpu(mode) for column in columns) if mode in MODES[2:] else ""
        lines.append(f"| {LABELS[mode]} | " + " | ".join(cells) + f" | {counts} | {cpu} |")
    lines.append("")
    lines.append(
        f"Seconds: median (lowest-highest) of {rounds} round(s); the direct modes are run before each"
        " registry mode, so they have more runs. Registry CPU: median seconds per install, all its"
        " processes."
    )
    lines.append("")
    lines.append("Targets, on the median of each round's ratio (lowest-highest):")
    for mode, base, limit, text in TARGETS:
        shown = []
        for client, tree in columns:
            found = results[(client, tree)].ratio(mode, base)
            if found is None:
                shown.append(f"{client} ({tree}) n/a")
                continue
            middle, low, high = found
            verdict = "ok" if middle <= limit else "MISSED"
            shown.append(f"{client} ({tree}) {middle:.2f}x ({low:.2f}-{high:.2f}) {verdict}")
        lines.append(f"- {text}: " + ", ".join(shown))
    phased = [column for column in columns if any(results[column].phases(mode) for mode in MODES)]
    if phased:
        lines += ["", "The client's own seconds per phase, median: resolve / prepare / install", ""]
        lines.append("| mode | " + " | ".join(f"{client} ({tree})" for client, tree in phased) + " |")
        lines.append("|---" * (1 + len(phased)) + "|")
        for mode in MODES:
            lines.append(f"| {LABELS[mode]} | " + " | ".join(results[c].phases(mode) for c in phased) + " |")
        lines.append("")
        lines.append(
            "Resolving is the project pages and metadata (the registry's page path); preparing is"
            " downloading and unpacking the files; installing is writing them into the venv."
        )
    largest = sorted(sizes.items(), key=lambda item: -item[1])[:3]
    lines.append("")
    lines.append("Largest JSON pages: " + ", ".join(f"{n} {s / 1e6:.1f} MB" for n, s in largest))
    return "\n".join(lines) + "\n"


def run_all(stack: Stack, args: argparse.Namespace, trees: dict[str, Path]) -> dict[tuple[str, str], Summary]:
    """Every round: each client, each tree."""
    results: dict[tuple[str, str], Summary] = {}
    try:
        stack.start_nginx()
        stack.start_proxy("delay")
        for _ in range(args.rounds):  # rounds interleave clients and trees: drift hits all alike
            for client in args.clients:
                for tree, found in run_client(stack, client, trees, args.timeout).items():
                    results.setdefault((client, tree), Summary()).rounds.append(found)
    finally:
        stack.stop()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", nargs="+", choices=("pip", "uv"), default=["uv", "pip"])
    parser.add_argument("--delay", type=float, default=0.04, help="Seconds added per upstream request.")
    parser.add_argument("--timeout", type=float, default=600, help="Longest one install may take.")
    parser.add_argument(
        "--venvs",
        type=Path,
        default=WORK / "venvs",
        help="Where to make the clients' virtualenvs (a tmpfs such as /dev/shm/bench takes the disk out).",
    )
    parser.add_argument(
        "--rest",
        type=float,
        default=0.0,
        help="Seconds of idle before each timed install (a VM that slows down under sustained load).",
    )
    parser.add_argument("--rounds", type=int, default=2, help="Run every mode this often; report medians.")
    parser.add_argument(
        "--tree", action="append", default=[], metavar="LABEL=PATH", help="Also run the registry from PATH."
    )
    args = parser.parse_args(argv)
    procs.install_cleanup()
    if not shutil.which("nginx"):
        raise SystemExit("nginx is missing: run `make bench-proxy` (it installs Debian's nginx)")
    logs = WORK / "logs" / time.strftime("%Y%m%d-%H%M%S")
    logs.mkdir(parents=True)
    log("building the static index (downloads the set once)")
    root, projects = static_index.build(WORK, logs / "download.log")
    trees = {"this": REPO} | {
        label: Path(path).resolve() for label, path in (t.split("=", 1) for t in args.tree)
    }
    results = run_all(Stack(root, logs, args.delay, venvs=args.venvs.resolve(), rest=args.rest), args, trees)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    others = "".join(f"; {label} = {path}" for label, path in trees.items() if label != "this")
    title = f"# Proxy install benchmark, {time.strftime('%Y-%m-%d %H:%M')}"
    text = f"{title} (this = {commit.stdout.strip()}{others})\n\n"
    text += report(results, static_index.page_sizes(root), len(projects))
    RESULTS.mkdir(parents=True, exist_ok=True)
    saved = RESULTS / f"proxy-{time.strftime('%Y%m%d-%H%M%S')}.md"
    saved.write_text(text)
    print(text)
    log(f"saved {saved.relative_to(REPO)}; logs in {logs.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
