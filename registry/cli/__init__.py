"""The command line: ``python -m registry COMMAND``, one module per command group.

``serve`` (serve), ``make-config``/``hash-password``/``config-docs`` (settings), ``yank``/
``unyank``/``delete`` (files), ``user``/``group``/``perm``/``token``/``access`` (access),
``rebuild``/``migrate``/``backend-usage`` (data), ``upload-large`` (upload). Each module adds its
commands to the one ``cli`` group defined in ``base``.
"""

from __future__ import annotations

from . import access, data, files, serve, settings, upload  # noqa: F401 - they register commands
from .base import cli

__all__ = ["cli"]
