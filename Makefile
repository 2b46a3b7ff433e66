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

.PHONY: setup demo test test-slow validate-verifiers clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@command -v python3 >/dev/null || { echo "python3 (>= 3.10) is needed"; exit 1; }
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q "$(TORCH_SPEC)" $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PY) -m pip install -q -e ".[test]"
	touch $@

demo: setup
	scripts/run_pipeline.sh $(RECIPES) $(RUN_DIR)

test: setup
	$(PY) -m pytest -q

test-slow: setup
	$(PY) -m pytest -q -m slow

# The verifiers on the real evaluation sets beside the project; writes results/verifiers.{md,json}.
validate-verifiers: setup
	$(PY) -m hybridthink.verifier_validation --benchmarks ../shared/benchmarks --out results

clean:
	rm -rf $(RUN_DIR)
