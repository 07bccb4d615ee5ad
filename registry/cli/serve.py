"""``serve``: start the registry with gunicorn (what ``make run`` does)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from .. import serving
from ..config import CONFIG_ENV
from ..core.app import Registry, ensure_admin
from ..errors import RegistryError
from .base import DEFAULT_PORT, cli, config_argument, load_registry


@cli.command()
@config_argument
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=None, help=f"Port (default $PORT or {DEFAULT_PORT}).")
@click.option("--workers", type=int, default=2, show_default=True, help="gunicorn worker processes.")
@click.option("--threads", type=int, default=8, show_default=True, help="Threads per worker.")
def serve(config: str | None, host: str, port: int | None, workers: int, threads: int) -> None:
    """Start the registry with gunicorn (CONFIG or $REGISTRY_CONFIG; none: local defaults)."""
    port = port or int(os.environ.get("PORT", DEFAULT_PORT))
    registry = load_registry(config)
    try:
        registry.stores.storage.check_health()
        generated = ensure_admin(registry.access.store)
    except RegistryError as exc:
        raise click.ClickException(exc.message) from exc
    finally:
        registry.stores.close()  # workers open their own connections after the fork
    _greet(registry, generated, f"http://{host}:{port}/")
    if config:
        os.environ[CONFIG_ENV] = str(Path(config).resolve())
    serving.run(serving.gunicorn_options(f"{host}:{port}", workers, threads))


def _greet(registry: Registry, generated: str | None, base: str) -> None:
    """Say where the index is, how to upload, and how to log in."""
    click.echo(f"Index:  {base}simple/")
    click.echo(f"Upload: twine upload --repository-url {base} -u USER dist/*")
    click.echo(registry.describe_fallback())  # a mode without an upstream URL stopped start-up
    if generated:
        click.echo(f"Log in as 'admin' with password {generated} (shown once).")
    elif registry.config.users:
        click.echo("Log in as a user from the config file's user.<name> lines.")
    else:
        click.echo("Log in as a database user (first start created 'admin').")
