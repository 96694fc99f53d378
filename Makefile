# Two commands for a newcomer: `make demo` runs the product, `make test` runs the suite.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/gateway
TEST_REDIS_URL ?= redis://127.0.0.1:6379/1
DEMO_PORT ?= 8000
SANDBOX_PORT ?= 8081
# The third-party FHIR server of tests/third_party (Medplum, node): its modules, pinned by the lock file.
MEDPLUM := tests/third_party/medplum
MEDPLUM_STAMP := $(MEDPLUM)/node_modules/.installed

.PHONY: install demo test lint format bench

$(STAMP): requirements/base.txt requirements/dev.txt
	test -d $(VENV) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements/dev.txt
	touch $(STAMP)

# Without npm (a machine for `make demo` only) the third-party tests skip; CI (CI=true) needs it.
$(MEDPLUM_STAMP): $(MEDPLUM)/package.json $(MEDPLUM)/package-lock.json
	@if command -v npm >/dev/null || [ "$${CI:-}" = true ]; then \
		(cd $(MEDPLUM) && npm ci --no-audit --no-fund --loglevel=error) && touch $(MEDPLUM_STAMP); \
	else echo "install: no npm, so tests/third_party will skip"; fi

install: $(STAMP) $(MEDPLUM_STAMP)

demo: $(STAMP)  # Python only: the node modules are for tests/third_party
	$(PY) manage.py run_demo --port $(DEMO_PORT) --sandbox-port $(SANDBOX_PORT)

lint: install
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: install lint
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		$(VENV)/bin/pytest $(PYTEST_ARGS)

bench: install
	$(PY) bench/run.py
