# Kiosk BPU. The two commands: `make run` (serve the app) and `make test` (the whole suite).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app kiosk
HOST ?= 0.0.0.0
PORT ?= 5000
WORKERS ?= 2
HTTPS ?= 0
# The LAN certificate lives with the other secrets: KIOSK_SECRETS_DIR, else KIOSK_INSTANCE_PATH.
TLS_DIR ?= $(or $(KIOSK_SECRETS_DIR),$(KIOSK_INSTANCE_PATH),instance)/tls
PO := $(wildcard kiosk/translations/*/LC_MESSAGES/messages.po)
MO := $(PO:.po=.mo)

SERVICE := kiosk-bpu
UNIT := /etc/systemd/system/$(SERVICE).service
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test test-fast bench vendor static install dev translations chromium extract-messages clean \
	service-unit install-service uninstall-service start-service stop-service service-status service-log

## Set up (venv, packages, database) and serve the app on the LAN with gunicorn (HTTPS=1: over
## HTTPS with the certificate of `flask --app kiosk make-cert`, which tablet cameras need).
run: install translations static
	$(FLASK) db upgrade
	$(FLASK) setup-code
ifeq ($(HTTPS),1)
	test -f "$(TLS_DIR)/server.crt" || $(FLASK) make-cert
	@echo "Kiosk BPU: https://$$(hostname -I 2>/dev/null | cut -d' ' -f1 || echo localhost):$(PORT)/  (kiosk screen: /kiosk)"
	KIOSK_PREFER_HTTPS=true KIOSK_CERTFILE="$(TLS_DIR)/server.crt" KIOSK_KEYFILE="$(TLS_DIR)/server.key" \
	  $(BIN)/gunicorn --config gunicorn.conf.py --bind $(HOST):$(PORT) --workers $(WORKERS) wsgi:app
else
	@echo "Kiosk BPU: http://$$(hostname -I 2>/dev/null | cut -d' ' -f1 || echo localhost):$(PORT)/  (kiosk screen: /kiosk)"
	$(BIN)/gunicorn --config gunicorn.conf.py --bind $(HOST):$(PORT) --workers $(WORKERS) wsgi:app
endif

## The system service (docs/operations.md): starts at boot, restarts when it dies, runs gunicorn with
## the settings of `make run` (same HOST, PORT, WORKERS, HTTPS) as the user who runs this and owns
## instance/ (never root; it asks for sudo for the system part).
service-unit: install translations static
	@if [ "$$(id -u)" = 0 ]; then \
	  echo "Run this as the user who owns instance/ and will run the server (not root); it asks for sudo itself."; exit 1; fi
	mkdir -p -m 0700 instance
	@if [ "$$(stat -c %U instance)" != "$$(id -un)" ]; then \
	  echo "instance/ belongs to $$(stat -c %U instance): run this as that user, or: sudo chown -R $$(id -un): instance"; exit 1; fi
ifeq ($(HTTPS),1)
	test -f instance/tls/server.crt || $(FLASK) make-cert
endif
	set -a; [ ! -f instance/kiosk.env ] || . instance/kiosk.env; set +a; \
	  $(FLASK) service-unit --user "$$(id -un)" --host $(HOST) --port $(PORT) --workers $(WORKERS) \
	  $(if $(filter 1,$(HTTPS)),--https) --output instance/$(SERVICE).service

install-service: service-unit
	$(SUDO) install -m 0644 instance/$(SERVICE).service $(UNIT)
	$(SUDO) systemctl daemon-reload
	$(SUDO) systemctl enable $(SERVICE)
	$(SUDO) systemctl restart $(SERVICE)
	@echo "Kiosk BPU runs as a service now and starts at every boot. Status: make service-status; log: make service-log"

uninstall-service:
	-$(SUDO) systemctl disable --now $(SERVICE)
	$(SUDO) rm -f $(UNIT)
	$(SUDO) systemctl daemon-reload
	@echo "The service is gone; instance/ and backups/ are untouched."

start-service:
	$(SUDO) systemctl start $(SERVICE)

stop-service:
	$(SUDO) systemctl stop $(SERVICE)

service-status:
	systemctl status --no-pager $(SERVICE)

service-log:
	journalctl -u $(SERVICE) --no-pager -n 200

## Set up (venv with dev extras, Debian's chromium) and run the whole test suite.
test: dev translations chromium static
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## The quick part of the suite, for while you work: no browser, no PostgreSQL, nothing marked slow.
test-fast: dev translations
	$(BIN)/python -m pytest -m "not browser and not slow and not postgres" $(PYTEST_ARGS)

## Benchmarks (prints a table; see bench/README.md).
bench: dev translations static
	$(BIN)/python -m bench $(BENCH_ARGS)

## Refresh the vendored front-end files in static/ from the npm registry (output is committed).
vendor:
	bash scripts/vendor.sh
	$(MAKE) static

## Build the brotli/gzip copies of static/ that are missing or older than their file (build
## output, not committed: see kiosk/static_files.py). Only changed files are compressed again.
static: install
	$(BIN)/python -m kiosk.static_files --quiet

install: $(VENV)/.installed
dev: $(VENV)/.installed-dev

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

translations: $(MO)

%.mo: %.po $(VENV)/.installed
	$(BIN)/pybabel compile --statistics -i $< -o $@

## Collect the translatable texts into the English catalog (then translate the new msgids).
extract-messages: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -o kiosk/translations/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i kiosk/translations/messages.pot -d kiosk/translations --no-fuzzy-matching

chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  echo "Installing Debian's chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis test-output
