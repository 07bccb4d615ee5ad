"""Import a backend class by its config name, only when it is chosen."""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from .errors import ConfigError


def load_backend_class(setting_key: str, backends: Mapping[str, str], name: str) -> type:
    """The class registered as ``name`` in ``backends`` (name -> "module:Class").

    :raises ConfigError: no backend has that name, or its module cannot be imported.
    """
    if name not in backends:
        raise ConfigError(f"{setting_key} = {name!r} is not valid: choose one of {', '.join(backends)}")
    module_name, class_name = backends[name].split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"{setting_key} = {name!r} cannot be loaded: {exc}") from exc
    cls: type = getattr(module, class_name)
    return cls
