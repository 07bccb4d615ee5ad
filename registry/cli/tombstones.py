"""Commands for the upload rules' stored state (docs/uploads.md): ``lift-tombstone`` and
``fill-claims``, on the configured backends directly (the command line acts as an admin)."""

from __future__ import annotations

import click

from ..config import CONFIG_ENV
from ..core import upload_state
from ..errors import RegistryError
from ..names import project_name
from .base import cli, load_registry


@cli.command("lift-tombstone")
@click.argument("project")
@click.argument("filename")
@click.option("--config", "config_path", default=None, help=f"Config file (default ${CONFIG_ENV}).")
def lift_tombstone(project: str, filename: str, config_path: str | None) -> None:
    """Let the filename of a deleted file be uploaded again (its tombstone is removed)."""
    stores = load_registry(config_path).stores
    try:
        said = upload_state.lift(stores.cache, stores.storage, project_name(project), filename)
    except RegistryError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"lifted the tombstone of {filename} ({said})")


@cli.command("fill-claims")
@click.option("--config", "config_path", default=None, help=f"Config file (default ${CONFIG_ENV}).")
def fill_claims(config_path: str | None) -> None:
    """Index every recorded file for the upload rules (done by itself before the first upload)."""
    stores = load_registry(config_path).stores
    try:
        count = upload_state.fill_all(stores.cache)
    except RegistryError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"{count} claims checked")
