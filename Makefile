# robust_plugin: `make demo` runs the offline backtest demo, `make test` runs the whole suite,
# `make compat` runs the compatibility tests on the oldest and newest supported freqtrade.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.robust-installed
# The development and CI environment pins one freqtrade (the newest supported release) and, through
# constraints/dev.txt, one ccxt; the plugin itself requires only the supported range (pyproject.toml).
FREQTRADE_VERSION ?= 2026.9
CONSTRAINTS := constraints/dev.txt
# `make compat`: these releases (default: both ends of the range); `make compat ALL=1`: all of them.
VERSIONS ?= 2026.4 2026.9

.PHONY: install demo report test lint unit bench chaos compat clean FORCE

# Rebuilt when pyproject.toml or the constraints change, or when FREQTRADE_VERSION differs from the
# release the stamp records.
$(STAMP): pyproject.toml $(CONSTRAINTS) $(if $(filter $(FREQTRADE_VERSION),$(shell cat $(STAMP) 2>/dev/null)),,FORCE)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) "freqtrade==$(FREQTRADE_VERSION)" -e ".[test]"
	echo "$(FREQTRADE_VERSION)" > $(STAMP)

FORCE:

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
	$(BIN)/python -m pytest -m "not rehearsal" -n 2 --durations=15
	$(BIN)/python -m pytest -m rehearsal

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

# One virtualenv per release under .venv-compat/ (kept; pip's cache is reused); the release of the
# development venv runs there. COMPAT_ARGS=--dev-venv-tested skips the tests `make test` just ran.
compat: $(STAMP)
	$(BIN)/python -m robust_plugin.tools.compat_matrix --python $(PYTHON) \
		$(if $(ALL),--all,--versions $(VERSIONS)) $(COMPAT_ARGS)

clean:
	rm -rf $(VENV) .venv-compat user_data/data user_data/backtest_results user_data/bench .pytest_cache .hypothesis
