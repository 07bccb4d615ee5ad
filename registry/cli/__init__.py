"""The command line: ``python -m registry COMMAND``, one module per command group.

``serve`` (serve), ``make-config``/``hash-password``/``config-docs`` (settings), ``yank``/
``unyank``/``delete`` (files), ``user``/``group``/``perm``/``token``/``access`` (access),
``rebuild``/``migrate``/``backend-usage`` (data), ``upload-large`` (upload), ``cooldown``
(cooldown), ``mirror`` (mirror), ``prune`` (prune). Each module adds its
commands to the one ``cli`` group defined in ``base``.
"""

from __future__ import annotations

from . import access, cooldown, data, files, mirror, prune, serve, settings, upload  # noqa: F401 - they register
from .base import cli

__all__ = ["cli"]
