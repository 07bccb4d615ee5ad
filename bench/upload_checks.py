"""What the upload checks cost per file: ``python bench/upload_checks.py [--rounds N]``.

Builds two realistic files from the Python sources installed next to this interpreter: a
~100 KB wheel (one pure-Python package, as most wheels are) and a ~5 MB sdist (a thousand-odd
source files), then times, in process and without HTTP, each step an upload runs on the bytes:
hashing (``hash_stream``), the lenient inspection that files cached from upstream get
(``inspect_distribution``), and the upload's own (``inspect_upload``: zip framing, member paths
and kinds, polyglots, validated core metadata). The median of ``--rounds`` runs is printed.
Run it with ``PYTHONPATH`` set to another checkout to time that checkout's code on the same files.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import sysconfig
import tarfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

# Appended, not inserted: a PYTHONPATH naming another checkout comes first and is the one timed.
sys.path.append(str(Path(__file__).resolve().parent.parent))

from registry.core import distribution
from registry.core.uploads import hash_stream

FIXED_TIME = (2024, 1, 1, 0, 0, 0)
SDIST_TARGET = 5 * 1024 * 1024
METADATA = "Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\nSummary: bench\nRequires-Python: >=3.9\n"


def _sources(package: str) -> list[Path]:
    root = Path(sysconfig.get_paths()["purelib"]) / package
    return sorted(path for path in root.rglob("*") if path.is_file() and "__pycache__" not in path.parts)


def bench_wheel() -> tuple[str, bytes]:
    """A wheel of the installed ``packaging`` sources (~100 KB)."""
    name = "bench_wheel"
    base = Path(sysconfig.get_paths()["purelib"])
    files = {f"{name}/{path.relative_to(base)}": path.read_bytes() for path in _sources("packaging")}
    info = f"{name}-1.0.dist-info"
    files[f"{info}/METADATA"] = METADATA.format(name=name).encode()
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    files[f"{info}/RECORD"] = "".join(f"{path},,\n" for path in [*files, f"{info}/RECORD"]).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            archive.writestr(zipfile.ZipInfo(path, date_time=FIXED_TIME), data, zipfile.ZIP_DEFLATED)
    return f"{name}-1.0-py3-none-any.whl", buffer.getvalue()


def bench_sdist() -> tuple[str, bytes]:
    """An sdist of installed sources, stopped once it is about 5 MB compressed."""
    name = "bench_sdist"
    base = Path(sysconfig.get_paths()["purelib"])
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo(f"{name}-1.0/PKG-INFO")
        pkg_info = METADATA.format(name=name).encode()
        info.size = len(pkg_info)
        archive.addfile(info, io.BytesIO(pkg_info))
        for package in ("pip", "google", "setuptools", "werkzeug", "urllib3", "flask", "pygments", "mypy"):
            for path in _sources(package):
                if buffer.tell() > SDIST_TARGET:  # compressed bytes written so far
                    break
                data = path.read_bytes()
                info = tarfile.TarInfo(f"{name}-1.0/src/{path.relative_to(base)}")
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    return f"{name}-1.0.tar.gz", buffer.getvalue()


def measure(filename: str, content: bytes, rounds: int) -> dict[str, float]:
    """Median milliseconds per step; the steps take turns in each round, so a busy moment on
    a shared machine weighs on all of them alike."""
    parsed = distribution.parse_filename(filename)
    limit = 10**10
    steps: dict[str, Callable[[], object]] = {
        "hash_stream": lambda: hash_stream(io.BytesIO(content), limit),
        "inspect_distribution": lambda: distribution.inspect_distribution(
            io.BytesIO(content), parsed, len(content), limit
        ),
    }
    strict = getattr(distribution, "inspect_upload", None)
    if strict is not None:
        steps["inspect_upload"] = lambda: strict(io.BytesIO(content), parsed, len(content), limit)
    times: dict[str, list[float]] = {label: [] for label in steps}
    for _ in range(rounds):
        for label, step in steps.items():
            start = time.perf_counter()
            step()
            times[label].append(time.perf_counter() - start)
    return {label: statistics.median(values) * 1000 for label, values in times.items()}


def checks_alone(filename: str, content: bytes, rounds: int) -> float | None:
    """Median milliseconds of the upload-only checks by themselves, on headers already read:
    what ``inspect_upload`` adds, without the decompression both inspections share."""
    try:
        from registry.core import archives, core_metadata, zip_layout
    except ImportError:  # a checkout from before these checks
        return None
    parsed = distribution.parse_filename(filename)
    stream = io.BytesIO(content)
    if filename.endswith(".whl"):
        archive = zipfile.ZipFile(stream)
        raw = archive.read(next(name for name in archive.namelist() if name.endswith(".dist-info/METADATA")))

        def step() -> None:
            zip_layout.check_zip_layout(stream, archive, len(content), "wheel")
            archives.refuse_tar_polyglot(stream, "wheel")
            for info in archive.infolist():
                archives.zip_member_parts(info, "wheel")
            core_metadata.validate(raw, "METADATA")

    else:
        with tarfile.open(fileobj=io.BytesIO(content), mode="r:gz") as tar:
            headers = tar.getmembers()
            extracted = tar.extractfile(headers[0])
            raw = extracted.read() if extracted else b""

        def step() -> None:
            archives.refuse_zip_polyglot(stream)
            tree = archives.SdistTree(parsed.project, parsed.version)
            for member in headers:
                tree.add(member.name, archives.tar_member_kind(member), member.linkname)
            tree.finish()
            tree.check_top_name()
            core_metadata.validate(raw, "PKG-INFO")

    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def members(filename: str, content: bytes) -> int:
    if filename.endswith(".whl"):
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return len(archive.infolist())
    with tarfile.open(fileobj=io.BytesIO(content), mode="r:gz") as archive:
        return len(archive.getmembers())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50, help="runs per step (the median is shown)")
    rounds = parser.parse_args().rounds
    print("| file | size | members | step | median ms |")
    print("| --- | ---: | ---: | --- | ---: |")
    for filename, content in (bench_wheel(), bench_sdist()):
        results = measure(filename, content, rounds)
        alone = checks_alone(filename, content, rounds)
        if alone is not None:
            results["upload-only checks by themselves"] = alone
        size = f"{len(content) / 1024:.0f} KiB"
        for label, value in results.items():
            print(f"| {filename} | {size} | {members(filename, content)} | {label} | {value:.2f} |")


if __name__ == "__main__":
    main()
