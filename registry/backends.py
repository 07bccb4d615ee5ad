"""Import a backend class by its config name or dotted path, only when it is chosen.

``pypi.storage``, ``pypi.db`` and ``pypi.auth`` name a registered backend (``file``, ``s3`` ...)
or a class of your own by dotted path: ``mypkg.storage:MyStorage`` or, as pypicloud writes it,
``mypkg.storage.MyStorage`` (docs/extending.md). Cloud libraries are optional installs: a
backend whose library is missing stops start-up with the command that installs it.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Mapping
from pathlib import Path

from .errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
#: Top-level module a backend imports -> (the requirements file that pins it, its package).
INSTALLS: dict[str, tuple[str, str]] = {
    "boto3": ("requirements-aws.txt", "boto3"),
    "botocore": ("requirements-aws.txt", "boto3"),
    "s3transfer": ("requirements-aws.txt", "boto3"),
    "azure": ("requirements-azure.txt", "azure-storage-blob"),
}
_DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


def load_backend_class(setting_key: str, backends: Mapping[str, str], name: str, base: type) -> type:
    """The class registered as ``name`` in ``backends`` (name -> "module:Class"), or the class
    ``name`` points to as a dotted path; either way a subclass of ``base``.

    :raises ConfigError: not a registered name nor a dotted path, its module cannot be
        imported (a missing library names the command that installs it), or the class is
        not a ``base``.
    """
    module_name, class_name = _target(setting_key, backends, name)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"{setting_key} = {name!r} cannot be loaded: {exc}{install_hint(exc)}") from exc
    found = getattr(module, class_name, None)
    if not isinstance(found, type) or not issubclass(found, base):
        what = "nothing" if found is None else f"a {type(found).__name__}"
        raise ConfigError(
            f"{setting_key} = {name!r} is not valid: {module_name}.{class_name} is {what}, "
            f"not a subclass of {base.__module__}.{base.__qualname__}"
        )
    return found


def _target(setting_key: str, backends: Mapping[str, str], name: str) -> tuple[str, str]:
    """(module, class) for a registered name, ``module:Class`` or ``module.Class``."""
    if name in backends:
        module_name, _, class_name = backends[name].partition(":")
        return module_name, class_name
    if ":" in name:
        module_name, _, class_name = name.partition(":")
    else:
        module_name, _, class_name = name.rpartition(".")
    if not module_name or not _DOTTED.fullmatch(module_name) or not class_name.isidentifier():
        raise ConfigError(
            f"{setting_key} = {name!r} is not valid: choose one of {', '.join(backends)}, "
            "or name a class of your own as 'package.module:Class'"
        )
    return module_name, class_name


def install_hint(exc: ImportError) -> str:
    """The command that installs a missing backend library, or "" if it is not one of ours:
    this interpreter's pip with the project's pinned requirements file (or, where there is no
    checkout, the package's name).
    """
    top = (exc.name or "").partition(".")[0]
    if top not in INSTALLS:
        return ""
    filename, package = INSTALLS[top]
    requirements = ROOT / filename
    target = f"-r {requirements}" if requirements.is_file() else package  # an image has no checkout
    return f". Install it with: {sys.executable} -m pip install {target}"
