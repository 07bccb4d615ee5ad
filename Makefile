# `make run` starts the registry; `make test` runs ruff, mypy and every test.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8080
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test lint typecheck pytest venv dev-venv node-tools test-services mariadb lock bench docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt requirements-sql.txt requirements-aws.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

# The Firebase CLI (Hosting emulator for tests, Hosting deploy), pinned by package-lock.json.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts
	touch $@

# Databases and emulators the tests start that the machine image lacks (see tests/db_services.py):
# MariaDB from Debian's packages (PostgreSQL is on the image), moto's server in a venv of its own.
MOTO_VENV := $(HOME)/.cache/moto-venv

$(MOTO_VENV)/bin/moto_server:
	rm -rf $(MOTO_VENV) && $(PYTHON) -m venv $(MOTO_VENV)
	$(MOTO_VENV)/bin/pip install -q 'moto[server]==5.2.5' || { rm -rf $(MOTO_VENV); exit 1; }

mariadb:
	@if ! command -v mariadb-install-db >/dev/null || ! test -x /usr/sbin/mariadbd; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q mariadb-server; fi

test-services: mariadb $(MOTO_VENV)/bin/moto_server

venv: $(VENV)/.runtime
dev-venv: $(VENV)/.dev
node-tools: node_modules/.installed

# The container installs requirements.lock: every package, exact version and hash.
lock: dev-venv
	$(BIN)/uv pip compile requirements.txt --generate-hashes --python-version 3.11 \
		--python-platform x86_64-manylinux_2_28 --no-header --index-url https://pypi.org/simple \
		-o requirements.lock

run: venv
	PORT=$(PORT) $(BIN)/python -m registry serve $(CONFIG) --host $${HOST:-127.0.0.1}

LINTED := registry tests scripts main.py gunicorn.conf.py $(wildcard bench)

lint: dev-venv
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

typecheck: dev-venv
	$(BIN)/mypy

pytest: dev-venv node-tools test-services
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test: lint typecheck pytest

docs: venv
	$(BIN)/python -m registry config-docs > docs/configuration.md

bench: dev-venv
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache node_modules
