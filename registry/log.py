"""Logs: plain text for people, or one JSON object per line in the shape Cloud Logging reads.

``log.format = json`` (set on Cloud Run) writes each event as one line with ``severity``,
``message``, ``time``, ``httpRequest`` for gunicorn's access lines, and the request's trace
(``logging.googleapis.com/trace``, from ``X-Cloud-Trace-Context``) so Logs Explorer groups a
request's lines under it. The same formatter serves gunicorn's own loggers (through
``gunicorn_logger_class``, set in ``gunicorn.conf.py``) and the app's.

Secrets never reach a line: access lines are built from an explicit list of fields (never the
``Authorization`` header, never the environ), query values whose names look secret are
replaced, and every message is scrubbed of basic/bearer credentials and ``user:password@``
URLs before it is written.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
from collections.abc import Mapping
from typing import Any, BinaryIO
from urllib.parse import parse_qsl, urlencode

from flask import Flask, has_request_context, request

from .config import Config, load_config

#: The environ key where a file download leaves its ``CountingFile`` for the access log.
SENT_FILE = "registry.sent_file"

TRACE_HEADER = "X-Cloud-Trace-Context"
REDACTED = "[REDACTED]"
_TRACE = re.compile(r"^([0-9a-fA-F]{32})(?:/([0-9]{1,20}))?(?:;o=([01]))?")
_SECRET_NAME = r"(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|signature|authorization)"
_SCRUBS = (
    # Authorization header values: "Basic dXNlcjpwYXNz", "Bearer abc.def".
    (re.compile(r"(?i)\b(basic|bearer)(\s+)[A-Za-z0-9._~+/=-]{6,}"), rf"\1\2{REDACTED}"),
    # Credentials in URLs: https://user:password@host/.
    (re.compile(r"(://[^/\s:@]+:)[^@\s/]+@"), rf"\1{REDACTED}@"),
    # name=value and "name": "value" pairs whose name looks secret.
    (
        re.compile(
            rf"(?i)({_SECRET_NAME}[\w-]*)(\"?\s*[:=]\s*\"?)(?!{re.escape(REDACTED)}|basic\b|bearer\b)[^\s\"&,;]+"
        ),
        rf"\1\2{REDACTED}",
    ),
)
# Every scrub above needs one of these substrings (lower-cased) to match anything.
_TRIGGERS = ("basic", "bearer", "@", "pass", "pwd", "secret", "token", "key", "signature", "authorization")
_SEVERITY = {"WARN": "WARNING", "FATAL": "CRITICAL"}


def redact(text: str) -> str:
    """Replace credentials in free text.

    >>> redact("Authorization: Basic dXNlcjpzM2NyZXQ= from https://bob:s3cret@host/?token=abc")
    'Authorization: Basic [REDACTED] from https://bob:[REDACTED]@host/?token=[REDACTED]'
    """
    lowered = text.lower()
    if not any(trigger in lowered for trigger in _TRIGGERS):
        return text  # the common case, on every access line: no regex work
    for pattern, replacement in _SCRUBS:
        text = pattern.sub(replacement, text)
    return text


def redact_query(query: str) -> str:
    """A query string with the values of secret-looking parameters replaced.

    >>> redact_query("format=json&api_key=abc")
    'format=json&api_key=%5BREDACTED%5D'
    """
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True)
    secret = re.compile(rf"(?i){_SECRET_NAME}")
    return urlencode([(name, REDACTED if secret.search(name) else value) for name, value in pairs])


def parse_trace_header(value: str | None) -> tuple[str, str | None, bool] | None:
    """(trace id, span id, sampled) from ``X-Cloud-Trace-Context: TRACE/SPAN;o=1``, or None.

    >>> parse_trace_header("105445aa7843bc8bf206b12000100000/1;o=1")
    ('105445aa7843bc8bf206b12000100000', '1', True)
    """
    match = _TRACE.match(value or "")
    if not match:
        return None
    return match.group(1).lower(), match.group(2), match.group(3) == "1"


def trace_fields(header: str | None, project: str) -> dict[str, Any]:
    """The ``logging.googleapis.com/trace*`` fields for a trace header (empty without a project)."""
    parsed = parse_trace_header(header)
    if parsed is None or not project:
        return {}
    trace_id, span_id, sampled = parsed
    fields: dict[str, Any] = {
        "logging.googleapis.com/trace": f"projects/{project}/traces/{trace_id}",
        "logging.googleapis.com/trace_sampled": sampled,
    }
    if span_id:
        fields["logging.googleapis.com/spanId"] = span_id
    return fields


def _atom(atoms: Mapping[str, Any], key: str) -> str:
    """A gunicorn access-log atom, with gunicorn's quote escaping undone ('-' when absent)."""
    value = atoms.get(key, "-")
    return str(value).replace('\\"', '"') if value is not None else "-"


def http_request(atoms: Mapping[str, Any]) -> dict[str, Any]:
    """Cloud Logging's ``httpRequest`` from gunicorn's access-log atoms (a fixed list of fields)."""
    query = redact_query(_atom(atoms, "q") if _atom(atoms, "q") != "-" else "")
    forwarded = _atom(atoms, "{x-forwarded-for}i")
    entry: dict[str, Any] = {
        "requestMethod": _atom(atoms, "m"),
        "requestUrl": _atom(atoms, "U") + (f"?{query}" if query else ""),
        "status": int(_atom(atoms, "s")) if _atom(atoms, "s").isdigit() else 0,
        "responseSize": _atom(atoms, "B") if _atom(atoms, "B").isdigit() else "0",
        "userAgent": _atom(atoms, "a"),
        "remoteIp": forwarded.split(",")[0].strip() if forwarded != "-" else _atom(atoms, "h"),
        "protocol": _atom(atoms, "H"),
        "latency": f"{_atom(atoms, 'L')}s",
    }
    if (size := _atom(atoms, "{content-length}i")).isdigit():
        entry["requestSize"] = size
    if (referer := _atom(atoms, "f")) != "-":
        entry["referer"] = redact(referer)
    return {key: value for key, value in entry.items() if value != "-"}


def _is_access(record: logging.LogRecord) -> bool:
    return record.name == "gunicorn.access" and isinstance(record.args, Mapping)


class JsonFormatter(logging.Formatter):
    """One JSON object per line, in the structured-logging shape Cloud Logging reads."""

    def __init__(self, project: str = "") -> None:
        super().__init__()
        self.project = project

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "severity": _SEVERITY.get(record.levelname, record.levelname),
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "logger": record.name,
        }
        if _is_access(record):
            atoms: Mapping[str, Any] = record.args  # type: ignore[assignment]
            entry["httpRequest"] = http_request(atoms)
            req = entry["httpRequest"]
            entry["message"] = f"{req['requestMethod']} {req['requestUrl']} {req['status']}"
            trace_header: str | None = _atom(atoms, "{x-cloud-trace-context}i")
        else:
            message = record.getMessage()
            if record.exc_info:
                # Error Reporting picks up a stack trace written in the message.
                message += "\n" + self.formatException(record.exc_info)
            if record.stack_info:
                message += "\n" + self.formatStack(record.stack_info)
            entry["message"] = redact(message)
            trace_header = request.headers.get(TRACE_HEADER) if has_request_context() else None
        entry.update(trace_fields(trace_header, self.project))
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """gunicorn's familiar text lines, scrubbed of credentials."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s [%(process)d] [%(levelname)s] %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if _is_access(record):
            return redact(record.getMessage())
        return redact(super().format(record))


def make_formatter(kind: str = "text", project: str = "") -> logging.Formatter:
    """The formatter for ``log.format`` (``text`` or ``json``)."""
    return JsonFormatter(project) if kind == "json" else TextFormatter()


def project_id(config: Config) -> str:
    return str(config.settings.log.project or os.environ.get("GOOGLE_CLOUD_PROJECT", ""))


class CountingFile:
    """A stored file handed to the WSGI server's file wrapper, counting what went out.

    gunicorn sends such a file with ``socket.sendfile`` and does not count those bytes, so its
    access log said 0 for every download. ``socket.sendfile`` leaves the file's position after
    the last byte it sent (documented, also when it fails), and ``read`` counts the rest.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._start = stream.tell()
        self.sent = 0

    def fileno(self) -> int:
        return self._stream.fileno()

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self.sent += len(data)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        position = self._stream.seek(offset, whence)
        self.sent = max(self.sent, position - self._start)
        return position

    def tell(self) -> int:
        return self._stream.tell()

    def close(self) -> None:
        self._stream.close()


def gunicorn_logger_class() -> type:
    """gunicorn's ``logger_class``: its own Logger, with this module's formatter on every handler.

    gunicorn keeps choosing where lines go (``--error-logfile``, ``--access-logfile``, stderr and
    stdout by default) and its level; only the shape of a line changes. gunicorn is imported
    here, not at module import, so the app itself never loads it.
    """
    from gunicorn.glogging import Logger

    class RegistryLogger(Logger):
        def setup(self, cfg: Any) -> None:
            super().setup(cfg)
            config = load_config()
            formatter = make_formatter(config.settings.log.format, project_id(config))
            for logger in (self.error_log, self.access_log):
                for handler in logger.handlers:
                    if getattr(handler, "_gunicorn", False):  # gunicorn's own, not a host's
                        handler.setFormatter(formatter)

        def access(self, resp: Any, req: Any, environ: Mapping[str, Any], request_time: Any) -> None:
            counted = environ.get(SENT_FILE)
            if counted is not None and not getattr(resp, "sent", 0):
                resp.sent = counted.sent  # bytes gunicorn sent with sendfile, uncounted
            super().access(resp, req, environ, request_time)

    return RegistryLogger


def init_app(app: Flask) -> None:
    """Log through the chosen formatter unless the host (gunicorn, pytest) already set logging up."""
    config: Config = app.extensions["registry"].config
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(make_formatter(config.settings.log.format, project_id(config)))
    root.addHandler(handler)
    root.setLevel(config.settings.log.level.upper())
