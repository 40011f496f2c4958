# Two entry points for a fresh machine (see README.md):
#   make demo   set up .venv if needed, then pre-train on the shipped demo images
#   make test   set up .venv if needed, then run the test suite
VENV ?= .venv
PYTHON := $(VENV)/bin/python
DEMO_CONFIG ?= configs/densesiam/densesiam_resnet18_1xb8-coslr-60i_demo.py
DEMO_WORK_DIR ?= work_dirs/demo
PYTEST_ARGS ?=

.PHONY: setup demo test

setup:
	VENV=$(VENV) bash tools/setup_env.sh

demo: setup
	$(PYTHON) tools/train.py $(DEMO_CONFIG) --work-dir $(DEMO_WORK_DIR) $(ARGS)

test: setup
	$(PYTHON) -m pytest tests -ra $(PYTEST_ARGS)
