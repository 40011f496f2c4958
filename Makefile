# Two entry points for a fresh machine (see README.md):
#   make demo   set up .venv if needed, then pre-train on the shipped demo images
#   make test   set up .venv if needed, then run the test suite
#   make lint   flake8 + isort + yapf (OpenMMLab's rules, setup.cfg), no changes
#   make format apply isort and yapf in place
VENV ?= .venv
PYTHON := $(VENV)/bin/python
DEMO_CONFIG ?= configs/densesiam/densesiam_resnet18_1xb8-coslr-60i_demo.py
DEMO_WORK_DIR ?= work_dirs/demo
PYTEST_ARGS ?=

.PHONY: setup demo test lint format

# Configs keep their hand-aligned settings tables: flake8 and isort check
# them, yapf formats only the code.
LINT_PATHS := densesiam_mm tools benchmarks tests configs setup.py
FORMAT_PATHS := densesiam_mm tools benchmarks tests setup.py

setup:
	VENV=$(VENV) bash tools/setup_env.sh

demo: setup
	$(PYTHON) tools/train.py $(DEMO_CONFIG) --work-dir $(DEMO_WORK_DIR) $(ARGS)
	@echo "Demo done. Checkpoint: $$(cat $(DEMO_WORK_DIR)/last_checkpoint)"
	@echo "Next, on a folder of your own images IMAGES (e.g. data/demo; docs/own_data.md):"
	@echo "  1. pre-train:  $(PYTHON) tools/train.py configs/densesiam/densesiam_resnet18_1xb8-coslr-200i_image-folder.py --data-root IMAGES --work-dir work_dirs/my_pretrain"
	@echo "  2. segmenter:  $(PYTHON) tools/train.py configs/unsup_seg/densesiam-seg_resnet18-fpn_1xb8-300i_image-folder.py --data-root IMAGES --work-dir work_dirs/my_seg --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/my_pretrain/iter_200.pth model.backbone.init_cfg.prefix=backbone."
	@echo "  3. segment:    $(PYTHON) tools/demo/segment_folder.py IMAGES configs/unsup_seg/densesiam-seg_resnet18-fpn_1xb8-300i_image-folder.py work_dirs/my_seg/iter_300.pth --out-dir work_dirs/my_segments"

test: setup
	$(PYTHON) -m pytest tests -ra $(PYTEST_ARGS)

lint: setup
	$(PYTHON) -m flake8 $(LINT_PATHS)
	$(PYTHON) -m isort --check-only --diff $(LINT_PATHS)
	$(PYTHON) -m yapf --diff --recursive $(FORMAT_PATHS)

format: setup
	$(PYTHON) -m isort $(LINT_PATHS)
	$(PYTHON) -m yapf --in-place --recursive $(FORMAT_PATHS)
