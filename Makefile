# The two commands of the README: `make run` and `make test`. Both create .venv/ when missing
# and install exactly the versions pinned in requirements.lock. `make cli ARGS="…"` runs any other
# command of the command line (installed in .venv/bin, not on the PATH), e.g.
# make cli ARGS="figures show ITA cases_cumulative 2020-06-01".

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run cli test lint typecheck pytest clean-venv

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	@touch $(STAMP)

# The graphql-http audit suite that tests/api/test_graphql_http_audit.py runs with node.
tests/http_audit/node_modules/.installed: tests/http_audit/package.json tests/http_audit/package-lock.json
	npm ci --prefix tests/http_audit --no-audit --no-fund
	@touch $@

# The TypeScript client example that tests/docs/test_client_examples.py runs with node.
examples/typescript/node_modules/.installed: examples/typescript/package.json examples/typescript/package-lock.json
	npm ci --prefix examples/typescript --no-audit --no-fund
	@touch $@

run: $(STAMP)
	$(BIN)/corroborate migrate
	$(BIN)/corroborate demo load
	$(BIN)/corroborate serve

# `corroborate $(ARGS)` from the repository root, so that it finds ./var as `make run` made it
cli: $(STAMP)
	$(BIN)/corroborate $(ARGS)

test: $(STAMP) tests/http_audit/node_modules/.installed examples/typescript/node_modules/.installed lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy .

pytest: $(STAMP)
	$(BIN)/pytest -n 2 --dist loadfile

clean-venv:
	rm -rf $(VENV)
