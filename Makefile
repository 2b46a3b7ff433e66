# make demo  — the whole pipeline on the embedded toy world (offline, CPU)
# make test  — the default test suite (slow end-to-end runs excluded: make test-slow)
# Both set up what is missing first: a virtualenv in .venv, torch, and this project.

VENV       ?= .venv
PY         := $(VENV)/bin/python
# On machines without a GPU the 2.13 CPU build; pass TORCH_INDEX=<wheel index URL> to pick another build.
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?=
RECIPES    ?= recipes/toy
RUN_DIR    ?= runs/toy
SWEEP_DIR  ?= runs/toy_sweep

.PHONY: setup demo sweep test test-slow validate-verifiers clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@command -v python3 >/dev/null || { echo "python3 (>= 3.10) is needed"; exit 1; }
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q "$(TORCH_SPEC)" $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PY) -m pip install -q -e ".[test]"
	touch $@

demo: setup
	scripts/run_pipeline.sh $(RECIPES) $(RUN_DIR)

# Stage 3 for every mix in $(RECIPES)/mixes (MIXES=... picks some) x SEEDS (default 0 1) from the
# demo's stage-2 checkpoint (made first if missing), each evaluated; table and Pareto plots in $(SWEEP_DIR).
sweep: setup
	scripts/base.sh $(RECIPES) $(RUN_DIR)/base
	scripts/stage1.sh $(RECIPES) $(RUN_DIR)/base $(RUN_DIR)/stage1_cold_start
	scripts/stage2.sh $(RECIPES) $(RUN_DIR)/stage1_cold_start $(RUN_DIR)/stage2_reasoning_rl
	scripts/sweep_mixes.sh $(RECIPES) $(RUN_DIR)/stage2_reasoning_rl $(SWEEP_DIR)

test: setup
	$(PY) -m pytest -q

test-slow: setup
	$(PY) -m pytest -q -m slow

# The verifiers on the real evaluation sets beside the project; writes results/verifiers.{md,json}.
validate-verifiers: setup
	$(PY) -m hybridthink.verifier_validation --benchmarks ../shared/benchmarks --out results

clean:
	rm -rf $(RUN_DIR)
