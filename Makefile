# Every target sets up its own virtualenv first: a fresh clone needs only Python 3.10+.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: help install chromium test screenshots lint fmt type check demo bench soak unicode clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e . --group dev
	@$(MAKE) --no-print-directory chromium
	@touch $(STAMP)

install: $(STAMP)  ## create .venv with the package and its dev tools

# The browser tests' Chromium: Playwright's own build where the network allows,
# else the distribution's package (which the tests find at /usr/bin/chromium).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
chromium:  ## install the Chromium the browser tests drive
	@timeout 600 $(BIN)/python -m playwright install chromium >/dev/null 2>&1 \
	  && echo "chromium: Playwright's own build" \
	  || [ -x /usr/bin/chromium ] \
	  || $(SUDO) apt-get install -y chromium \
	  || ($(SUDO) apt-get update && $(SUDO) apt-get install -y chromium)
	@[ -x /usr/bin/chromium ] && echo "chromium: /usr/bin/chromium" || true

test: $(STAMP)  ## run the whole test suite against real redis-servers
	$(BIN)/python -m pytest $(PYTEST_ARGS)

screenshots: $(STAMP)  ## retake the README's screenshots (docs/) from the real pages
	REDISLOG_SCREENSHOTS=1 $(BIN)/python -m pytest tests/test_browser.py -k screenshots

lint: $(STAMP)  ## ruff check and format check
	$(BIN)/ruff check redislog tests bench
	$(BIN)/ruff format --check redislog tests bench

fmt: $(STAMP)  ## format the code
	$(BIN)/ruff format redislog tests bench
	$(BIN)/ruff check --fix redislog tests bench

type: $(STAMP)  ## mypy, strict on the package
	$(BIN)/mypy

check: lint type test  ## everything

demo: $(STAMP)  ## log a few records into the embedded Redis and view them
	$(BIN)/python examples/demo.py

# Commands are timed as an installed package runs them: pip compiles a
# package's bytecode when it installs it, an editable install only on import
# (and on every import where PYTHONDONTWRITEBYTECODE is set).
bench: $(STAMP)  ## benchmarks (write path, viewer) against baselines run alongside
	$(BIN)/python -m compileall -q redislog
	$(BIN)/python -m bench

MINUTES ?= 5
soak: $(STAMP)  ## log from several processes for MINUTES while faults hit Redis
	$(BIN)/python -m bench.soak --minutes $(MINUTES)

unicode: $(STAMP)  ## regenerate the table of unsafe code points from this Python's Unicode database
	$(BIN)/python -c 'from redislog import escapes; print(escapes.table_module(), end="")' > redislog/_unicode_table.new
	mv redislog/_unicode_table.new redislog/_unicode_table.py

clean:  ## remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
