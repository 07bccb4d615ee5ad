"""What the stored-state upload rules cost per upload and per delete, on a Cache backend.

``python bench/upload_state.py [--rounds N] [--set KEY=VALUE ...]`` records N new files on the
Cache the settings name (default: a fresh SQLite file; ``--set pypi.db=sql --set db.url=...``
for another), each twice over: as the registry did before the rules (``add_file``, then
``remove_file``) and as it does now (``upload_state.check`` reads the claims, ``add_file``
takes them; the delete releases them and writes the tombstone). It prints the median
milliseconds of each, and, on backends that count billed operations (Firestore, DynamoDB), the
reads and writes per operation. ``tests/contract/test_upload_state_cost.py`` runs ``measure``
on every backend of the contract suite (``-s`` prints the table). Nothing here uses HTTP; the
Storage tombstone object (one small create-only write per delete) is not included.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent.parent))

from packaging.utils import NormalizedName

from registry.cache import Cache, cache_from_config
from registry.config import load_config
from registry.core import upload_state
from registry.models import FileRecord

COLUMNS = ("upload ms", "upload reads", "upload writes", "delete ms", "delete reads", "delete writes")


def _record(tag: str, n: int) -> FileRecord:
    """The n-th file: a new project every tenth file (its first file also claims the name)."""
    project = f"bench-{tag}-{n // 10}"
    filename = f"{project.replace('-', '_')}-1.{n % 10}.tar.gz"
    sha256 = hashlib.sha256(f"{tag}{n}".encode()).hexdigest()
    version = f"1.{n % 10}"
    return FileRecord(NormalizedName(project), version, filename, "sdist", size=1000, sha256=sha256)


def _usage(cache: Cache) -> tuple[int, int]:
    return int(getattr(cache, "reads", 0)), int(getattr(cache, "writes", 0))


def _timed(cache: Cache, action: Callable[[], object]) -> tuple[float, int, int]:
    reads, writes = _usage(cache)
    start = time.perf_counter()
    action()
    elapsed = (time.perf_counter() - start) * 1000
    after = _usage(cache)
    return elapsed, after[0] - reads, after[1] - writes


def _upload(cache: Cache, record: FileRecord, rules: bool) -> None:
    if rules:
        cache.add_file(record, upload_state.check(cache, record))
    else:
        cache.add_file(record)


def _delete(cache: Cache, record: FileRecord, rules: bool) -> None:
    if rules:
        cache.remove_file(
            record.project,
            record.filename,
            upload_state.released_by(record),
            [upload_state.tombstone(record)],
        )
    else:
        cache.remove_file(record.project, record.filename)


def measure(cache: Cache, rounds: int, tag: str = "") -> dict[str, dict[str, float]]:
    """Medians per column (``COLUMNS``) for "before" (no rules) and "rules", taking turns:
    every file is uploaded, then every file deleted."""
    modes = ("before", "rules")
    samples: dict[str, dict[str, list[float]]] = {mode: {c: [] for c in COLUMNS} for mode in modes}
    records = {mode: [_record(f"{tag}{mode}", n) for n in range(rounds)] for mode in modes}
    actions: tuple[tuple[str, Callable[[Cache, FileRecord, bool], None]], ...] = (
        ("upload", _upload),
        ("delete", _delete),
    )
    for prefix, action in actions:
        for n in range(rounds):
            for mode in modes:
                sample = _timed(cache, partial(action, cache, records[mode][n], mode == "rules"))
                for suffix, value in zip(("ms", "reads", "writes"), sample, strict=True):
                    samples[mode][f"{prefix} {suffix}"].append(value)
    return {mode: {c: statistics.median(v) for c, v in columns.items()} for mode, columns in samples.items()}


def table(results: dict[str, dict[str, dict[str, float]]]) -> str:
    """A markdown table: one row per backend and mode."""
    lines = ["| backend | mode | " + " | ".join(COLUMNS) + " |", "| --- | --- |" + " ---: |" * len(COLUMNS)]
    for backend, modes in results.items():
        for mode, values in modes.items():
            cells = " | ".join(
                f"{values[c]:.2f}" if c.endswith("ms") else f"{values[c]:.0f}" for c in COLUMNS
            )
            lines.append(f"| {backend} | {mode} | {cells} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rounds", type=int, default=200, help="files recorded per mode (the median is shown)"
    )
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a Cache setting")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = {"pypi.db": "sqlite", "db.path": str(Path(tmp) / "bench.sqlite3")}
        settings.update(item.split("=", 1) for item in options.set)
        cache = cache_from_config(load_config(environ={}, overrides=settings))
        try:
            print(table({settings["pypi.db"]: measure(cache, options.rounds)}))
        finally:
            cache.close()


if __name__ == "__main__":
    main()
