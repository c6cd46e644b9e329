# The two commands the README leads with: `make demo` and `make test`.
PYTHON ?= python3

.PHONY: setup demo test contracts typecheck bench

setup:
	bash scripts/setup.sh

contracts: setup
	$(PYTHON) -m contract.build

demo: contracts
	$(PYTHON) -m scripts.demo

test: setup
	$(PYTHON) -m pytest -q -p no:cacheprovider tests

typecheck:
	$(PYTHON) -m mypy

bench: contracts
	for b in benchmarks/bench_*.py; do $(PYTHON) $$b || exit 1; done
