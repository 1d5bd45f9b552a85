# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CONFIG ?= config.yaml

.PHONY: run test lint typecheck screenshots docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install only when the package description changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

run: $(VENV)/.installed
	$(BIN)/mention-monitor run -c $(CONFIG)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check monitor connectors alerts tests benchmarks
	$(BIN)/ruff format --check monitor connectors alerts tests benchmarks

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/python -m pytest -q

# The README's pictures of the inbox: the browser tests, saving their screenshots in docs/.
screenshots: $(VENV)/.installed-dev
	MENTION_MONITOR_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest -q tests/browser

# docs/config.md and the key tables in docs/sources/ and docs/channels/, from the config models.
docs: $(VENV)/.installed
	$(BIN)/python -m monitor.docs_reference

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
