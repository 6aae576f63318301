# ClusterDesk — the README's commands. `make run` sets up and starts the app; `make test` sets up and
# runs every test. Both create .venv with the pinned dependencies from pyproject.toml.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test fuzz setup setup-test system-deps bench screenshots dist clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PY) -m pip install -q -e ".[test,build]"
	touch $@

setup: $(VENV)/.installed
setup-test: $(VENV)/.installed-test

system-deps:
	bash scripts/system-deps.sh

run: system-deps setup
	$(VENV)/bin/clusterdesk

test: system-deps setup-test
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

# The Hypothesis tests only, with random seeds and 5x the examples (profile "fuzz", tests/conftest.py).
# A failure prints its example and a reproduce blob; .hypothesis/ replays it on the next run. Keep
# every find as an @example regression in its test. (`make test` runs the same tests derandomized.)
fuzz: setup-test
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -m hypothesis --hypothesis-profile=fuzz --hypothesis-show-statistics tests

bench: setup-test
	$(PY) benchmarks/run_all.py

screenshots: setup-test
	QT_QPA_PLATFORM=offscreen $(PY) -m clusterdesk.ui.screenshots build/screenshots

dist: system-deps setup-test
	$(PY) -m PyInstaller --noconfirm --clean build.spec

clean:
	rm -rf $(VENV) build dist .pytest_cache
