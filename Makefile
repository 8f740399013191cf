# `make demo` and `make test` work on a fresh machine with only python3 and the package registry.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --disable-pip-version-check -q -c constraints.txt

.PHONY: demo test lint typecheck bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# runtime + maps: what the demo needs
$(VENV)/.base: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) -e ".[maps]"
	touch $@

# everything: tests, linters, benchmarks' peers, Ray, PostgreSQL driver
$(VENV)/.dev: $(VENV)/.base
	$(PIP) -e ".[maps,dev,postgres,ray,bench]"
	touch $@

demo: $(VENV)/.base
	$(BIN)/salesplan demo --out demo-output

lint: $(VENV)/.dev
	$(BIN)/ruff check .

typecheck: $(VENV)/.dev
	$(BIN)/mypy

test: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest -q -n 2 --timeout 600

bench: $(VENV)/.dev
	$(BIN)/salesplan bench routes-bks

clean:
	rm -rf $(VENV) demo-output .pytest_cache .mypy_cache .ruff_cache
