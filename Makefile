# The README's commands. Every target builds .venv itself from a Python >= 3.12
# (see tools/find-python for how one is found; override with PYTHON=/path/to/python).
VENV      := .venv
VPY       := $(VENV)/bin/python
STAMP     := $(VENV)/.installed
CORES     ?= 8
# One process by default: on 2 cores, two pytest-xdist workers took longer (40 minutes against
# 15-25 in one) and 6 GB each. On a larger machine: PYTEST_ARGS="-n auto --dist loadgroup".
PYTEST_ARGS ?=

.PHONY: test study lint bench clean-venv

$(STAMP): pyproject.toml
	@interp=$$(tools/find-python) || exit 1; \
	  [ -x $(VPY) ] || { echo "creating $(VENV) with $$interp"; "$$interp" -m venv $(VENV); }
	$(VPY) -m pip install --quiet --upgrade pip
	$(VPY) -m pip install --quiet -e '.[study,dev]'
	@touch $@

test: $(STAMP)
	$(VPY) -m ruff check .
	$(VPY) -m pytest $(PYTEST_ARGS)

study: $(STAMP)
	$(VENV)/bin/snakemake --cores $(CORES) --workflow-profile profiles/default

lint: $(STAMP)
	$(VPY) -m ruff check .
	$(VPY) tools/lint-workflow

bench: $(STAMP)
	$(VPY) -m benchmarks

clean-venv:
	rm -rf $(VENV)
