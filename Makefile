# Two commands do all set-up: `make up` runs the platform, `make test` the tests (`make test-faults` the fault runs).
VENV ?= .venv
PY := $(VENV)/bin/python
TEST_GROUPS ?= 2
# the one list of the platform's processes (stdlib only: readable before the venv exists)
SERVICES_LIST := plumbing/plumbing/services.py
SERVICES := $(shell python3 $(SERVICES_LIST) backends)
PACKAGES := plumbing gateway $(addprefix services/,$(SERVICES))
STAMP := $(VENV)/.installed

.PHONY: install migrate topology up preflight contract-tools test test-faults test-compose bench compose-check event-docs eval-sentiment train-sentiment clean

$(STAMP): requirements.txt requirements-dev.txt requirements-hashed.txt $(addsuffix /pyproject.toml,$(PACKAGES))
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install -q --disable-pip-version-check --require-hashes --no-deps -r requirements-hashed.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation $(addprefix -e ,$(PACKAGES))
	@touch $@

install: $(STAMP)

# plumbing.migrate, plumbing.topology and plumbing.eventdocs default to every process of the list
migrate: install
	$(PY) -m plumbing.migrate

topology: install
	$(PY) -m plumbing.topology

# honcho's Procfile, one line per process of the list
var/Procfile: $(SERVICES_LIST)
	@mkdir -p var
	python3 $(SERVICES_LIST) procfile > $@.$$$$ && mv $@.$$$$ $@

# the gateway's JWT_SECRET and first admin password, generated on first start under var/secrets (owner only);
# JWT_SECRET or ADMIN_PASSWORD in the environment still come first
up: migrate topology var/Procfile
	@python3 plumbing/plumbing/local_secrets.py var/secrets
	CSOPS_LOCAL_SECRETS_DIR="$(abspath var/secrets)" PATH="$(abspath $(VENV))/bin:$$PATH" \
	  $(VENV)/bin/honcho start -f var/Procfile

# what the tests need besides the venv: one line per missing server, plugin or tool, with what provides it
preflight:
	python3 tests/preflight.py

# the Node tools of the contract tests (tests/contract), exactly as contracts/node/package-lock.json pins them;
# npm ci again only when the lockfile changed
NODE_KIT := contracts/node
$(NODE_KIT)/node_modules/.package-lock.json: $(NODE_KIT)/package-lock.json
	cd $(NODE_KIT) && npm ci

contract-tools: $(NODE_KIT)/node_modules/.package-lock.json

# in two pytest processes at once, then the broker-restarting tests alone (tests/run_in_groups.py)
test: preflight install contract-tools
	$(PY) -m tests.run_in_groups --groups $(TEST_GROUPS) $(PYTEST_ARGS)

# the platform under load while its processes crash, RabbitMQ restarts and PostgreSQL refuses connections
test-faults: install
	$(PY) -m pytest -m faults tests/faults $(PYTEST_ARGS)

# docker-compose.yml run for real on Podman (tests/compose): images built from Debian (deploy/local/images.sh),
# up, scaled out, a replica crashed, down -v. Bounded: after COMPOSE_MINUTES it fails, and whatever it
# left is removed either way (the images stay, for the next run's cache).
COMPOSE_MINUTES ?= 20
test-compose: install
	timeout --kill-after=30 $(COMPOSE_MINUTES)m env PIP=$(abspath $(VENV))/bin/pip $(PY) -m pytest -m compose tests/compose $(PYTEST_ARGS); \
	  status=$$?; tests/compose/cleanup.sh; exit $$status

bench: install
	$(PY) bench/gateway_tickets.py $(BENCH_ARGS)

# every benchmark in sequence, one table: bench/results/summary.md (bench/README.md says how long)
.PHONY: bench-all
bench-all: install
	$(PY) bench/all.py $(BENCH_ARGS)

event-docs: install
	$(PY) -m plumbing.eventdocs

# monitoring's sentiment model on the dev split of its social posts (per language and case type) and on the
# Weibo set: accuracy, negative P/R/F1, crisis recall/precision, model version, texts/s, peak memory
SENTIMENT_DATA ?= ../shared/data/sentiment
eval-sentiment: install
	$(PY) -m monitoring.sentiment.evaluate $(SENTIMENT_DATA)

# train a head on the open data plus the desk's labels; installed as a new version only if no worse on the dev split
train-sentiment: install
	$(PY) -m monitoring.sentiment.train

# every setting .env.example leaves empty (the REQUIRED secrets among them) set to a placeholder
compose-check:
	env $$(sed -n 's/^\([A-Z_]*\)=$$/\1=check/p' .env.example) docker-compose -f docker-compose.yml config -q
	env $$(sed -n 's/^\([A-Z_]*\)=$$/\1=check/p' .env.example) docker-compose -f docker-compose.yml -f docker-compose.local.yml config -q

clean:
	rm -rf var
