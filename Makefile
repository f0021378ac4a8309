# `make demo` and `make test` set themselves up: each creates .venv when it is missing or older
# than pyproject.toml, then runs. Nothing else is needed on a machine with Python 3.11+ and make.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PACKAGES := mavi_core langchain_mavi llamaindex_mavi

.PHONY: demo test lint typecheck pytest emulator notebooks bench clean redis

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[all,dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/demo.py

test: $(STAMP) redis lint typecheck pytest

# The shared-budget tests and `make bench` start a real redis-server on loopback. Installed here
# when missing and we are root (CI); otherwise those tests are skipped, and fail when CI=true.
redis:
	@command -v redis-server >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing redis-server (apt-get)"; \
	    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
	  else \
	    echo "redis-server not found: the Redis tests will be skipped (apt-get install redis-server)"; \
	  fi; }

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy --strict $(PACKAGES) benchmarks

pytest: $(STAMP)
	$(BIN)/pytest

emulator: $(STAMP)
	$(BIN)/python -m mavi_core.emulator $(ARGS)

bench: $(STAMP) redis
	$(BIN)/python -m benchmarks.run

notebooks: $(STAMP)
	$(BIN)/python notebooks/_execute.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
