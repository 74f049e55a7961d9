# The two commands a newcomer runs: `make run` and `make test`. Each sets itself up.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIP := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: run test lint typecheck imports unit integration e2e demo bench clean setup chromium

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(PIP) install --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
	@$(PIP) install -c constraints.txt -e '.[dev]' 2>&1 | grep -v '^WARNING: Location' || true
	@$(BIN)/python -c "import derlink, dbos, fastapi" || (echo "installation failed" >&2; exit 1)
	@touch $(STAMP)

setup: $(STAMP)

## Set up, then run every part, the hub and its workers in one process (embedded defaults).
run: $(STAMP)
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
	$(BIN)/pytest --cov --cov-report=term -q --durations=15

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

integration: $(STAMP)
	$(BIN)/pytest -q tests/integration

e2e: $(STAMP)
	$(BIN)/pytest -q tests/e2e

demo: $(STAMP)
	$(BIN)/derlink demo --customers 20000

clean:
	rm -rf $(VENV) .derlink .pytest_cache .mypy_cache .ruff_cache .coverage
