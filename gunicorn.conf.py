"""gunicorn settings for Cloud Run (and any container): ``gunicorn -c gunicorn.conf.py main:app``.

Every number can be changed by an environment variable without rebuilding the image.

Workers and threads. Python runs one thread of Python code at a time per process, so more
worker processes than vCPUs only add memory and cold-start work: one worker per vCPU
(``WEB_CONCURRENCY``, default 1 for Cloud Run's default of 1 vCPU). Most of a request's time
is spent waiting on GCS, Firestore or a slow client, and threads cover those waits
(``GUNICORN_THREADS``, default 8). Cloud Run's ``--concurrency`` is set to workers x threads
(8) in cloudbuild.yaml, so a request never queues inside an instance behind busy threads: Cloud
Run starts another instance instead.

Shutdown. Cloud Run sends SIGTERM and kills the container 10 s later. gunicorn treats SIGTERM
as a graceful stop: it closes the listening socket at once and gives requests in flight
``GRACEFUL_TIMEOUT`` seconds (default 8, inside Cloud Run's 10) to finish.
"""

from __future__ import annotations

import os

from registry.config import load_config
from registry.log import gunicorn_logger_class


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


# Cloud Run sends traffic to $PORT on every interface of the container: the Dockerfile sets
# HOST=0.0.0.0. Outside a container the default stays on loopback.
bind = f"{os.environ.get('HOST', '127.0.0.1')}:{_env_int('PORT', 8080)}"
worker_class = "gthread"
workers = _env_int("WEB_CONCURRENCY", 1)
threads = _env_int("GUNICORN_THREADS", 8)
# The app is loaded in each worker, never in the master: no backend client (gRPC channels in
# particular) may exist before the fork. With one worker, preloading would save nothing.
preload_app = False
graceful_timeout = _env_int("GRACEFUL_TIMEOUT", 8)
# gthread workers heartbeat from their main loop, not per request, so this only restarts a
# worker that is truly stuck; a request's own time limit is Cloud Run's --timeout.
timeout = _env_int("GUNICORN_TIMEOUT", 60)
# Connections from Cloud Run's front end are reused between requests.
keepalive = _env_int("GUNICORN_KEEPALIVE", 5)
# Only Cloud Run's front end can reach the container port; trust its X-Forwarded-Proto so
# request URLs say https.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "*")
# Error, access and app lines all take registry.log's shape: text locally, JSON on Cloud Run
# (log.format = json). gunicorn still decides where they go: errors to stderr, access lines to
# stdout, unless --error-logfile/--access-logfile say otherwise. Reading the config here
# validates it before any worker starts.
_config = load_config()
logger_class = gunicorn_logger_class()
loglevel = _config.settings.log.level
accesslog = "-"
# No runtime control socket: nobody can reach it on Cloud Run, the non-root user has no home to
# put it in, and two servers on one machine (tests) would fight over the same default path.
control_socket_disable = True
