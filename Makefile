# Two commands: `make run` (devboss + demo data + Redis + portal + worker) and `make test` (the whole suite).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test install bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(BIN)/.installed

run: $(BIN)/.installed
	$(BIN)/python -m devboss.devrun

# PYTEST_ARGS: extra pytest arguments, e.g. `make test PYTEST_ARGS="-k cutout -x"`.
test: $(BIN)/.installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(BIN)/.installed
	$(BIN)/python -m bench.devboss_throughput

clean:
	rm -rf var/ .pytest_cache
