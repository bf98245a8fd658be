# Tsunagu developer entry points.
#   make run    install, migrate, seed demo data (first run only), serve (make run PORT=8080)
#   make test   install app + test deps and the test servers' Debian packages, run pytest
#               (extra arguments: make test PYTEST_ARGS="tests/test_x.py -k foo")
# Non-interactive throughout, so CI (CI=true, no stdin, root) runs the same targets.

VENV        := .venv
PYTHON      := $(VENV)/bin/python
PIP         := $(PYTHON) -m pip --disable-pip-version-check
FLASK       := $(VENV)/bin/flask --app wsgi
PYTEST_ARGS ?=
HOST        ?= 127.0.0.1
PORT        ?= 5000

export DEBIAN_FRONTEND := noninteractive
export PIP_NO_INPUT := 1

.PHONY: run test venv install install-dev system-packages

run: install
	$(FLASK) db upgrade
	$(FLASK) seed-demo --if-empty --url http://$(HOST):$(PORT)
	$(FLASK) serve --demo --host $(HOST) --port $(PORT)

test: install-dev system-packages
	$(PYTHON) -m pytest $(PYTEST_ARGS)

venv: $(PYTHON)
install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

$(PYTHON):
	python3 -m venv $(VENV)

# Stamp files: pip only runs again when a requirements file is newer.
$(VENV)/.installed: requirements.txt | $(PYTHON)
	$(PIP) install -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(PYTHON)
	$(PIP) install -q -r requirements.txt -r requirements-dev.txt
	touch $@

# Idempotent and quick when everything is there, so it runs every time.
system-packages:
	bash scripts/ensure-test-system-packages.sh
