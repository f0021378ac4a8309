# `make demo` and `make test` set themselves up: each creates .venv when it is missing or older
# than pyproject.toml, then runs. Nothing else is needed on a machine with Python 3.11+ and make.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PACKAGES := mavi_core langchain_mavi llamaindex_mavi

.PHONY: demo test lint typecheck pytest emulator notebooks bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[all,dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/demo.py

test: $(STAMP) lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy --strict $(PACKAGES) benchmarks

pytest: $(STAMP)
	$(BIN)/pytest

emulator: $(STAMP)
	$(BIN)/python -m mavi_core.emulator $(ARGS)

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

notebooks: $(STAMP)
	$(BIN)/python notebooks/_execute.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
