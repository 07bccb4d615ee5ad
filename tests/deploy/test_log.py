"""registry.log: Cloud Logging's JSON shape, trace ids, and no secret in any line."""

from __future__ import annotations

import base64
import doctest
import json
import logging
import sys
import time
import uuid

import pytest
import requests
from flask import Flask

import registry.log
import registry.web.caching
from registry.config import load_config
from registry.errors import ConfigError
from registry.log import JsonFormatter, TextFormatter, gunicorn_logger_class, http_request, redact

from .conftest import Registry, upload
from .servers import PROJECT, basic_auth

TRACE = "105445aa7843bc8bf206b12000100000"


@pytest.mark.parametrize("module", [registry.log, registry.web.caching])
def test_doctests(module: object) -> None:
    assert doctest.testmod(module).failed == 0  # type: ignore[arg-type]


def access_record(**headers: str) -> logging.LogRecord:
    """A record as gunicorn's access logger makes it: the atoms dict as args."""
    atoms = {
        "h": "10.0.0.1", "m": "GET", "U": "/simple/x/", "q": "password=hunter2&format=json", "s": "200",
        "B": 512, "a": 'pip/24 "quoted"', "H": "HTTP/1.1", "L": "0.012345", "f": "-",
        "{authorization}i": "Basic c2VjcmV0OnNlY3JldA==",
        "{http_authorization}e": "Basic c2VjcmV0OnNlY3JldA==",
        **{f"{{{k.lower()}}}i": v for k, v in headers.items()},
    }  # fmt: skip
    record = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1, "%(h)s", (), None)
    record.args = atoms
    return record


def test_access_line_has_http_request_and_trace() -> None:
    record = access_record(
        **{"X-Cloud-Trace-Context": f"{TRACE}/42;o=1", "X-Forwarded-For": "203.0.113.9, 10.1.1.1"}
    )
    line = JsonFormatter(PROJECT).format(record)
    entry = json.loads(line)
    assert "\n" not in line
    assert entry["severity"] == "INFO"
    assert entry["message"] == "GET /simple/x/?password=%5BREDACTED%5D&format=json 200"
    assert entry["httpRequest"] == {
        "requestMethod": "GET",
        "requestUrl": "/simple/x/?password=%5BREDACTED%5D&format=json",
        "status": 200,
        "responseSize": "512",
        "userAgent": 'pip/24 "quoted"',
        "remoteIp": "203.0.113.9",
        "protocol": "HTTP/1.1",
        "latency": "0.012345s",
    }
    assert entry["logging.googleapis.com/trace"] == f"projects/{PROJECT}/traces/{TRACE}"
    assert entry["logging.googleapis.com/spanId"] == "42"
    assert entry["logging.googleapis.com/trace_sampled"] is True
    assert "c2VjcmV0" not in line and "hunter2" not in line


def test_no_trace_without_a_project_or_a_valid_header() -> None:
    assert "logging.googleapis.com/trace" not in json.loads(JsonFormatter("").format(access_record()))
    bad = access_record(**{"X-Cloud-Trace-Context": "not-a-trace"})
    assert "logging.googleapis.com/trace" not in json.loads(JsonFormatter(PROJECT).format(bad))


def test_app_line_inside_a_request_carries_the_trace() -> None:
    app = Flask("t")
    record = logging.LogRecord("registry", logging.WARNING, __file__, 1, "token=%s", ("abcdef",), None)
    with app.test_request_context(headers={"X-Cloud-Trace-Context": f"{TRACE}/7;o=0"}):
        entry = json.loads(JsonFormatter(PROJECT).format(record))
    assert entry["severity"] == "WARNING"
    assert entry["message"] == "token=[REDACTED]"
    assert entry["logging.googleapis.com/trace"] == f"projects/{PROJECT}/traces/{TRACE}"
    assert entry["logging.googleapis.com/trace_sampled"] is False


def test_errors_keep_their_stack_trace_in_one_line() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logging.LogRecord("registry", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert entry["severity"] == "ERROR" and "\n" not in line
    assert entry["message"].startswith("failed\nTraceback") and "RuntimeError: boom" in entry["message"]


def test_text_lines_are_scrubbed_too() -> None:
    record = logging.LogRecord("registry", logging.INFO, __file__, 1, "got %s", ("Bearer abcdefgh123",), None)
    assert "abcdefgh123" not in TextFormatter().format(record)
    assert "hunter2" not in TextFormatter().format(access_record())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic [REDACTED]"),
        ("https://alice:pa55@host/simple/", "https://alice:[REDACTED]@host/simple/"),
        ('{"password": "pa55"}', '{"password": "[REDACTED]"}'),
        ("REGISTRY_ADMIN_PASSWORD=pa55 set", "REGISTRY_ADMIN_PASSWORD=[REDACTED] set"),
        ("nothing secret here", "nothing secret here"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_http_request_ignores_headers_it_does_not_name() -> None:
    atoms = access_record(Cookie="__session=abc", Authorization="Basic x").args
    assert isinstance(atoms, dict)
    fields = http_request(atoms)
    assert "abc" not in json.dumps(fields)


def test_log_settings_are_validated() -> None:
    assert load_config(environ={"REGISTRY_LOG_FORMAT": "json"}).settings.log.format == "json"
    assert load_config(environ={}).settings.log.format == "text"
    with pytest.raises(ConfigError, match=r"log\.format"):
        load_config(environ={"REGISTRY_LOG_FORMAT": "xml"})
    with pytest.raises(ConfigError, match=r"unknown setting 'log\.formt'"):
        load_config(environ={"REGISTRY_LOG_FORMT": "json"})


@pytest.mark.parametrize(("kind", "formatter"), [("json", JsonFormatter), ("text", TextFormatter)])
def test_gunicorn_logger_shapes_its_lines_where_gunicorn_sends_them(
    kind: str, formatter: type, monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    from gunicorn.config import Config as GunicornConfig
    from gunicorn.glogging import Logger

    monkeypatch.setenv("REGISTRY_LOG_FORMAT", kind)
    cfg = GunicornConfig()
    cfg.set("accesslog", "-")
    logger_class = gunicorn_logger_class()
    assert issubclass(logger_class, Logger)
    logger = logger_class(cfg)
    handlers = [
        h for h in logger.error_log.handlers + logger.access_log.handlers if getattr(h, "_gunicorn", False)
    ]
    assert len(handlers) == 2
    assert all(isinstance(handler.formatter, formatter) for handler in handlers)


# -- a real server's lines ----------------------------------------------------------------------


def _lines(registry: Registry) -> list[dict[str, object]]:
    return [json.loads(line) for line in registry.server.output().splitlines()]


@pytest.mark.e2e
def test_a_real_request_logs_one_json_line_for_cloud_logging(public_registry: Registry) -> None:
    trace = uuid.uuid4().hex
    answer = requests.get(
        public_registry.url + "/simple/",
        headers={"X-Cloud-Trace-Context": f"{trace}/1;o=1", "User-Agent": "log-test/1.0"},
        timeout=10,
    )
    assert answer.status_code == 200
    wanted = f"projects/{PROJECT}/traces/{trace}"
    deadline = time.monotonic() + 5  # the access line is written just after the answer is sent
    while True:
        lines = _lines(public_registry)  # every line of the server's output is one JSON object
        mine = [line for line in lines if line.get("logging.googleapis.com/trace") == wanted]
        if mine or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert all({"severity", "message", "time"} <= set(line) for line in lines)
    assert len(mine) == 1
    entry = mine[0]
    assert entry["severity"] == "INFO" and entry["message"] == "GET /simple/ 200"
    request = entry["httpRequest"]
    assert isinstance(request, dict)
    assert request["requestMethod"] == "GET" and request["requestUrl"] == "/simple/"
    assert request["status"] == 200 and request["userAgent"] == "log-test/1.0"
    assert request["remoteIp"] == "127.0.0.1" and request["protocol"] == "HTTP/1.1"
    assert str(request["latency"]).endswith("s") and int(str(request["responseSize"])) > 0


@pytest.mark.e2e
def test_no_password_or_authorization_header_is_ever_logged(public_registry: Registry) -> None:
    password = public_registry.users.admin_password
    header = basic_auth("admin", password)
    secret_query = "hunter2-" + uuid.uuid4().hex[:8]
    bearer = "tok-" + uuid.uuid4().hex
    requests.get(public_registry.url + "/simple/", headers={"Authorization": header}, timeout=10)
    requests.get(
        public_registry.url + "/simple/",
        headers={"Authorization": basic_auth("admin", password + "x")},
        timeout=10,
    )
    requests.get(public_registry.url + f"/simple/?password={secret_query}", timeout=10)
    requests.get(public_registry.url + "/simple/", headers={"Authorization": f"Bearer {bearer}"}, timeout=10)
    assert upload(public_registry.url, public_registry.wheel, header).status_code == 200
    text = public_registry.server.output()
    encoded = header.split()[1]
    for secret in (password, encoded, base64.b64encode(password.encode()).decode(), secret_query, bearer):
        assert secret not in text
    assert "authorization" not in text.lower()
