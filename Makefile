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

DATASET     ?= synthetic
DATA_PRESET ?= quick
DATA        ?= data/$(DATASET)-$(DATA_PRESET)

.PHONY: help venv test test-slow bench summary data sample-figure clean

help:
	@echo "make test      fast tests (what CI runs)"
	@echo "make test-slow the slow tests too"
	@echo "make bench     time the network's steps per compile mode vs PyTorch -> bench/results/network.json"
	@echo "make summary   layers, output shapes, parameter shapes"
	@echo "make data      build the synthetic dataset ($(DATA)/train.h5, test.h5) when missing"
	@echo "make sample-figure  figures/samples.png: rendered samples with their 2D skeletons"

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

# test.h5 is written after train.h5, so its presence means both are complete
$(DATA)/test.h5: | $(STAMP)
	$(SN) data --preset $(DATA_PRESET) --out $(DATA)

data: $(DATA)/test.h5

figures/samples.png: $(DATA)/test.h5
	@mkdir -p figures
	$(SN) sample-figure --data $(DATA)/train.h5 --out $@

sample-figure: figures/samples.png

clean:
	rm -rf $(VENV) .pytest_cache
