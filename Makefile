# The two commands a newcomer runs: `make run` and `make test`. Each sets itself up.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run
PIP := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: run test lint typecheck imports unit integration e2e demo bench clean setup chromium

# The interpreter derlink runs on: Python 3.11 (pyproject.toml, requires-python).
PYTHON_OK := import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)

# Running needs derlink and its dependencies; the gate adds the test and lint tools.
$(RUN_STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c "$(PYTHON_OK)" 2>/dev/null || { echo "derlink needs Python 3.11; $(PYTHON) is $$($(PYTHON) -V 2>&1). Run with PYTHON=python3.11 (or the path of a 3.11 interpreter)." >&2; exit 1; }
	@test -x $(BIN)/python || { echo "creating the virtual environment in $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo "installing derlink and what it needs to run into $(VENV) (first time, or after a dependency changed)"
	@$(PIP) install --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
	@$(PIP) install -c constraints.txt -e . 2>&1 | grep -v '^WARNING: Location' || true
	@$(BIN)/python -c "import derlink, dbos, fastapi" || (echo "installation failed" >&2; exit 1)
	@touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP)
	@echo "installing the test and lint tools into $(VENV)"
	@$(PIP) install -c constraints.txt -e '.[dev]' 2>&1 | grep -v '^WARNING: Location' || true
	@$(BIN)/python -c "import pytest, schemathesis, playwright" || (echo "installation failed" >&2; exit 1)
	@touch $(STAMP)

setup: $(STAMP)

## Set up, then run every part, the hub and its workers in one process (embedded defaults).
run: $(RUN_STAMP)
	$(BIN)/derlink up

## Debian's Chromium for the console's browser tests (never a downloaded browser).
chromium:
	@test -x /usr/bin/chromium || { \
	  APT="$$([ "$$(id -u)" = 0 ] || echo sudo) env DEBIAN_FRONTEND=noninteractive apt-get"; \
	  $$APT install -y --no-install-recommends chromium \
	  || { $$APT update && $$APT install -y --no-install-recommends chromium; }; }

## Set up, then run the whole gate: lint, format, types, import boundaries, tests.
test: $(STAMP) chromium
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest -n 2 --dist loadfile --cov --cov-report=term -q --durations=15

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

integration: $(STAMP)
	$(BIN)/pytest -q tests/integration

e2e: $(STAMP)
	$(BIN)/pytest -q tests/e2e

demo: $(RUN_STAMP)
	$(BIN)/derlink demo --customers 20000

clean:
	rm -rf $(VENV) .derlink .pytest_cache .mypy_cache .ruff_cache .coverage
