# structnet: every target creates .venv on first use and installs the package into it.
# Main job on the embedded default dataset: `make all`.  Tests: `make test`.

PYTHON  ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
SN      := $(BIN)/python -m structnet

# glibc: keep freed memory mapped (page faults dominate on small VMs; spec/pytensor-notes.md)
export MALLOC_MMAP_MAX_ := 0
export MALLOC_TRIM_THRESHOLD_ := 68719476736
export MALLOC_TOP_PAD_ := 1073741824
export PYTHONUNBUFFERED := 1

.PHONY: help venv test test-slow bench summary clean

help:
	@echo "make test      fast tests (what CI runs)"
	@echo "make test-slow the slow tests too"
	@echo "make bench     time the network's steps per compile mode vs PyTorch -> bench/results/network.json"
	@echo "make summary   layers, output shapes, parameter shapes"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	@touch $(STAMP)

venv: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(SN) bench --out bench/results/network.json

summary: $(STAMP)
	$(SN) summary

clean:
	rm -rf $(VENV) .pytest_cache
