# Every target sets itself up: `make test` and `make demo` work from a fresh clone.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: help install test lint typecheck unit demo bench docs clean

help:
	@echo "make demo   - run the order-report state machine in moto (no AWS account)"
	@echo "make test   - lint, type-check and run the whole test suite"
	@echo "make bench  - run the benchmarks under bench/"

# Reinstall whenever the project's metadata changes.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,dev]'
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(PY) -m ruff check src tests examples tools bench
	$(PY) -m ruff format --check src tests examples tools bench
	$(VENV)/bin/cfn-lint examples/order_report/template.yaml

typecheck: $(STAMP)
	$(PY) -m mypy

unit: $(STAMP)
	$(PY) -m pytest

test: lint typecheck unit

demo: $(STAMP)
	$(PY) examples/demo.py

bench: $(STAMP)
	$(PY) bench/run.py

# Refill the code blocks of README.md and docs/ from the snippet files they name.
docs: $(STAMP)
	$(PY) tools/sync_snippets.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
