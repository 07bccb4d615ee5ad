# `make run` starts the registry; `make test` runs ruff, mypy and every test.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8080
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test lint typecheck pytest venv dev-venv node-tools poetry test-services mariadb browser lock bench bench-proxy nginx soak docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The package itself goes in editable (the venv's own setuptools builds it, offline), so
# `python -m registry ...` works from any folder once `make run` has set up .venv.
INSTALL_SELF := $(BIN)/pip install -q --no-build-isolation --no-deps -e .

$(VENV)/.runtime: requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	$(INSTALL_SELF)
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt requirements-aws.txt requirements-azure.txt requirements-sql.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	$(INSTALL_SELF)
	touch $@ $(VENV)/.runtime

# The Firebase CLI (Hosting emulator for tests, Hosting deploy), pinned by package-lock.json.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts
	touch $@

# poetry, for the end-to-end publish tests, in a virtualenv of its own: in the dev one its
# dependencies would fight the pinned test tools'.
POETRY := $(VENV)/poetry/bin/poetry
$(POETRY): | $(BIN)/python
	$(PYTHON) -m venv $(VENV)/poetry
	$(VENV)/poetry/bin/pip install -q poetry==2.5.1

# Services the tests start that the machine image lacks. moto's server (S3 and DynamoDB
# emulator) in a venv of its own: its dependencies would otherwise pin the registry's; a failed
# install leaves no half venv behind. MariaDB from Debian's packages (tests/db_services.py;
# PostgreSQL is on the image). Azurite (Azure Blob) comes with node_modules.
MOTO_VENV := $(HOME)/.cache/moto-venv

$(MOTO_VENV)/bin/moto_server:
	rm -rf $(MOTO_VENV) && $(PYTHON) -m venv $(MOTO_VENV)
	$(MOTO_VENV)/bin/pip install -q 'moto[server]==5.2.5' || { rm -rf $(MOTO_VENV); exit 1; }

# pypicloud 1.3.12 (the import-pypicloud tests run a real one) in a venv of its own: it needs
# Python 3.10 (it calls inspect.getargspec) and SQLAlchemy < 2. The file target runs it once.
PYPICLOUD := $(VENV)/pypicloud/bin/pserve
PY310 ?= $(shell pyenv root 2>/dev/null)/versions/3.10.13/bin/python
$(PYPICLOUD): | $(BIN)/python
	test -x $(PY310) || { echo "pypicloud needs Python 3.10: set PY310=/path/to/python3.10"; exit 1; }
	$(PY310) -m venv $(VENV)/pypicloud
	$(VENV)/pypicloud/bin/pip install -q 'pypicloud[server]==1.3.12' 'SQLAlchemy<2'

mariadb:
	@if ! command -v mariadb-install-db >/dev/null || ! test -x /usr/sbin/mariadbd; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q mariadb-server; fi

test-services: mariadb $(MOTO_VENV)/bin/moto_server $(PYPICLOUD)

# Debian's Chromium and its driver, for the web UI's browser tests (tests/browser); as root, once.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver; }

venv: $(VENV)/.runtime
dev-venv: $(VENV)/.dev
node-tools: node_modules/.installed
poetry: $(POETRY)

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

pytest: dev-venv node-tools poetry test-services browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test: lint typecheck pytest

docs: dev-venv  # the cloud backends' libraries too: their settings are documented
	$(BIN)/python -m registry config-docs > docs/configuration.md

bench: dev-venv
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# The proxy-install benchmark serves its model upstream with Debian's nginx (needs root once).
nginx:
	command -v nginx >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q -o DPkg::Lock::Timeout=600 nginx; }

bench-proxy: dev-venv nginx
	$(BIN)/python bench/proxy_install.py $(BENCH_ARGS)

# Uploads, reads and 200 slow clients at once, 3 minutes per shipped configuration.
soak: dev-venv
	$(BIN)/python bench/soak.py $(SOAK_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache node_modules
