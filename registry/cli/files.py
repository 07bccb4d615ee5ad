"""File commands: ``yank``, ``unyank`` and ``delete``, on the configured backends directly."""

from __future__ import annotations

import click

from ..config import CONFIG_ENV
from ..core.manage import COMMAND_LINE
from ..errors import RegistryError
from ..names import project_name
from .base import cli, load_registry


@cli.command()
@click.argument("project")
@click.argument("version", required=False)
@click.option("--file", "filename", default=None, help="Yank one file instead of a release.")
@click.option("--reason", default="", help="Shown to installers (PEP 592).")
@click.option("--config", "config_path", default=None, help=f"Config file (default ${CONFIG_ENV}).")
def yank(
    project: str, version: str | None, filename: str | None, reason: str, config_path: str | None
) -> None:
    """Yank a release (PROJECT VERSION) or one file (PROJECT --file NAME)."""
    _run_yank(project, version, filename, config_path, yanked=True, reason=reason)


@cli.command()
@click.argument("project")
@click.argument("version", required=False)
@click.option("--file", "filename", default=None, help="Unyank one file instead of a release.")
@click.option("--config", "config_path", default=None, help=f"Config file (default ${CONFIG_ENV}).")
def unyank(project: str, version: str | None, filename: str | None, config_path: str | None) -> None:
    """Unyank a release (PROJECT VERSION) or one file (PROJECT --file NAME)."""
    _run_yank(project, version, filename, config_path, yanked=False, reason="")


def _run_yank(
    project: str,
    version: str | None,
    filename: str | None,
    config_path: str | None,
    *,
    yanked: bool,
    reason: str,
) -> None:
    registry = load_registry(config_path)
    try:
        changed = registry.manager.set_yanked(
            COMMAND_LINE,
            project_name(project),
            yanked=yanked,
            version=version,
            filename=filename,
            read_reason=lambda: reason,
        )
    except RegistryError as exc:
        raise click.ClickException(exc.message) from exc
    for record in changed:
        click.echo(f"{'yanked' if yanked else 'unyanked'} {record.filename}")


@cli.command()
@click.argument("project")
@click.argument("filename")
@click.option("--config", "config_path", default=None, help=f"Config file (default ${CONFIG_ENV}).")
def delete(project: str, filename: str, config_path: str | None) -> None:
    """Delete one file of a project (its bytes, metadata file and record)."""
    registry = load_registry(config_path)
    try:
        record = registry.manager.delete_file(COMMAND_LINE, project_name(project), filename)
    except RegistryError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"deleted {record.filename}")
