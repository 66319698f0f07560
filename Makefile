# Integration Hub — `make run` (the hub on embedded defaults with the demo firm) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PLUGIN_DIRS := $(patsubst %/setup.cfg,%,$(wildcard plugins/*/setup.cfg))
PLUGIN_SLUGS := $(notdir $(PLUGIN_DIRS))
comma := ,
empty :=
space := $(empty) $(empty)

.PHONY: install run test test-services lint bench docs clean

# One virtual environment with the hub, every plugin under plugins/, the example vendor of the tests
# and the test tools. Re-installed when a setup.cfg changes.
$(VENV)/.installed: setup.cfg pyproject.toml $(addsuffix /setup.cfg,$(PLUGIN_DIRS)) tests/example_vendor/setup.cfg
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,docs]' -e tests/example_vendor $(foreach d,$(PLUGIN_DIRS),-e '$(d)[test]')
	touch $@

install: $(VENV)/.installed

# The demo loads exactly the vendor plugins under plugins/ (not the example vendor of the tests).
# `make run PORT=5101` serves on another port. `exec`: the hub is make's own child, so it stops (cleanly) when make
# is signalled too, not only on Ctrl-C (flask hub up asks for SIGTERM when its parent dies).
PORT ?= 5000
run: install
	exec env HUB_LOAD_PLUGINS="$(subst $(space),$(comma),$(PLUGIN_SLUGS))" HUB_INSECURE_COOKIES=1 \
		FLASK_APP=hub.app:create_app $(BIN)/flask hub up --port $(PORT)

# The suite in parallel (pytest-xdist): one process per core, `make test TEST_WORKERS=0` for one process. Tests that
# build packages from the checkout take turns (the checkout_builds fixture of tests/conftest.py).
TEST_WORKERS ?= auto
test: install
	$(BIN)/pytest -q -n $(TEST_WORKERS)

lint: install
	$(BIN)/ruff check hub tests plugins bench
	$(BIN)/lint-imports  # the layers and the plugins' public surface (.importlinter)

# The documentation site (Sphinx + MyST); warnings are errors. Open docs/_build/html/index.html.
# The documentation site needs the hub and its docs extra only (not the test tools or the plugins): its own venv.
DOCS_VENV ?= .venv-docs
$(DOCS_VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(DOCS_VENV)
	$(DOCS_VENV)/bin/python -m pip install -q -e '.[docs]'
	touch $@

docs: $(DOCS_VENV)/.installed
	$(DOCS_VENV)/bin/sphinx-build -W --keep-going -q -b html docs docs/_build/html

bench: install
	$(BIN)/python bench/reload.py
	$(BIN)/python bench/faults.py  # kill -9 job processes and Redis mid-reload: nothing lost, nothing stuck

clean:
	rm -rf $(VENV) instance
