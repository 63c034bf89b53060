# robust_plugin: `make demo` runs the offline backtest demo, `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.robust-installed

.PHONY: install demo report test lint unit bench chaos clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m robust_plugin.tools.demo

report: $(STAMP)
	@ls user_data/backtest_results/*.zip >/dev/null 2>&1 || $(MAKE) demo
	$(BIN)/robust-plugin report --backtest user_data/backtest_results --datadir user_data/data/binance \
		--out user_data/report.html
	@echo "open user_data/report.html in a browser"

test: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

chaos: $(STAMP)
	$(BIN)/python -m robust_plugin.tools.chaos $(CHAOS_ARGS)

bench: $(STAMP)
	$(BIN)/python -m robust_plugin.tools.bench
	$(BIN)/python -m robust_plugin.tools.bench_venue

clean:
	rm -rf $(VENV) user_data/data user_data/backtest_results user_data/bench .pytest_cache .hypothesis
