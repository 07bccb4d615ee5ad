"""``mirror``: pre-seed the store with the files lock files pin, fetched from the upstream."""

from __future__ import annotations

import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import click

from ..config import CONFIG_ENV
from ..core.mirror import Plan, Wanted, selector
from ..errors import RegistryError
from ..lockfiles import Locked, read_lock
from .base import cli, load_registry

NEEDS_UPSTREAM = "mirror needs pypi.fallback = cache and an upstream (pypi.fallback_url or pypi.upstreams)"


@cli.command()
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--platform",
    "platforms",
    multiple=True,
    help="Only wheels for this platform tag (repeatable), e.g. manylinux_2_28_x86_64, win_amd64, "
    "macosx_14_0_arm64; sdists are always kept.",
)
@click.option(
    "--python-version", "pythons", multiple=True, help="Only wheels for this CPython (repeatable), e.g. 3.12."
)
@click.option(
    "--jobs", default=4, show_default=True, type=click.IntRange(1, 32), help="Files fetched at once."
)
@click.option("--config", "config_path", default=None, help=f"Config file (default ${CONFIG_ENV}).")
def mirror(
    files: tuple[Path, ...],
    platforms: tuple[str, ...],
    pythons: tuple[str, ...],
    jobs: int,
    config_path: str | None,
) -> None:
    """Fetch every file FILES pin (requirements.txt, uv.lock, pylock.toml, poetry.lock) from the
    upstream into the store, checking each sha256, with its core-metadata file.

    Files already stored are skipped, so running it again after an interruption resumes. Exits
    with status 1 and a list of what it could not get.
    """
    registry = load_registry(config_path)
    if registry.fallback is None or registry.fallback.mode != "cache":
        raise click.ClickException(NEEDS_UPSTREAM)
    locked = Locked()
    for path in files:
        try:
            found = read_lock(path)
        except RegistryError as exc:
            raise click.ClickException(exc.message) from exc
        locked.pins += found.pins
        locked.skipped += found.skipped
        locked.problems += found.problems
    for skipped in locked.skipped:
        click.echo(f"skipped {skipped}", err=True)
    plan = registry.mirror.plan(locked.pins, selector(platforms, pythons))
    plan.problems[:0] = locked.problems
    click.echo(
        f"{len(locked.pins)} pinned versions: {plan.stored} files already stored, {len(plan.wanted)} to fetch"
    )
    _fetch_all(registry.mirror.fetch, plan, jobs)
    if plan.problems:
        click.echo(f"Could not get {len(plan.problems)}:", err=True)
        for problem in plan.problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(1)
    click.echo("All pinned files are stored.")


def _fetch_all(fetch: Callable[[Wanted], object], plan: Plan, jobs: int) -> None:
    """Fetch the planned files ``jobs`` at a time, with a progress bar; failures go to ``plan``."""
    with (
        ThreadPoolExecutor(jobs) as pool,
        click.progressbar(length=len(plan.wanted), label="Fetching", file=sys.stderr) as bar,
    ):
        futures = {pool.submit(fetch, wanted): wanted for wanted in plan.wanted}
        for future in as_completed(futures):
            wanted: Wanted = futures[future]
            try:
                future.result()
            except RegistryError as exc:
                plan.problems.append(f"{wanted.label}: {exc.message}")
            bar.update(1)
