# `make demo` and `make test` each do all the set-up on a fresh machine, then run.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test bench layers clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@# The network tests make network namespaces with `ip` (iproute2) and draw a terminal with
	@# `script` (bsdutils); install them from Debian if missing (idempotent).
	@command -v ip >/dev/null && command -v script >/dev/null || { \
	  command -v apt-get >/dev/null && { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 bsdutils >/dev/null; } \
	  || echo "note: install iproute2 and bsdutils for the network tests"; }
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
