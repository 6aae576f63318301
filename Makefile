# ClusterDesk — the README's commands. `make run` sets up and starts the app; `make test` sets up and
# runs every test; `make cli ARGS="drafts"` runs a command of the command line. All create .venv
# with the pinned dependencies from pyproject.toml.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run cli test fuzz setup setup-test system-deps bench screenshots dist clean

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
	PYTHON=$(PYTHON) bash scripts/system-deps.sh

run: system-deps setup
	$(VENV)/bin/clusterdesk

# The command line without activating the venv: make cli ARGS="template cq-2024-application --out t.xlsx"
cli: setup
	$(VENV)/bin/clusterdesk $(ARGS)

# lint-imports: the layers and no circle (pyproject.toml [tool.importlinter]), before the tests
test: system-deps setup-test
	$(VENV)/bin/lint-imports
	$(PY) -m mypy
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

# The Hypothesis tests only, with random seeds and 5x the examples (profile "fuzz", tests/conftest.py).
# A failure prints its example and a reproduce blob; .hypothesis/ replays it on the next run. Keep
# every find as an @example regression in its test. (`make test` runs the same tests derandomized.)
# The SIGKILL tests (crash, killed export and compile) run too, with a random seed (printed in its figures; rerun a find with
# CLUSTERDESK_FUZZ_SEED=<seed>).
fuzz: setup-test
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -m hypothesis --hypothesis-profile=fuzz --hypothesis-show-statistics tests
	CLUSTERDESK_FUZZ_SEED=$$(od -An -N4 -tu4 /dev/urandom | tr -d ' ') QT_QPA_PLATFORM=offscreen \
		$(PY) -m pytest -q -s tests/reliability/test_rel_crash.py tests/reliability/test_rel_atomic.py -k "sigkill or killed"

bench: setup-test
	$(PY) benchmarks/run_all.py

screenshots: setup-test
	QT_QPA_PLATFORM=offscreen $(PY) -m clusterdesk.ui.screenshots build/screenshots

dist: system-deps setup-test
	$(PY) -m PyInstaller --noconfirm --clean build.spec

clean:
	rm -rf $(VENV) build dist .pytest_cache
