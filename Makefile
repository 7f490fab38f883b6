# Quick start: `make demo` runs the gate on the embedded `local` environment; `make test` runs the
# project's own tests. Both create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
NODE_SERVERS := tests/servers/node
ALLURE_TOOL := tools/allure

.PHONY: demo allure docs test test-fast lint typecheck selftest selftest-versions bench clean docker images images-current

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

$(NODE_SERVERS)/node_modules/.installed: $(NODE_SERVERS)/package.json
	cd $(NODE_SERVERS) && npm install --no-audit --no-fund --loglevel=error
	touch $@

# The Allure renderer alone (its own package.json: nothing of the self-tests' npm servers).
$(ALLURE_TOOL)/node_modules/.installed: $(ALLURE_TOOL)/package.json $(ALLURE_TOOL)/package-lock.json
	cd $(ALLURE_TOOL) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The gate on the embedded environment, serially (faster than -n 2 for six small services: see
# bench/RESULTS.md); exit 5 (nothing selected) is reported, never taken as a pass.
# It also writes Allure results (basb-report/allure-results) for `make allure`.
demo: $(VENV)/.installed
	@scripts/pytest-or-explain $(BIN)/pytest --basb-env=local --alluredir=$(ALLURE_RESULTS) --clean-alluredir

# Renders the Allure results of the last `make demo` (or ALLURE_RESULTS=DIR) into basb-report/allure-report;
# installs the npm `allure` package alone (pinned in tools/allure/package.json) on first use.
ALLURE_RESULTS ?= basb-report/allure-results
ALLURE_REPORT ?= basb-report/allure-report
allure: $(ALLURE_TOOL)/node_modules/.installed
	@[ -d "$(ALLURE_RESULTS)" ] || { echo "make allure: no results in $(ALLURE_RESULTS); run make demo first"; exit 2; }
	$(ALLURE_TOOL)/node_modules/.bin/allure generate $(ALLURE_RESULTS) --output $(ALLURE_REPORT)
	@echo "Allure report: $(ALLURE_REPORT)/index.html"

# Generated documentation: the inventory reference from the inventory's JSON Schema.
docs: $(VENV)/.installed
	$(BIN)/python -m pytest_basb.inventory.reference docs/reference/inventory.md

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports  # the layering of docs/architecture.md

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

# A Docker engine for the containers target: starts dockerd when `docker info` does not answer.
docker:
	@scripts/start-docker

# The six reference images (the `staging` tags of basb-inventory.yaml), from a debootstrapped base;
# rebuilds reuse the base, the wheelhouse and the layer cache. Timings are printed per step.
images: $(VENV)/.installed docker
	$(BIN)/python deploy/images/build_images.py $(if $(TAG),--tag $(TAG))

# The self-tests test the images of this checkout: rebuilt before every self-test run (the base, the
# wheelhouse and docker's layer cache make an unchanged rebuild take seconds), so a changed reference
# service is never tested from a stale image. Without a Docker engine the container self-tests skip,
# saying why; CI sets BASB_REQUIRE_DOCKER, so they never do.
images-current: $(VENV)/.installed
	@if scripts/start-docker; then $(BIN)/python deploy/images/build_images.py; \
	elif [ -n "$$BASB_REQUIRE_DOCKER" ]; then exit 1; \
	else echo "no Docker engine: the containers self-tests will be skipped (see README, Containers target)"; fi

selftest: $(VENV)/.installed-dev $(NODE_SERVERS)/node_modules/.installed $(ALLURE_TOOL)/node_modules/.installed images-current
	@scripts/pytest-or-explain $(BIN)/pytest tests -n 2 --dist loadgroup

# The fast loop after a change: every unit test (tests/unit: pure functions, no process, no network)
# and one end-to-end run (a stdio server through the health and smoke suites), serially: on two
# cores, starting xdist workers costs more than it saves here.
SMOKE_E2E := tests/e2e/test_gate_runs.py::test_stdio_service_passes_health_and_smoke
test-fast: $(VENV)/.installed-dev
	@scripts/pytest-or-explain $(BIN)/pytest -q -p no:randomly tests/unit $(SMOKE_E2E)

# The other supported Pythons (pyenv's 3.12 and 3.13 where present): a fast subset of the self-tests
# in a venv of their own (.venv-3.12, .venv-3.13), so an incompatibility cannot land unseen.
EXTRA_PYTHONS ?= 3.12 3.13
FAST_SUBSET := tests/unit tests/e2e/test_inventory_errors.py tests/e2e/report $(SMOKE_E2E)
selftest-versions:
	@for v in $(EXTRA_PYTHONS); do \
	  py=$$(ls -d $$HOME/.pyenv/versions/$$v*/bin/python$$v 2>/dev/null | tail -n 1); \
	  [ -n "$$py" ] || { python$$v --version >/dev/null 2>&1 && py=python$$v; }; \
	  if [ -z "$$py" ]; then echo "selftest-versions: python$$v not found, skipped"; continue; fi; \
	  [ -x .venv-$$v/bin/python ] || $$py -m venv .venv-$$v || exit 1; \
	  .venv-$$v/bin/python -m pip install --quiet --upgrade pip && \
	  .venv-$$v/bin/python -m pip install --quiet -e . 'hypothesis>=6.100,<7' || exit 1; \
	  echo "== Python $$v"; \
	  scripts/pytest-or-explain .venv-$$v/bin/python -m pytest -q -p no:randomly $(FAST_SUBSET) || exit 1; \
	done

test: lint typecheck selftest selftest-versions

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .venv-3.* basb-report .basb $(NODE_SERVERS)/node_modules $(ALLURE_TOOL)/node_modules
