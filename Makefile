# CP-NAS toolkit. Two commands do everything on a fresh machine:
#   make demo   set up, then run a real CP-NAS search on the embedded digits data and train its cell
#   make test   set up, then run the whole test suite
# A second run skips every set-up step that is already done (stamp files in .venv/).

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
TORCH_PIN := torch==2.13.0
STAMP_TORCH := $(VENV)/.stamp-torch
STAMP_DEPS := $(VENV)/.stamp-deps
RUN ?= runs/demo-$(shell date +%Y%m%d-%H%M%S)
PYTEST_ARGS ?=

.PHONY: demo test lab setup sysdeps-demo sysdeps-test lint clean help

help:
	@echo "make demo   - set up and run a real CP-NAS search on digits, then train the found 1-bit cell"
	@echo "make test   - set up and run the test suite"
	@echo "make lab    - set up and open JupyterLab on notebooks/"
	@echo "make lint   - ruff"

# -- Python environment -----------------------------------------------------------------------

$(PY):
	@bash .ci/check-python "$(PYTHON)"
	@$(PYTHON) -m venv $(VENV) || { echo "error: '$(PYTHON) -m venv' failed; install the venv module (Debian: apt-get install python3-venv) and run make again"; exit 1; }

# torch first, pinned, so that the CPU wheel on disk is used and no CUDA build is pulled.
$(STAMP_TORCH): | $(PY)
	@$(PY) -c "import torch" 2>/dev/null || bash .ci/pip-install "$(PY)" "$(TORCH_PIN)"
	@touch $@

$(STAMP_DEPS): pyproject.toml $(STAMP_TORCH)
	@bash .ci/pip-install "$(PY)" -e ".[test,dev,trackers,tune]"
	@touch $@

setup: $(STAMP_DEPS)

# -- System packages (graphviz for both, chromium for the browser tests) ----------------------

sysdeps-demo:
	@bash .ci/sysdeps graphviz

sysdeps-test:
	@bash .ci/sysdeps graphviz chromium

# -- The two commands -------------------------------------------------------------------------

demo: setup sysdeps-demo
	@$(VENV)/bin/cpnas search --data digits --out "$(RUN)"
	@$(VENV)/bin/cpnas train "$(RUN)"
	@echo "run directory: $(RUN)  (events.jsonl, genotype.json, checkpoint.pt; 'cpnas report $(RUN)' makes report.html)"

test: setup sysdeps-test
	@$(PY) -m pytest $(PYTEST_ARGS)

lab: setup sysdeps-demo
	@$(VENV)/bin/jupyter lab --ip=127.0.0.1 --no-browser $$( [ "$$(id -u)" = 0 ] && echo --allow-root ) --ServerApp.root_dir=notebooks

lint: setup
	@$(VENV)/bin/ruff check cpnas cpviz tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
