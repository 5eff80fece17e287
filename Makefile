# The two commands of the README: `make run` and `make test`. Both build the virtualenv first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
STAMP := $(VENV)/.installed

.PHONY: run test bench venv clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Stepwise needs $(PYTHON) on PATH (or run: make PYTHON=python3 ...)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/flask --app app db upgrade
	$(BIN)/flask --app app library load
	@echo "Stepwise is running on http://127.0.0.1:$(PORT)  (Ctrl+C stops it)"
	$(BIN)/flask --app app run --host 127.0.0.1 --port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The benchmark (not part of `make test`): SQLite, plus PostgreSQL when DATABASE_URL names one.
bench: $(STAMP)
	@command -v wrk >/dev/null 2>&1 || { echo "== installing Debian's wrk for the benchmark"; \
	  SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq wrk; }
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV)
