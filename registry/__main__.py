"""``python -m registry``: see ``registry.cli``."""

from .cli import cli

cli(prog_name="python -m registry")
