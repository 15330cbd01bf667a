# Two commands on a fresh machine: `make demo` and `make test`. Each does its own set-up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# The CPU wheel of torch; a looser requirement would pull the CUDA build and its gigabytes.
TORCH  := torch==2.13.0

.PHONY: setup system venv demo test bench clean

setup: system venv

system:
	@bash scripts/apt-deps.sh

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check $(TORCH)
	$(BIN)/pip install -q --disable-pip-version-check -e '.[onnx,test,ray]' $(TORCH)
	touch $(STAMP)

demo: setup
	$(BIN)/rtsep demo --out demo

test: setup
	$(BIN)/python -m pytest -q -ra

bench: setup
	$(BIN)/python benchmarks/speed.py --write
	$(BIN)/python benchmarks/quality.py --write

clean:
	rm -rf demo .pytest_cache
