# The two commands README promises:
#   make build   install the package and build the Ningbo 2024 layers, tables and map
#   make test    install what the tests need (Python extras, Chromium, QGIS) and run them
PYTHON ?= python3

.PHONY: build test lint bench

build:
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -e .
	$(PYTHON) -m geo build

test:
	./scripts/install_test_deps.sh
	$(PYTHON) -m pytest

lint:
	$(PYTHON) -m ruff check geo tests bench scripts
	$(PYTHON) -m mypy

bench:
	$(PYTHON) bench/run.py
