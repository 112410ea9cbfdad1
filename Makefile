# The two commands the README starts with. Both create .venv and install what they need.
# Python 3.11 or newer; python3.11 when it is on PATH, else python3.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
LINTED := evalkit tests $(wildcard bench)

.PHONY: demo test format clean browser postgres bench sdk

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { echo "error: evalkit needs Python >= 3.11; set PYTHON=/path/to/python3.11" >&2; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/evalkit run suites/ --target emulator

# System packages the tests need, from Debian, installed only when missing (needs root, as on
# CI). The package lists are refreshed at most once, and only when an install needs it.
APT_INSTALL = DEBIAN_FRONTEND=noninteractive apt-get install -y -qq
define apt_install
$(APT_INSTALL) $(1) 2>/dev/null || { apt-get update -qq && $(APT_INSTALL) $(1); }
endef

# The HTML report's and the view's browser tests drive Debian's chromium through Playwright
# (whose own browser download is not used).
browser:
	@test -x /usr/bin/chromium || { $(call apt_install,chromium); }

# The history tests run a throwaway PostgreSQL 15 cluster (initdb + pg_ctl, tests/pgserver.py).
PG_BIN := /usr/lib/postgresql/15/bin
postgres:
	@test -x $(PG_BIN)/initdb || { $(call apt_install,postgresql); }

# The official Wix JavaScript SDK, pinned, for tests/test_sdk_wire.py (which drives the emulator
# with it) and scripts that read its typings (tests/sdk/). Installed with npm (Node 20) into a
# cache folder that ignores itself, only when missing.
SDK_DIR      := .cache/sdk
SDK_PACKAGES := @wix/sdk@1.21.16 @wix/auto_sdk_forms_interactive-form-sessions@1.0.88
sdk:
	@test -f $(SDK_DIR)/node_modules/@wix/auto_sdk_forms_interactive-form-sessions/package.json \
	  && test -f $(SDK_DIR)/node_modules/@wix/sdk/package.json || { \
	  mkdir -p $(SDK_DIR) && printf '*\n' > .cache/.gitignore && \
	  npm install --prefix $(SDK_DIR) --no-audit --no-fund --loglevel=error $(SDK_PACKAGES); }

test: $(STAMP) browser postgres sdk
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -n 2  # two workers: the machine has two cores

format: $(STAMP)
	$(BIN)/ruff format $(LINTED)
	$(BIN)/ruff check --fix $(LINTED)

# Benchmarks (not tests; minutes, and they want a quiet machine): see docs/benchmarks.md.
BENCHES := overhead latency memory offline peer startup hostile ratelimit simulator
bench: $(STAMP)
	@for b in $(BENCHES); do $(BIN)/python bench/bench_$$b.py || exit 1; done

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
