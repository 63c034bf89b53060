# robust_plugin: `make demo` runs the offline backtest demo, `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.robust-installed

.PHONY: install demo test unit bench chaos clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m robust_plugin.tools.demo

test: $(STAMP)
	$(BIN)/python -m pytest

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

chaos: $(STAMP)
	$(BIN)/python -m robust_plugin.tools.chaos $(CHAOS_ARGS)

bench: $(STAMP)
	$(BIN)/python -m robust_plugin.tools.bench
	$(BIN)/python -m robust_plugin.tools.bench_venue

clean:
	rm -rf $(VENV) user_data/data user_data/backtest_results user_data/bench .pytest_cache .hypothesis
