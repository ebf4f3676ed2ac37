# Phoenix — every target creates/refreshes the virtualenv in .venv when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CONFIG ?= configs/phoenix.yaml
ARGS ?=
PYTEST_ARGS ?=

.PHONY: help venv accel run test lint typecheck fmt bench clean

help:
	@echo "make run    - set up and run Phoenix against the built-in simulated exchange ($(CONFIG))"
	@echo "make test   - set up and run the full test suite (lint + types + pytest)"
	@echo "make bench  - run every benchmark, print one table, write benchmarks/results.json"
	@echo "make accel  - compile the hot path with mypyc (run, test and bench do it when it is stale)"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Phoenix needs Python >= 3.11, found " + sys.version' 
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

# the mypyc-compiled hot path (src/phoenix/_accel.py): rebuilt only when a compiled module's source changed;
# without a C compiler this warns and Phoenix runs as pure Python (same results, about half the speed)
accel: venv
	$(BIN)/phoenix accel build --if-stale --optional

run: venv accel
	$(BIN)/phoenix run --config $(CONFIG) $(ARGS)

lint: venv
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: venv
	$(BIN)/mypy

test: venv lint typecheck accel
	@echo "coverage gate: the pure core (phoenix.core, phoenix.strategy) must stay >= 90 % of lines"
	@echo "(as pure Python: coverage cannot trace compiled code)"
	PHOENIX_PURE_PYTHON=1 $(BIN)/python -m pytest -q tests/core tests/strategy tests/test_layers.py \
		--cov=phoenix.core --cov=phoenix.strategy --cov-report=term --cov-fail-under=90
	@$(BIN)/phoenix accel status
	@echo "full suite"
	$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 1; fi; exit $$rc

fmt: venv
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

bench: venv accel
	$(BIN)/python benchmarks/run.py

clean:
	-test -x $(BIN)/phoenix && $(BIN)/phoenix accel clean
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
