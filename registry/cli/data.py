"""Data commands: ``rebuild`` (the Cache from Storage) and ``migrate`` (between configurations).

Registered onto the ``cli`` group when ``registry.cli`` imports this module.
"""

from __future__ import annotations

import sys
from typing import TextIO

import click

from ..config import Config, load_config
from ..core.migrate import migrate, plan
from ..core.rebuild import rebuild
from ..core.stores import Stores
from ..errors import RegistryError
from .base import cli, config_argument, load


def _stderr() -> TextIO:
    """Progress goes to stderr, so stdout carries only the report."""
    return sys.stderr


@cli.command("rebuild")
@config_argument
def rebuild_command(config: str | None) -> None:
    """Rebuild the metadata store from the files in storage (safe on a live registry).

    Adds missing records, corrects ones that differ from storage, removes those whose file is
    gone, and lists stray objects it cannot index. Nothing in storage is deleted.
    """
    stores = _stores(load(config))
    try:
        keys = list(stores.storage.list_keys())
        with click.progressbar(length=len(keys), label="Rebuilding", file=_stderr()) as bar:
            report = rebuild(stores, keys, step=bar.update)
    except RegistryError as exc:
        raise click.ClickException(exc.message) from exc
    finally:
        stores.close()
    for key, reason in sorted(report.strays.items()):
        click.echo(f"stray: {key}: {reason}")
    click.echo(f"Rebuilt: {report.summary()}")


def _stores(config: Config, label: str = "") -> Stores:
    try:
        return Stores.from_config(config)
    except RegistryError as exc:
        raise click.ClickException(f"{label}{exc.message}") from exc


def _file_stores(path: str) -> Stores:
    """The backends of a config file alone: REGISTRY_* variables would apply to both sides."""
    try:
        config = load_config(path, environ={})
    except RegistryError as exc:
        raise click.ClickException(f"{path}: {exc.message}") from exc
    return _stores(config, f"{path}: ")


@cli.command("migrate")
@click.argument("source", type=click.Path(dir_okay=False, exists=True))
@click.argument("target", type=click.Path(dir_okay=False, exists=True))
def migrate_command(source: str, target: str) -> None:
    """Copy every file, record and database user from SOURCE's backends to TARGET's.

    SOURCE and TARGET are config files (REGISTRY_* variables are ignored here). Idempotent and
    resumable: what TARGET already has is skipped, so run it again after an interruption.
    """
    source_stores, target_stores = _file_stores(source), _file_stores(target)
    try:
        todo = plan(source_stores)
        with click.progressbar(length=todo.total, label="Copying", file=_stderr()) as bar:
            report = migrate(source_stores, target_stores, todo, step=bar.update)
    except RegistryError as exc:
        raise click.ClickException(exc.message) from exc
    finally:
        source_stores.cache.close()
        target_stores.cache.close()
    for key in report.missing_files:
        click.echo(f"skipped record without a file in the source: {key}")
    click.echo(f"Migrated: {report.summary()}")


@cli.command("backend-usage")
@config_argument
@click.option("--allow-writes", is_flag=True, help="Confirm: it adds and removes a throwaway project.")
@click.option("--files", default=20, show_default=True, help="Files the throwaway project starts with.")
def backend_usage_command(config: str | None, allow_writes: bool, files: int) -> None:
    """Print document reads and writes per request type (Firestore; for the benchmark).

    Runs one request of each type in-process on CONFIG's backends, with a throwaway project it
    removes afterwards: point it at an emulator or a scratch database.
    """
    from ..usage import measure_usage, usage_table

    if not allow_writes:
        raise click.ClickException(
            "this writes a throwaway project to the configured backends: pass --allow-writes"
        )
    try:
        results = measure_usage(load(config), existing_files=files)
    except RegistryError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(usage_table(results), nl=False)
