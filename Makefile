# refnet: `make run` to try it, `make test` to test it. See README.md.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint bench install browser clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python requirements.txt requirements-dev.txt pyproject.toml
	$(BIN)/pip install --quiet -r requirements.txt -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# Debian's chromium for the browser tests (Playwright cannot download browsers here).
browser:
	@test -x /usr/bin/chromium || { \
	  echo "Installing Debian chromium for the browser tests"; \
	  (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null || \
	  { echo "Could not install chromium: run 'apt-get install -y chromium' as root"; exit 1; }; }

# The web app in the foreground and `refnet worker` (rules and outbox) beside it; Ctrl-C
# stops both.
run: install
	$(BIN)/refnet migrate --noinput
	$(BIN)/refnet demo
	@$(BIN)/refnet worker & worker=$$!; trap 'kill -TERM $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	  $(BIN)/refnet serve --host 127.0.0.1 --port 8000

test: install browser
	$(BIN)/ruff check refnet bench
	$(BIN)/refnet makemigrations --check --dry-run >/dev/null
	$(BIN)/pytest -n 2 -q

test-fast: install
	$(BIN)/pytest -n 2 -q -m "not browser"

lint: install
	$(BIN)/ruff check refnet bench

bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) data staticfiles test-artifacts
