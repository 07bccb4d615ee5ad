"""How gunicorn serves the registry: one set of options for the container and for ``serve``.

``gunicorn.conf.py`` (the container, Cloud Run) and ``python -m registry serve`` (``make run``)
both take their options from ``gunicorn_options``, so the two cannot drift apart; they differ
only in what they are given (address, workers, threads) and in what the container adds for
Cloud Run's front end (``forwarded_allow_ips``).

The worker class is ``registry.serving.worker.BufferingWorker``: gunicorn's thread worker, whose
event loop reads each request before a thread gets it, so that slow clients cannot hold the
threads (``worker``'s docstring; figures in docs/security.md). It needs no other package, keeps
the threads the backends' blocking clients (SQLite, GCS, Firestore's gRPC) are written for, and
leaves everything else to gthread.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ..config import load_config
from ..log import gunicorn_logger_class

WORKER_CLASS = "registry.serving.worker.BufferingWorker"


def env_int(name: str, default: int, environ: Mapping[str, str] = os.environ) -> int:
    """An integer from the environment, or ``default`` when unset or empty."""
    value = environ.get(name, "").strip()
    return int(value) if value else default


def gunicorn_options(
    bind: str, workers: int, threads: int, environ: Mapping[str, str] = os.environ
) -> dict[str, Any]:
    """gunicorn's settings (by their config-file names) for serving ``main:app`` on ``bind``.

    Reads the registry's config (``log.level``, ``log.format``), which validates it before any
    worker starts. ``GRACEFUL_TIMEOUT``, ``GUNICORN_TIMEOUT``, ``GUNICORN_KEEPALIVE`` and
    ``GUNICORN_WORKER_CONNECTIONS`` override the numbers below; ``GUNICORN_HEAD_TIMEOUT`` and
    the other ``framing.Limits`` the worker's reading.

    :raises RegistryError: the registry's config is invalid.
    """
    config = load_config(environ=environ)
    return {
        "bind": bind,
        "worker_class": WORKER_CLASS,
        "workers": workers,
        "threads": threads,
        # Connections a worker holds at once, slow ones included (each costs a socket and at
        # most framing.MAX_HEAD bytes, or its share of Limits.buffer_total).
        "worker_connections": env_int("GUNICORN_WORKER_CONNECTIONS", 1000, environ),
        # The app is loaded in each worker, never in the master: no backend client (gRPC
        # channels in particular) may exist before the fork.
        "preload_app": False,
        # Cloud Run kills a container 10 s after SIGTERM: requests in flight get 8 of them.
        "graceful_timeout": env_int("GRACEFUL_TIMEOUT", 8, environ),
        # Workers heartbeat from their loop, not per request: this only restarts a stuck worker.
        "timeout": env_int("GUNICORN_TIMEOUT", 60, environ),
        # Front ends (Cloud Run's, a LAN proxy) and pip reuse connections between requests.
        "keepalive": env_int("GUNICORN_KEEPALIVE", 5, environ),
        # Access and error lines take registry.log's shape (text, or JSON on Cloud Run);
        # gunicorn still sends errors to stderr and access lines to stdout.
        "logger_class": gunicorn_logger_class(),
        "loglevel": config.settings.log.level,
        "accesslog": "-",
        # No control socket: nothing could reach it in a container, and two servers on one
        # machine (tests) would fight over its default path.
        "control_socket_disable": True,
    }


def run(options: Mapping[str, Any]) -> None:
    """Run gunicorn with ``options`` in this process, serving ``registry.create_app()``."""
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            from .. import create_app

            return create_app()

    Server().run()
