"""``cooldown``: release upstream files early from the release cooldown, and undo that."""

from __future__ import annotations

import click

from ..config import CONFIG_ENV
from ..core.manage import COMMAND_LINE
from ..errors import RegistryError
from ..models import format_time
from ..names import project_name
from .base import cli, load_registry

_config = click.option("--config", "config_path", default=None, help=f"Config file (default ${CONFIG_ENV}).")
_file = click.option("--file", "filename", default=None, help="One file instead of a whole version.")


@cli.group()
def cooldown() -> None:
    """The release cooldown (pypi.fallback_min_age): early releases by an admin."""


@cooldown.command("release")
@click.argument("project")
@click.argument("version", required=False)
@_file
@_config
def release(project: str, version: str | None, filename: str | None, config_path: str | None) -> None:
    """Serve PROJECT VERSION (or PROJECT --file NAME) now, however young upstream."""
    registry = load_registry(config_path)
    try:
        done = registry.cooldown.release(COMMAND_LINE, project_name(project), version, filename)
    except RegistryError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"released {done.project} {done.version or done.filename} (within auth.refresh_seconds)")


@cooldown.command("revoke")
@click.argument("project")
@click.argument("version", required=False)
@_file
@_config
def revoke(project: str, version: str | None, filename: str | None, config_path: str | None) -> None:
    """Undo an early release (files cached meanwhile stay)."""
    registry = load_registry(config_path)
    try:
        existed = registry.cooldown.revoke(COMMAND_LINE, project_name(project), version, filename)
    except RegistryError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo("revoked" if existed else "there was no such release")


@cooldown.command("list")
@click.argument("project")
@_config
def list_releases(project: str, config_path: str | None) -> None:
    """The early releases of PROJECT."""
    registry = load_registry(config_path)
    try:
        releases = registry.cooldown.releases(COMMAND_LINE, project_name(project))
    except RegistryError as exc:
        raise click.ClickException(exc.message) from exc
    for item in releases:
        when = format_time(item.at) if item.at else "?"
        click.echo(f"{item.version or item.filename}\treleased by {item.by} at {when}")
