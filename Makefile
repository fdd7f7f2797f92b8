# Kennisknoop — the two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TEST_WORKERS ?= auto
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
DEMO_DIR ?= demo-data
DEMO_PORT ?= 8000

.PHONY: demo test lint typecheck bench clean install translations help-screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/python -m node.demo --dir $(DEMO_DIR) --base-port $(DEMO_PORT)

# mypy checks protocol/, node/ and bench/ strictly ([tool.mypy] in pyproject.toml).
# pytest runs from a fresh temporary directory: libraries that write into the working directory
# (bovine's JSON-LD cache) must not leave files in the checkout (tests/conftest.py checks it).
# It runs on every core (pytest-xdist, one test file per worker at a time, so a module's fixtures are
# built once) and measures line coverage; tests/coverage_floors.py then holds protocol/ and node/ to their
# floors ([tool.coverage.report] and [tool.kennisknoop.coverage-floors] in pyproject.toml).
test: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	work="$$(mktemp -d)" && cd "$$work" && export COVERAGE_FILE="$$work/.coverage" && status=0 && \
		"$(CURDIR)/$(BIN)/python" -m pytest -c "$(CURDIR)/pyproject.toml" --rootdir "$(CURDIR)" \
		-n $(TEST_WORKERS) --dist loadfile --cov --cov-config="$(CURDIR)/pyproject.toml" --cov-report= "$(CURDIR)/tests" && \
		"$(CURDIR)/$(BIN)/python" "$(CURDIR)/tests/coverage_floors.py" "$$COVERAGE_FILE" \
		|| status=$$?; \
		rm -rf "$$work"; exit $$status

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy

# Every benchmark, one table, and bench/results.json (git-ignored); never part of `make test`.
# BENCH_ARGS="--only paths,protocol" runs a subset, "--quick" a smoke run (bench/run.py).
bench: install
	$(BIN)/python -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache

# The gettext catalogs (docs/translations.md): extract the sentences of node/web/strings.py and
# the templates, merge them into node/locale/*/LC_MESSAGES/messages.po, compile the .mo files.
translations: install
	$(BIN)/pybabel -q extract -F babel.cfg --no-location --sort-output --project Kennisknoop \
		-o node/locale/messages.pot .
	$(BIN)/pybabel -q update -i node/locale/messages.pot -d node/locale -w 100 \
		--ignore-pot-creation-date --no-fuzzy-matching
	rm node/locale/messages.pot
	$(BIN)/pybabel -q compile -d node/locale

# The help pages' pictures (docs/help.md): the browser test walks every help step on two real
# nodes and writes fresh screenshots to a temporary folder (it never writes into the checkout,
# and with KENNISKNOOP_HELP_REFRESH it does not compare them with the committed ones); they
# then replace node/static/help/*.png. Run it when the browser test says the pictures changed,
# look at `git diff --stat node/static/help`, and commit them.
help-screenshots: install
	work="$$(mktemp -d)" && cd "$$work" && status=0 && \
		KENNISKNOOP_ARTIFACTS="$$work/artifacts" KENNISKNOOP_HELP_REFRESH=1 \
		"$(CURDIR)/$(BIN)/python" -m pytest -c "$(CURDIR)/pyproject.toml" --rootdir "$(CURDIR)" \
		-p no:cacheprovider -q "$(CURDIR)/tests/browser/test_help_screenshots.py" && \
		rm -f "$(CURDIR)"/node/static/help/*.png && mkdir -p "$(CURDIR)/node/static/help" && \
		cp "$$work"/artifacts/screenshots/help/*.png "$(CURDIR)/node/static/help/" \
		|| status=$$?; \
		rm -rf "$$work"; exit $$status
