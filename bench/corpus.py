"""The synthetic corpus every server gets: many small projects and one with many versions.

The files are real wheels and sdists built by the test suite's builders (``tests/distributions``),
so every server parses and accepts them like any upload. A corpus is built once and kept under
``bench/.work/`` with a marker file; a half-built one is thrown away and built again.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from tests.distributions import Dist, write_sdist, write_wheel

# Bump when the files built change, so an old cache is not reused.
CORPUS_FORMAT = 1
_MARKER = ".complete"


@dataclass(frozen=True)
class CorpusSpec:
    """How many projects, versions per project, and versions of the one big project."""

    projects: int
    versions: int
    big_versions: int

    @property
    def name(self) -> str:
        return f"corpus-{self.projects}x{self.versions}+{self.big_versions}-f{CORPUS_FORMAT}"

    @property
    def file_count(self) -> int:
        return 2 * (self.projects * self.versions + self.big_versions)


FULL = CorpusSpec(projects=300, versions=5, big_versions=500)
QUICK = CorpusSpec(projects=20, versions=3, big_versions=50)

BIG_PROJECT = "bench-big"


def project_name(index: int) -> str:
    return f"bench-pkg-{index:03d}"


@dataclass(frozen=True)
class Corpus:
    """A built corpus: its files and the projects the read benchmarks ask for."""

    spec: CorpusSpec
    directory: Path
    files: tuple[Path, ...]

    @property
    def sample_project(self) -> str:
        """A small project from the middle of the index (canonical name)."""
        return project_name(self.spec.projects // 2)

    @property
    def big_project(self) -> str:
        return BIG_PROJECT

    @property
    def sample_wheel(self) -> str:
        """The filename the download benchmark fetches."""
        return self.dists()[self.spec.projects // 2 * self.spec.versions].wheel_name

    def dists(self) -> list[Dist]:
        return dists(self.spec)


def dists(spec: CorpusSpec) -> list[Dist]:
    """Every (project, version) of the corpus, small projects first."""
    found = [
        Dist(
            project_name(index),
            f"1.0.{version}",
            requires=["requests>=2.0", "packaging"],
            requires_python=">=3.9",
            summary=f"Benchmark package {index}",
        )
        for index in range(spec.projects)
        for version in range(spec.versions)
    ]
    found += [
        Dist(BIG_PROJECT, f"{number // 100}.{number % 100}.0", requires_python=">=3.9")
        for number in range(spec.big_versions)
    ]
    return found


def build(spec: CorpusSpec, work: Path) -> Corpus:
    """The corpus under ``work``, built now unless a complete one is already there."""
    directory = work / spec.name
    if not (directory / _MARKER).is_file():
        building = work / (spec.name + ".partial")
        shutil.rmtree(building, ignore_errors=True)
        building.mkdir(parents=True)
        for dist in dists(spec):
            write_wheel(building, dist)
            write_sdist(building, dist)
        (building / _MARKER).write_text(f"{spec.file_count}\n")
        shutil.rmtree(directory, ignore_errors=True)
        building.rename(directory)
    files = tuple(sorted(path for path in directory.iterdir() if not path.name.startswith(".")))
    if len(files) != spec.file_count:
        raise RuntimeError(f"{directory} holds {len(files)} files, expected {spec.file_count}")
    return Corpus(spec, directory, files)
