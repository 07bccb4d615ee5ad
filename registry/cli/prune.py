"""``prune``: delete cached upstream files (and, when asked, uploaded pre-releases) by rules;
a dry run unless ``--apply``."""

from __future__ import annotations

import sys

import click

from ..config import CONFIG_ENV
from ..config.parsers import parse_size
from ..core.prune import Rules
from ..errors import RegistryError
from .base import cli, load_registry

_days = click.IntRange(0)


def _size(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return parse_size(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--max-size") from None


@cli.command()
@click.option("--unused-days", type=_days, help="Cached files not downloaded for this many days.")
@click.option(
    "--keep-versions", type=click.IntRange(1), help="Cached files beyond each project's newest N versions."
)
@click.option(
    "--max-size", help="Then the least recently used cached files while all of them are over this (50GB)."
)
@click.option(
    "--prereleases-older-than",
    "prerelease_days",
    type=_days,
    help="Also uploaded pre-/dev releases older than this many days.",
)
@click.option("--apply", is_flag=True, help="Delete them (without it: only show what would go).")
@click.option("--config", "config_path", default=None, help=f"Config file (default ${CONFIG_ENV}).")
def prune(
    unused_days: int | None,
    keep_versions: int | None,
    max_size: str | None,
    prerelease_days: int | None,
    apply: bool,
    config_path: str | None,
) -> None:
    """Delete stored files by retention rules: a dry run that lists them unless --apply."""
    rules = Rules(unused_days, keep_versions, _size(max_size), prerelease_days)
    if rules == Rules():
        raise click.UsageError("Choose at least one rule (--unused-days, --keep-versions, --max-size, ...)")
    registry = load_registry(config_path)
    try:
        plan = registry.pruner.plan(rules)
    except RegistryError as exc:
        raise click.ClickException(exc.message) from exc
    for item in plan.doomed:
        click.echo(f"{item.record.project}\t{item.record.filename}\t{item.record.size}\t{item.reason}")
    unknown = sum(map(len, plan.unknown.values()))
    if unknown:
        click.echo(
            f"{unknown} cached files have no recorded use yet: kept, and judged from today on with --apply"
        )
    summary = f"{len(plan.doomed)} files, {plan.bytes} bytes ({plan.bytes / 1e6:.1f} MB)"
    if not apply:
        click.echo(f"Dry run: {summary} would be freed. Add --apply to delete them.")
        return
    with click.progressbar(length=len(plan.doomed), label="Deleting", file=sys.stderr) as bar:
        failed = registry.pruner.apply(plan, lambda _item: bar.update(1))
    click.echo(f"Deleted {len(plan.doomed) - len(failed)} of {summary}.")
    if failed:
        click.echo("Could not delete:\n  " + "\n  ".join(failed), err=True)
        raise SystemExit(1)
