# The README's two commands. Each creates .venv on first use and installs what it needs.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
OUT    ?= build

.PHONY: run test lint clean

run: $(VENV)/.installed
	$(BIN)/kg build --out $(OUT)
	@echo "next: . $(VENV)/bin/activate  (puts kg on this shell's PATH), then: kg query --list"

test: $(VENV)/.installed-test
	$(BIN)/ruff check kg tests benchmarks
	$(BIN)/ruff format --check kg tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest -n auto --dist loadfile

lint: $(VENV)/.installed-test
	$(BIN)/ruff check --fix kg tests benchmarks
	$(BIN)/ruff format kg tests benchmarks

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

clean:
	rm -rf $(OUT) dist .pytest_cache .mypy_cache .ruff_cache
