# RAF: `make run` serves the demo in the production shape (Postgres, Redis, web, Celery worker and
# beat) on embedded services unless DATABASE_URL / REDIS_URL name real ones; `make test` runs the suite.
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run stop test lint typecheck browser bench clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

# web (migrate, load the demo, granian), a Celery worker and beat under honcho (Procfile).
# DEBUG is off as in production (the site's own error pages); `make run DEBUG=true` turns it on.
DEBUG ?= false
run: install
	@echo ""
	@echo "RAF demo on http://$(HOST):$(PORT)/  (API docs: http://$(HOST):$(PORT)/api/docs/, admin: http://$(HOST):$(PORT)/admin/)"
	@echo "Demo logins (user / password): admin / raf-admin-demo, researcher / raf-researcher-demo, annotator / raf-annotator-demo"
	@echo "Ctrl-C stops everything."
	@mkdir -p var
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" RAF_BIND=$(HOST):$(PORT) DEBUG=$(DEBUG) $(PY) -m config.embedded exec -- honcho start -f Procfile

# Stops the embedded Postgres and Redis of var/embedded if something left them running.
stop: install
	$(PY) -m config.embedded stop

# Debian's chromium drives the browser tests; Playwright never downloads a browser.
browser:
	@test -x /usr/bin/chromium || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

# Without DATABASE_URL / REDIS_URL: a throwaway embedded Postgres and Redis for this run only.
test: install browser
	$(PY) -m config.embedded exec --throwaway -- $(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy reliability training

clean:
	rm -rf $(VENV) var .pytest_cache test-artifacts
