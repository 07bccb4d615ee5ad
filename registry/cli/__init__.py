"""The command line: ``python -m registry COMMAND``, one module per command group.

``serve`` (serve), ``make-config``/``hash-password``/``config-docs`` (settings), ``yank``/
``unyank``/``delete`` (files), ``user``/``group``/``perm``/``token``/``access`` (access),
``rebuild``/``migrate``/``backend-usage`` (data), ``upload-large`` (upload), ``cooldown``
(cooldown), ``mirror`` (mirror), ``prune`` (prune), ``import-pypicloud`` (pypicloud),
``lift-tombstone``/``fill-claims`` (tombstones). Each
module adds its commands to the one ``cli`` group defined in ``base``.
"""

from __future__ import annotations

from . import (  # noqa: F401 - they register commands
    access,
    cooldown,
    data,
    files,
    mirror,
    prune,
    pypicloud,
    serve,
    settings,
    tombstones,
    upload,
)
from .base import cli

__all__ = ["cli"]
