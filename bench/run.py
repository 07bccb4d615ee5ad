"""Benchmark this registry against pypiserver, pypicloud and devpi-server: ``make bench``.

    python bench/run.py                       # full corpus, all four servers (~25 minutes)
    python bench/run.py --quick --only ours   # a small smoke run of this registry alone
    python bench/run.py --only ours --ours-gunicorn "-c gunicorn.conf.py" \\
        --ours-gunicorn "-c /dev/null -w 2 -k sync"   # compare gunicorn settings side by side

Servers are pinned to core 0 and the load generator (wrk, twine) to core 1. Everything runs on
127.0.0.1. The table is printed and saved under ``bench/results/``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import corpus, measure, procs, report  # noqa: E402
from bench.servers import Devpi, Ours, PypiCloud, PypiServer, Server  # noqa: E402

WORK = REPO / "bench" / ".work"
RESULTS = REPO / "bench" / "results"
# What ships (the Dockerfile's command): one gthread worker with 8 threads and the access log.
# bench/README.md says what else was tried. Without -c, gunicorn would read ./gunicorn.conf.py
# anyway; "-c /dev/null" gives a bare gunicorn.
DEFAULT_GUNICORN = "-c gunicorn.conf.py"
PEERS = ("pypiserver", "pypicloud", "devpi")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=("ours", *PEERS), action="append", help="Run only these servers.")
    parser.add_argument("--skip-peers", action="store_true", help="Run only this registry.")
    parser.add_argument("--duration", type=int, default=10, help="Seconds of wrk load per URL (default 10).")
    parser.add_argument(
        "--rounds", type=int, default=2, help="Load each URL this many times per server; keep the best."
    )
    parser.add_argument("--quick", action="store_true", help="A small corpus, for a fast smoke run.")
    parser.add_argument(
        "--ours-gunicorn",
        action="append",
        metavar="ARGS",
        help=f"gunicorn options for this registry (repeat to compare; default {DEFAULT_GUNICORN!r}).",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.duration <= 300:
        parser.error("--duration must be between 1 and 300 seconds")
    if not 1 <= args.rounds <= 10:
        parser.error("--rounds must be between 1 and 10")
    return args


def ensure_wrk() -> None:
    """Install Debian's wrk if it is missing (needs root, as on these machines)."""
    if shutil.which("wrk"):
        return
    measure.log("installing wrk (apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env, timeout=600)
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, env=env, timeout=600)


def servers(args: argparse.Namespace) -> tuple[list[Server], list[Server]]:
    chosen = set(args.only or ("ours", *PEERS))
    if args.skip_peers:
        chosen &= {"ours"}
    configs = args.ours_gunicorn or [DEFAULT_GUNICORN]
    ours: list[Server] = []
    if "ours" in chosen:
        for config in configs:
            label = "registry" if len(configs) == 1 else f"registry {config}"
            ours.append(Ours(WORK, config, label))
    peers: list[Server] = [cls(WORK) for cls in (PypiServer, PypiCloud, Devpi) if cls.key in chosen]
    return ours, peers


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    procs.install_cleanup()
    ensure_wrk()
    spec = corpus.QUICK if args.quick else corpus.FULL
    measure.log(f"building corpus {spec.name} ({spec.file_count} files)")
    files = corpus.build(spec, WORK / "corpus")
    ours, peers = servers(args)
    logs = WORK / "logs" / time.strftime("%Y%m%d-%H%M%S")
    load_before = os.getloadavg()[0]
    sessions = [measure.prepare(server, files, logs) for server in [*ours, *peers]]
    measure.load_all(sessions, args.duration, args.rounds)
    everything = [measure.finish(session) for session in sessions]
    ours_results, peer_results = everything[: len(ours)], everything[len(ours) :]
    load_after = os.getloadavg()[0]
    text = [
        f"# Benchmark, {time.strftime('%Y-%m-%d %H:%M')}\n",
        f"{machine()}. Corpus: {spec.projects} projects x {spec.versions} versions + 1 x "
        f"{spec.big_versions} versions, a wheel and an sdist each ({spec.file_count} files). "
        f"Server on core {procs.SERVER_CORE}, `wrk -t1 -c{measure.WRK_CONNECTIONS} -d{args.duration}s` "
        f"(best of {args.rounds}, servers interleaved) "
        f"and twine on core {procs.CLIENT_CORE}. Load average {load_before:.1f} at the start, "
        f"{load_after:.1f} at the end (other work on the machine makes req/s move; CPU µs/request "
        "much less).\n",
        report.table(ours_results, peer_results, spec.big_versions),
    ]
    if ours_results and peer_results:
        text.append(
            "Targets (first registry column vs the best peer):\n\n"
            + report.targets(ours_results[0], peer_results, spec.big_versions)
        )
    if ours_results:
        text.append("Web UI (first registry column):\n\n" + report.ui_targets(ours_results[0]))
    text.append("Servers:\n\n" + "".join(f"- {r.label} ({r.version}): `{r.command}`\n" for r in everything))
    notes = [
        f"- {r.label}, {key}: {note}\n"
        for r in everything
        for key, note in r.notes.items()
        if "not supported" not in note
    ]
    if any("not supported" in note for r in everything for note in r.notes.values()):
        text.append("n/a: the server does not offer PEP 691 JSON (it answers HTML to that `Accept`).\n")
    if notes:
        text.append("Notes ((!) in the table):\n\n" + "".join(notes))
    output = "\n".join(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    saved = RESULTS / f"{time.strftime('%Y%m%d-%H%M%S')}{'-quick' if args.quick else ''}.md"
    saved.write_text(output)
    print(output)
    measure.log(f"saved {saved.relative_to(REPO)}; server logs in {logs.relative_to(REPO)}")
    return 1 if any("error" in r.notes for r in everything) else 0


if __name__ == "__main__":
    sys.exit(main())
