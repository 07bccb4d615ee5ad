"""``serve``: start the registry with gunicorn (what ``make run`` does)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from ..config import CONFIG_ENV
from ..core.app import Registry, ensure_admin
from ..errors import RegistryError
from ..log import gunicorn_logger_class
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
    _run_gunicorn({
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "accesslog": "-",
        "logger_class": gunicorn_logger_class(),  # log.format: text or JSON lines
        "graceful_timeout": 20,
    })  # fmt: skip


def _run_gunicorn(options: dict[str, Any]) -> None:
    """Serve ``create_app()`` with gunicorn and ``options`` (returns when gunicorn stops)."""
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            from .. import create_app

            return create_app()

    Server().run()


def _greet(registry: Registry, generated: str | None, base: str) -> None:
    """Say where the index is, how to upload, and how to log in."""
    click.echo(f"Index:  {base}simple/")
    click.echo(f"Upload: twine upload --repository-url {base} -u USER dist/*")
    if registry.fallback is not None or registry.config.settings.fallback.mode == "none":
        click.echo(registry.describe_fallback())  # a misconfiguration is logged
    if generated:
        click.echo(f"Log in as 'admin' with password {generated} (shown once).")
    elif registry.config.users:
        click.echo("Log in as a user from the config file's user.<name> lines.")
    else:
        click.echo("Log in as a database user (first start created 'admin').")
