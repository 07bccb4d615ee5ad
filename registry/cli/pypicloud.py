"""``import-pypicloud``: move a pypicloud deployment's files and users into this registry."""

from __future__ import annotations

import sys
import time

import click

from ..core.import_pypicloud import import_deployment, plan
from ..core.pypicloud_source import Deployment
from ..core.stores import Stores
from ..errors import RegistryError
from .base import cli, config_argument, load


@cli.command("import-pypicloud")
@click.argument("pypicloud_config", type=click.Path(dir_okay=False, exists=True))
@config_argument
def import_pypicloud_command(pypicloud_config: str, config: str | None) -> None:
    """Import every file, user, group and permission of the pypicloud deployment that
    PYPICLOUD_CONFIG (its ini file) describes into CONFIG's backends (or $REGISTRY_CONFIG's).

    Reads its storage (file, s3, cloudfront, gcs or azure-blob) and, with pypi.db = sql, its cache database;
    writes nothing there. Hashes are verified; pypicloud's upload time, uploader and summary
    are kept. Idempotent and resumable: run it again and it skips what is already here.
    """
    try:
        deployment = Deployment.from_ini(pypicloud_config)
        stores = Stores.from_config(load(config))
    except RegistryError as exc:
        raise click.ClickException(exc.message) from exc
    started = time.monotonic()
    try:
        todo = plan(deployment)
        with click.progressbar(length=len(todo.files), label="Importing", file=sys.stderr) as bar:
            report = import_deployment(deployment, stores, todo, step=bar.update)
    except RegistryError as exc:
        raise click.ClickException(exc.message) from exc
    finally:
        stores.close()
    seconds = time.monotonic() - started
    for name, reason in sorted({**report.skipped, **report.access.skipped}.items()):
        click.echo(f"skipped {name}: {reason}")
    click.echo(f"Imported from pypicloud in {seconds:.1f} s: {report.summary()}")
