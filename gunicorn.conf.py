"""gunicorn settings for Cloud Run (and any container): ``gunicorn -c gunicorn.conf.py main:app``.

The options themselves live in ``registry.serving`` and are shared with ``python -m registry
serve``; this file only says where to listen and how many workers and threads to run. Every
number can be changed by an environment variable without rebuilding the image.

Workers and threads. Python runs one thread of Python code at a time per process, so more
worker processes than vCPUs only add memory and cold-start work: one worker per vCPU
(``WEB_CONCURRENCY``, default 1 for Cloud Run's default of 1 vCPU). Threads cover the waits on
GCS and Firestore (``GUNICORN_THREADS``, default 8). Waiting for slow clients costs no thread:
the worker (``registry.serving.worker``) reads each request before a thread gets it.

Shutdown. Cloud Run sends SIGTERM and kills the container 10 s later. gunicorn treats SIGTERM
as a graceful stop: it closes the listening socket at once and gives requests in flight
``GRACEFUL_TIMEOUT`` seconds (default 8, inside Cloud Run's 10) to finish.
"""

from __future__ import annotations

import os

from registry.serving import env_int, gunicorn_options

# Cloud Run sends traffic to $PORT on every interface of the container: the Dockerfile sets
# HOST=0.0.0.0. Outside a container the default stays on loopback.
globals().update(
    gunicorn_options(
        bind=f"{os.environ.get('HOST', '127.0.0.1')}:{env_int('PORT', 8080)}",
        workers=env_int("WEB_CONCURRENCY", 1),
        threads=env_int("GUNICORN_THREADS", 8),
    )
)
# Only Cloud Run's front end can reach the container port; trust its X-Forwarded-Proto so
# request URLs say https.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "*")
