# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
export PLATFORM_HOME ?= $(CURDIR)/.platform
export DAGSTER_HOME  ?= $(PLATFORM_HOME)/dagster
export GX_ANALYTICS_ENABLED = false
export DAGSTER_DISABLE_TELEMETRY = true
# Every Dagster step, sensor tick and CLI call starts a Python process: without cached
# bytecode each one compiles Dagster, dbt and the ML libraries again (~10 s measured).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: install system-packages demo ui test stop lint dbt-env dbt-prepare dbt-build dbt-docs clean image

$(VENV)/.installed: pyproject.toml requirements.lock
	test -x $(PY) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip uv
	$(VENV)/bin/uv pip install -q --compile-bytecode --python $(PY) -c requirements.lock -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# Debian packages the tests start themselves: redis-server, the Celery test's broker (tests/distributed),
# and chromium, the browser the UI test drives through Playwright (tests/browser; Playwright downloads
# no browser of its own). Installed once, idempotently (CI runs as root); the tests start their own.
SYSTEM_PACKAGES = redis-server chromium

system-packages:
	@missing="$$(for p in $(SYSTEM_PACKAGES); do command -v $$p >/dev/null || echo $$p; done)"; \
	if [ -n "$$missing" ]; then apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; fi

demo: install  ## simulate, materialize the whole graph, print a summary
	$(PY) -m orchestration.cli demo

ui: install  ## Dagster webserver + daemon on the platform's instance, Data Docs served beside them
	$(PY) -m orchestration.cli ui

# The date-sensitive tests (marker `calendar`) run again with "today" pinned to days calendars break on.
CALENDAR_DAYS ?= 2027-03-01 2028-02-29 2026-12-31

test: install system-packages  ## the whole test suite against the real embedded stack, then the calendar re-runs
	$(VENV)/bin/pytest
	@for day in $(CALENDAR_DAYS); do \
		echo "== date-sensitive tests with PLATFORM_TODAY=$$day"; \
		PLATFORM_TODAY=$$day $(VENV)/bin/pytest -q -m calendar || exit 1; \
	done

stop:  ## stop what the demo started (by pid)
	@test -x $(PY) && $(PY) -m orchestration.cli down || true

lint: install  ## ruff, mypy, the import contracts (layers) and `dg check defs`
	$(VENV)/bin/ruff check foundation datamove orchestration quality ml agents tests bench
	$(VENV)/bin/mypy foundation datamove orchestration ml agents quality
	$(VENV)/bin/lint-imports
	@# the definitions alone, not the platform's instance (its dagster.yaml needs the running stack's settings)
	home="$$(mktemp -d)" && DAGSTER_HOME="$$home" $(VENV)/bin/dg check defs; status=$$?; rm -rf "$$home"; exit $$status

dbt-env: install  ## export lines for the plain dbt CLI (no password): eval "$$(make -s dbt-env)"
	@$(PY) -m orchestration.cli dbt-env

clean: stop
	rm -rf $(PLATFORM_HOME)

dbt-prepare: install  ## parse the dbt project (manifest for Dagster); never committed
	$(PY) -m orchestration.cli dbt-prepare

dbt-build: install  ## the plain dbt CLI against the platform's warehouse
	eval "$$($(PY) -m orchestration.cli dbt-env --with-secrets)" && $(VENV)/bin/dbt build --project-dir dbt_project --profiles-dir dbt_project

dbt-docs: install
	eval "$$($(PY) -m orchestration.cli dbt-env --with-secrets)" && $(VENV)/bin/dbt docs generate --project-dir dbt_project --profiles-dir dbt_project

# The user-code image for Kubernetes (deploy/, docs/deploy.md); needs Docker. IMAGE is the
# repository deploy/helm/values.yaml deploys; the tag is the commit, unique per build.
IMAGE ?= registry.example.com/agent-platform/user-code
TAG   ?= $(shell git rev-parse --short HEAD)

image:  ## build deploy/Dockerfile as $(IMAGE):$(TAG)
	docker build -f deploy/Dockerfile -t $(IMAGE):$(TAG) .
