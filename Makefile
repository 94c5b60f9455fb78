# RAF: `make run` serves the demo on SQLite with in-process jobs; `make test` runs the suite.
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run demo test lint typecheck browser bench clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

demo: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo

run: demo
	@echo ""
	@echo "RAF demo on http://$(HOST):$(PORT)/  (API docs: http://$(HOST):$(PORT)/api/docs/, admin: http://$(HOST):$(PORT)/admin/)"
	@echo "Demo logins (user / password): admin / raf-admin-demo, researcher / raf-researcher-demo, annotator / raf-annotator-demo"
	$(PY) manage.py runserver $(HOST):$(PORT)

# Debian's chromium drives the browser tests; Playwright never downloads a browser.
browser:
	@test -x /usr/bin/chromium || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

test: install browser
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy reliability training

clean:
	rm -rf $(VENV) var .pytest_cache test-artifacts
