# Every target sets itself up: `make test` and `make demo` work from a fresh clone.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# The demo gets its own, smaller environment (the `testing` extra only), inside .venv so that
# `make clean` and .gitignore cover it.
DEMO_VENV  := $(VENV)/demo
DEMO_PY    := $(DEMO_VENV)/bin/python
DEMO_STAMP := $(DEMO_VENV)/.installed
# pytest workers for `make unit`
JOBS   ?= 2

.PHONY: help install test lint typecheck unit demo bench bench-scale docs clean

help:
	@echo "make demo   - run the order-report state machine in moto (no AWS account)"
	@echo "make test   - lint, type-check and run the whole test suite"
	@echo "make bench  - run the benchmarks under bench/ (about 4.5 minutes on 2 cores)"
	@echo "make bench-scale - Distributed Map of 100,000 children, Inline of 10,000 (~5 minutes)"
	@echo "make docs   - refill README/docs code blocks from their snippet files"

# Reinstall whenever the project's metadata changes.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,dev]'
	touch $(STAMP)

install: $(STAMP)

$(DEMO_STAMP): pyproject.toml
	$(PYTHON) -m venv $(DEMO_VENV)
	$(DEMO_PY) -m pip install --quiet -e '.[testing]'
	touch $(DEMO_STAMP)

lint: $(STAMP)
	$(PY) -m ruff check src tests examples tools bench
	$(PY) -m ruff format --check src tests examples tools bench
	$(VENV)/bin/cfn-lint examples/order_report/template.yaml

typecheck: $(STAMP)
	$(PY) -m mypy

# Tests marked `bench` are deselected (pyproject addopts); `make bench` runs them.
unit: $(STAMP)
	$(PY) -m pytest -n $(JOBS)

test: lint typecheck unit

demo: $(DEMO_STAMP)
	$(DEMO_PY) examples/demo.py

# bench/run.py --maps runs bench/maps.py alongside its CPU-time measurements (see bench/README.md);
# the smoke test (`pytest -m bench`) is for changes to bench/ itself.
bench: $(STAMP)
	$(PY) bench/run.py --maps

# Not part of `make bench`: 100,000 child executions and 10,000 Inline iterations, ~5 minutes.
bench-scale: $(STAMP)
	$(PY) bench/scale.py

# Refill the code blocks of README.md and docs/ from the snippet files they name.
docs: $(STAMP)
	$(PY) tools/sync_snippets.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
