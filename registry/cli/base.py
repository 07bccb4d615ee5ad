"""The ``cli`` group and what every command module shares: loading the config and the core."""

from __future__ import annotations

import click

from ..config import Config, load_config
from ..core.app import Registry, build
from ..errors import RegistryError

DEFAULT_PORT = 8080

config_argument = click.argument("config", required=False, type=click.Path(dir_okay=False))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """A private Python package registry."""


def load(config_path: str | None) -> Config:
    """The Config from ``config_path`` (or ``$REGISTRY_CONFIG``) and the environment."""
    try:
        return load_config(config_path)
    except RegistryError as exc:
        raise click.ClickException(exc.message) from exc


def load_registry(config_path: str | None) -> Registry:
    """The core objects for a command, built as the app builds them (connects nothing)."""
    try:
        return build(load(config_path))
    except RegistryError as exc:
        raise click.ClickException(exc.message) from exc
