# Convergence Workbench: `make run` opens the workbench, `make test` runs the tests.
# Both create .venv on first use (torch is installed first as the CPU wheel 2.13.0 so that
# no multi-GB CUDA build is pulled in). The cluster extra (Ray) is installed so that the tests
# run a sweep on a local Ray.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint demo venv bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q "torch==2.13.0"
	$(BIN)/python -m pip install -q -e ".[dev,cluster]"
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	@if [ "$$QT_QPA_PLATFORM" != "offscreen" ]; then $(BIN)/python -m workbench.system_deps --install; fi
	$(BIN)/python -m workbench

demo: $(STAMP)
	$(BIN)/python -m core run sessions/examples/podm_vs_fista_sr.toml --out out/demo

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen OMP_NUM_THREADS=2 $(BIN)/python -m pytest -q -p no:cacheprovider --timeout=900

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)
	$(BIN)/python bench/solvers.py

clean:
	rm -rf $(VENV) out
