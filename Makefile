# structnet: every target creates .venv on first use and installs the package into it.
# Main job on the embedded default dataset: `make all`.  Tests: `make test`.

PYTHON  ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
SN      := $(BIN)/python -m structnet

# glibc: keep freed memory mapped (page faults dominate on small VMs; legacy_notes/machine.md)
export MALLOC_MMAP_MAX_ := 0
export MALLOC_TRIM_THRESHOLD_ := 68719476736
export MALLOC_TOP_PAD_ := 1073741824
export PYTHONUNBUFFERED := 1

DATASET     ?= synthetic
DATA_PRESET ?= quick
# Human3.6M (DATASET=h36m): H36M_ROOT = the release (S1/ ... metadata.xml) or h36m-fetch's tree;
# H36M_EVERY = keep every n-th frame (1 = all, as the paper); H36M_ACTIONS = all or a comma list;
# H36M_NPZ = VideoPose3D's data_3d_h36m.npz, a larger pose set for eval and APF (optional)
H36M_ROOT    ?=
H36M_EVERY   ?= 1
H36M_ACTIONS ?= all
H36M_NPZ     ?=
ifeq ($(filter $(DATASET),synthetic h36m),)
$(error DATASET=$(DATASET): choose synthetic (the default) or h36m)
endif
ifeq ($(DATASET),h36m)
DATA        ?= data/h36m-every$(H36M_EVERY)$(if $(filter all,$(H36M_ACTIONS)),,-$(subst $(comma),_,$(H36M_ACTIONS)))
DATA_CMD     = $(SN) data --dataset h36m --root "$(H36M_ROOT)" --out $(DATA) --every $(H36M_EVERY) \
               --actions $(H36M_ACTIONS) $(if $(H36M_NPZ),--npz "$(H36M_NPZ)")
POSE_SET    ?= $(if $(H36M_NPZ),$(DATA)/poses.h5)
else
DATA        ?= data/$(DATASET)-$(DATA_PRESET)
DATA_CMD     = $(SN) data --preset $(DATA_PRESET) --out $(DATA)
# the pose set of inference: the training sequences at 10 fps, 4x the images' 2.5 (deviations.md 24)
POSE_SET    ?= $(DATA)/poses.h5
POSE_DEP    := $(filter $(DATA)/poses.h5,$(POSE_SET))
endif
comma       := ,
PRESET      ?= quick
RUN         ?= runs/$(if $(filter h36m,$(DATASET)),h36m-)$(PRESET)
SET         ?=

EVAL        := $(RUN)/eval
# name:override pairs; every ablation trains with the preset plus ABLATION_SET and its override
ABLATIONS    ?= 2layer: lam0:lam=0 raw:pose_embedding=raw random1:pose_embedding=random1 1layer:pose_embedding=1layer
ABLATION_SET ?= epochs=1 max_batches=60

.PHONY: help all venv test test-slow bench bench-h36m summary data sample-figure pretrain train eval apf tables figures ablations budget predict activations sweep clean

help:
	@echo "make all       the main job on the embedded default: data, pretrain, train, eval, apf, ablations, figures, tables"
	@echo "make test      fast tests (what CI runs)"
	@echo "make test-slow the slow tests too"
	@echo "make bench     time the network's steps per compile mode vs PyTorch -> bench/results/network.json"
	@echo "make bench-h36m  Human3.6M extraction speed and disk use -> bench/results/h36m_extract.json"
	@echo "make summary   layers, output shapes, parameter shapes"
	@echo "make data      build the dataset ($(DATA)/train.h5, test.h5) when missing: synthetic, or"
	@echo "               DATASET=h36m H36M_ROOT=/path/to/h36m: extract Human3.6M (resumable; see README)"
	@echo "make sample-figure  figures/samples.png: rendered samples with their 2D skeletons"
	@echo "make pretrain  DconvMP-HML pre-training -> $(RUN)/pretrain (resumes if interrupted)"
	@echo "make train     StructNet max-margin training -> $(RUN)/train (resumes if interrupted)"
	@echo "make eval      Max / Avg(A) / Pred / DconvMP-HML on the test set -> $(EVAL)/results.json"
	@echo "make apf       StructNet-Avg(500)-APF, added to $(EVAL)/results.json"
	@echo "make figures   Figure 3 and Figure 4 -> figures/"
	@echo "make tables    tables beside the paper's and the claims -> $(RUN)/tables.md, README results"
	@echo "make ablations lambda = 0 and the Table 3 pose embeddings -> $(RUN)/ablations/"
	@echo "make budget    held-out error against pre-training and training batches -> figures/budget.png (~30 min)"
	@echo "make predict   3D poses and pictures of a few exported test images (or INPUT=your images, folder"
	@echo "               or video) -> $(RUN)/predict/ (poses.json, poses.csv, pictures/, sheet.png)"
	@echo "make activations  mean absolute activation per layer at init and after training -> bench/results/activations.json"
	@echo "make sweep     the pre-training recipe sweep -> bench/results/pretrain_sweep.json"

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

BENCH_MODES ?= NUMBA,CVM,C,JAX
BENCH_STAMP := $(VENV)/.installed-bench
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install -q -e ".[bench]"
	@touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(SN) bench --modes $(BENCH_MODES) --out bench/results/network.json --readme README.md \
	  --notes legacy_notes/speed.md \
	  $(if $(wildcard $(DATA)/train.h5),--feed-data $(DATA)/train.h5)

bench-h36m: $(STAMP)
	$(SN) bench --sections h36m --out bench/results/h36m_extract.json --readme README.md

summary: $(STAMP)
	$(SN) summary

# test.h5 is written after train.h5, so its presence means both are complete
$(DATA)/test.h5: | $(STAMP)
ifeq ($(DATASET),h36m)
	@test -n "$(H36M_ROOT)" || { echo "make data DATASET=h36m needs H36M_ROOT=/path/to/human3.6m (the release or h36m-fetch's tree)"; exit 2; }
endif
	$(DATA_CMD)

data: $(DATA)/test.h5

ifneq ($(POSE_DEP),)
# a synthetic dataset built before its pose set existed gets it here (a new one has it already)
$(POSE_DEP): | $(DATA)/test.h5
	$(SN) data --preset $(DATA_PRESET) --out $(DATA) --splits poses
endif

figures/samples.png: $(DATA)/test.h5
	@mkdir -p figures
	$(SN) sample-figure --data $(DATA)/train.h5 --out $@

sample-figure: figures/samples.png

$(RUN)/pretrain/model.h5: $(DATA)/test.h5
	$(SN) pretrain --preset $(PRESET) --run $(RUN) --resume --set data_dir=$(DATA) $(SET)

pretrain: $(RUN)/pretrain/model.h5

$(RUN)/train/model.h5: $(RUN)/pretrain/model.h5
	$(SN) train --preset $(PRESET) --run $(RUN) --resume --set data_dir=$(DATA) $(SET)

train: $(RUN)/train/model.h5

$(EVAL)/results.json: $(RUN)/train/model.h5 $(POSE_DEP)
	$(SN) eval --run $(RUN)/train --data $(DATA) --out $(EVAL) --pretrained $(RUN)/pretrain/model.h5 \
	  $(if $(POSE_SET),--pose-set $(POSE_SET))

eval: $(EVAL)/results.json

$(EVAL)/apf.done: $(EVAL)/results.json
	$(SN) apf --run $(RUN)/train --data $(DATA) --eval $(EVAL) --A 500 $(if $(POSE_SET),--pose-set $(POSE_SET))
	@touch $@

apf: $(EVAL)/apf.done

figures: $(EVAL)/results.json figures/samples.png
	$(SN) figures --run $(RUN)/train --data $(DATA) --eval $(EVAL) --out figures

# `make all` runs the ablations first; `make tables` alone leaves Table 3 "not run" without them
tables: $(EVAL)/results.json
	$(SN) tables --eval $(EVAL) $(if $(wildcard $(RUN)/ablations),--ablations $(RUN)/ablations) \
	  --embedding $(EVAL)/embedding.json \
	  --out $(RUN)/tables.md --readme README.md

ablations: $(RUN)/pretrain/model.h5
	@for a in $(ABLATIONS); do name=$${a%%:*}; over=$${a#*:}; dir=$(RUN)/ablations/$$name; \
	  if [ ! -f $$dir/eval/results.json ]; then \
	    $(SN) train --preset $(PRESET) --run $(RUN) --out $$dir --resume \
	      --set data_dir=$(DATA) $(ABLATION_SET) $$over $(SET) || exit 1; \
	    $(SN) eval --run $$dir --data $(DATA) --out $$dir/eval || exit 1; \
	  fi; done

# the budget-to-error curve: whole pre-trainings of BUDGET_PRETRAIN batches (each its own
# schedule; epochs of at most 750 batches, the quick world's), one StructNet epoch after each,
# beside the main run's; about 30 min on 2 cores (not part of `make all`)
BUDGET_PRETRAIN ?= 375 750 1500
budget: $(RUN)/train/model.h5
	@for n in $(BUDGET_PRETRAIN); do dir=$(RUN)/budget/p$$n; e=$$(( (n + 749) / 750 )); \
	  if [ ! -f $$dir/train/model.h5 ]; then \
	    $(SN) pretrain --preset $(PRESET) --run $$dir --resume \
	      --set data_dir=$(DATA) pretrain_epochs=$$e max_batches=$$(( n / e )) $(SET) || exit 1; \
	    $(SN) train --preset $(PRESET) --run $$dir --resume --set data_dir=$(DATA) epochs=1 $(SET) || exit 1; \
	  fi; done
	$(SN) budget --runs $(foreach n,$(BUDGET_PRETRAIN),$(RUN)/budget/p$(n)) $(RUN) --out $(RUN)/budget
	@mkdir -p figures && cp $(RUN)/budget/budget.png figures/budget.png && echo "picture: figures/budget.png"

# predict: INPUT = image files, folders or videos; empty: six test images exported as PNG
INPUT       ?=
predict: $(RUN)/train/model.h5
ifeq ($(INPUT),)
	$(SN) export-images --data $(DATA)/test.h5 --out $(RUN)/predict-inputs --n 6
	$(SN) predict --model $(RUN)/train/model.h5 $(RUN)/predict-inputs --out $(RUN)/predict --sheet
	@mkdir -p figures && cp $(RUN)/predict/sheet.png figures/predict.png && echo "picture: figures/predict.png"
else
	$(SN) predict --model $(RUN)/train/model.h5 $(INPUT) --out $(RUN)/predict --sheet
	@echo "picture: $(RUN)/predict/sheet.png"
endif

# activation scale per layer at init and after training (README table)
activations: $(RUN)/train/model.h5
	$(BIN)/python bench/activations.py --run $(RUN) --data $(DATA) --out bench/results/activations.json

# the pre-training recipe sweep (about 5 min a recipe; bench/pretrain_sweep.py)
SWEEP_STEPS ?= 200
sweep: $(DATA)/test.h5
	$(BIN)/python bench/pretrain_sweep.py --data $(DATA) --out bench/results/pretrain_sweep.json --steps $(SWEEP_STEPS) \
	  --recipe "adam-1e-3-detsum:pretrain_warmup=100 pretrain_decay=none det_reduce=sum" \
	  --recipe "adam-1e-3-detmean:pretrain_warmup=100 pretrain_decay=none det_reduce=mean" \
	  --recipe "adam-3e-4-detsum:pretrain_lr=3e-4 pretrain_warmup=100 pretrain_decay=none det_reduce=sum" \
	  --recipe "sgd-0.01-detmean:pretrain_optimizer=sgd pretrain_lr=0.01 pretrain_warmup=0 pretrain_decay=none det_reduce=mean" \
	  --recipe "sgd-1e-3-detmean:pretrain_optimizer=sgd pretrain_lr=1e-3 pretrain_warmup=0 pretrain_decay=none det_reduce=mean" \
	  --recipe "adam-1e-3-detmean-nonoise:pretrain_warmup=100 pretrain_decay=none det_reduce=mean pca_noise=0"

all: data sample-figure pretrain train eval apf ablations figures tables

clean:
	rm -rf $(VENV) .pytest_cache
