# The two commands: `make run` starts the whole portal, `make test` runs the whole suite
# (`make test-fast` the part without browser, worker, cluster or server).
# Both create the virtualenv on first use and reinstall only when requirements.txt changes.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PORT   ?= 8000

.PHONY: run test test-fast lint bench fuzz manage check-python clean

run: $(STAMP)
	@$(PY) -m portal.devstack run --port $(PORT)

# pytest-xdist runs tests in parallel processes, each with its own test database, Redis key space and
# Celery queues (portal/settings/test.py); the README's testing section has the measurements.
# `make test-fast` runs FAST_WORKERS processes; `make test` runs TEST_WORKERS (0: in one process). Two
# run the whole suite in about 21 minutes on 2 cores, far longer in one; tests wait for conditions
# with deadlines a busy machine meets, so they pass beside a second process.
# ARGS come last and win: ARGS="-n 0" runs in one process, ARGS="-n 8" uses eight.
TEST_WORKERS ?= 2
FAST_WORKERS ?= 4
XDIST := --dist worksteal

test: $(STAMP)
	@$(PY) -m portal.devstack test -n $(TEST_WORKERS) $(XDIST) $(ARGS)

# Pure-function and database tests only: the markers of tests/conftest.py leave out every test that
# drives a browser, runs a Celery worker, the sandbox cluster or the Docker engine, serves the portal over a socket,
# or starts a program of its own (manage.py in a child process, nginx, an add-on server).
FAST_TIER := not (e2e or worker or sandbox or server or engine or process)
test-fast: $(STAMP)
	@$(PY) -m portal.devstack test -n $(FAST_WORKERS) $(XDIST) -m "$(FAST_TIER)" $(ARGS)

# Static checks, all run even when one fails: ruff (lint and format), migrations in step with the models,
# the import contracts in pyproject.toml, and mypy on the packages [tool.mypy] lists. No database needed:
# makemigrations only warns when it cannot reach one.
lint: $(STAMP)
	@status=0; \
	$(VENV)/bin/ruff check . || status=1; \
	$(VENV)/bin/ruff format --check --output-format concise . || { echo "lint | ruff format would reformat the files above"; status=1; }; \
	DJANGO_SETTINGS_MODULE=portal.settings.test $(PY) -W ignore manage.py makemigrations --check --dry-run >/dev/null \
		|| { echo "lint | models changed without a migration: manage.py makemigrations"; status=1; }; \
	$(VENV)/bin/lint-imports --no-cache || status=1; \
	$(VENV)/bin/mypy || status=1; \
	exit $$status

# Benchmarks print numbers (and write tests/bench/results/); they never fail on timing.
# One file: make bench BENCH=tests/bench/bench_client.py
BENCH ?= tests/bench
bench: $(STAMP)
	@LOG_LEVEL=WARNING $(PY) -m portal.devstack test $(BENCH) -o addopts= -o python_files='bench_*.py' -q -s -p no:logging $(ARGS)

# The API fuzzing of `make test` (schemathesis, owner and viewer keys, every check) with every phase,
# stateful included, and more examples per operation. Replay a run: make fuzz FUZZ_SEED=1234
FUZZ_MAX_EXAMPLES ?= 10
FUZZ_PHASES ?= examples,coverage,fuzzing,stateful
fuzz: $(STAMP)
	@FUZZ_MAX_EXAMPLES=$(FUZZ_MAX_EXAMPLES) FUZZ_PHASES=$(FUZZ_PHASES) $(PY) -m portal.devstack test tests/api/test_fuzz.py -p no:logging $(ARGS)

manage: $(STAMP)
	@$(PY) -m portal.devstack manage $(ARGS)

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; set PYTHON=python3.11 or similar")'

$(STAMP): requirements.txt | check-python
	@echo "devstack | installing dependencies into $(VENV)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet -r requirements.txt
	@touch $(STAMP)

clean:
	rm -rf var/staticfiles .pytest_cache
