# `make demo` and `make test` each do all the set-up on a fresh machine, then run.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test bench layers clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

demo: setup
	$(BIN)/commune demo

test: setup
	$(PYTHON) ../shared/tools/check_layers.py . || { [ ! -f ../shared/tools/check_layers.py ] && echo "layer check skipped: ../shared not beside this checkout"; }
	$(BIN)/python -m pytest -n 2 --dist loadgroup

bench: setup
	$(BIN)/python bench/ingest.py --entries 200000

layers:
	$(PYTHON) ../shared/tools/check_layers.py .

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build src/*.egg-info
