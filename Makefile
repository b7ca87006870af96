# Two commands do all set-up: `make up` runs the platform, `make test` the tests (`make test-faults` the fault runs).
VENV ?= .venv
PY := $(VENV)/bin/python
SERVICES := ticketing training appraisal monitoring
PACKAGES := plumbing gateway $(addprefix services/,$(SERVICES))
SERVICE_CLASSES := gateway.service:GatewayService ticketing.service:TicketingService training.service:TrainingService \
	appraisal.service:AppraisalService monitoring.service:MonitoringService
STAMP := $(VENV)/.installed

.PHONY: install migrate topology up test test-faults bench compose-check event-docs eval-sentiment train-sentiment clean

$(STAMP): requirements.txt requirements-dev.txt $(addsuffix /pyproject.toml,$(PACKAGES))
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation $(addprefix -e ,$(PACKAGES))
	@touch $@

install: $(STAMP)

migrate: install
	$(PY) -m plumbing.migrate gateway $(SERVICES)

topology: install
	$(PY) -m plumbing.topology $(SERVICE_CLASSES)

up: migrate topology
	PATH="$(abspath $(VENV))/bin:$$PATH" $(VENV)/bin/honcho start -f Procfile

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

# the platform under load while its processes crash, RabbitMQ restarts and PostgreSQL refuses connections
test-faults: install
	$(PY) -m pytest -m faults tests/faults $(PYTEST_ARGS)

bench: install
	$(PY) bench/run.py $(BENCH_ARGS)

# every benchmark in sequence, one table: bench/results/summary.md (bench/README.md says how long)
.PHONY: bench-all
bench-all: install
	$(PY) bench/all.py $(BENCH_ARGS)

event-docs: install
	$(PY) -m plumbing.eventdocs gateway $(SERVICES)

# accuracy and negative-class P/R/F1 per labelled set, and texts/s (monitoring's sentiment model)
SENTIMENT_DATA ?= ../shared/data/sentiment
eval-sentiment: install
	$(PY) -m monitoring.evaluate $(SENTIMENT_DATA)

# retrain the shipped model from its base data plus the agents' corrections in the monitoring database
train-sentiment: install
	$(PY) -m monitoring.train

compose-check:
	RABBITMQ_PASSWORD=check POSTGRES_PASSWORD=check JWT_SECRET=check ADMIN_PASSWORD=check \
	GRAFANA_ADMIN_PASSWORD=check docker-compose -f docker-compose.yml config -q

clean:
	rm -rf var
