# `make demo` and `make test` set themselves up: each creates .venv when it is missing or older
# than pyproject.toml, then runs. Nothing else is needed on a machine with Python 3.11+ and make.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PACKAGES := mavi_core langchain_mavi llamaindex_mavi

.PHONY: demo test lint typecheck pytest lowest newest emulator notebooks bench clean redis

# The test tools are the "dev" dependency group (PEP 735), which pip installs from 25.1 on.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet -e ".[all]" --group dev
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/demo.py

test: $(STAMP) redis lint typecheck pytest lowest newest

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

# The unit tests (no emulator process, no notebooks) in two more environments, each kept in its
# own venv and reused while pyproject.toml is unchanged: the lowest versions the metadata allows
# for our direct dependencies (uv's lowest-direct resolution), and the newest Python here.
UNIT_TESTS := tests/core tests/langchain/unit tests/llamaindex tests/test_strict_options.py \
	tests/test_imports.py -m "not integration" -q
# The newest Python 3 that runs here (a pyenv version not selected globally counts too).
NEWEST_PYTHON ?= $(shell for p in python3.14 python3.13 $$(ls -d $$HOME/.pyenv/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -V | tail -1) $(PYTHON); do $$p -c "import sys; print(sys.executable)" 2>/dev/null && break; done)

.venv-lowest/.installed: pyproject.toml $(STAMP)
	$(BIN)/uv venv --quiet --allow-existing --python $(PYTHON) .venv-lowest
	$(BIN)/uv pip install --quiet --python .venv-lowest/bin/python --resolution lowest-direct \
	  -e ".[all]" --group unit
	touch $@

lowest: .venv-lowest/.installed
	@echo "== unit tests on the lowest versions allowed ($$(.venv-lowest/bin/python -c 'import importlib.metadata as m; print(", ".join(f"{p} {m.version(p)}" for p in ("pydantic", "langchain-core", "llama-index-core", "httpx")))'))"
	.venv-lowest/bin/pytest $(UNIT_TESTS)

.venv-newest/.installed: pyproject.toml $(STAMP)
	$(BIN)/uv venv --quiet --allow-existing --python $(NEWEST_PYTHON) .venv-newest
	$(BIN)/uv pip install --quiet --python .venv-newest/bin/python -e ".[all]" --group unit
	touch $@

newest: .venv-newest/.installed
	@echo "== unit tests on $$(.venv-newest/bin/python --version)"
	.venv-newest/bin/pytest $(UNIT_TESTS)

emulator: $(STAMP)
	$(BIN)/python -m mavi_core.emulator $(ARGS)

bench: $(STAMP) redis
	$(BIN)/python -m benchmarks.run

notebooks: $(STAMP)
	$(BIN)/python notebooks/_execute.py

clean:
	rm -rf $(VENV) .venv-lowest .venv-newest .mypy_cache .pytest_cache .ruff_cache .hypothesis
