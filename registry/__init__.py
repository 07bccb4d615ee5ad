"""A private Python package registry: PyPI's upload and simple APIs over pluggable backends."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask

from . import log
from .config import Config, load_config
from .core.app import build

# Form fields other than the file (twine sends the long description as one) and form parts
# (twine sends one per classifier and requirement).
MAX_FORM_MEMORY = 16 * 1024 * 1024
MAX_FORM_PARTS = 10_000
FORM_OVERHEAD = 17 * 1024 * 1024


def create_app(config: Config | Mapping[str, str] | None = None) -> Flask:
    """Build the app. ``config`` is a Config, raw settings overriding file and environment, or
    None for ``$REGISTRY_CONFIG`` + environment. Validates every setting; connects nothing.
    """
    if not isinstance(config, Config):
        config = load_config(overrides=config)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = config.settings.limits.max_file_size + FORM_OVERHEAD
    app.config["MAX_FORM_MEMORY_SIZE"] = MAX_FORM_MEMORY
    app.config["MAX_FORM_PARTS"] = MAX_FORM_PARTS
    app.extensions["registry"] = build(config)
    log.init_app(app)

    from . import web

    web.init_app(app)
    return app
