# Synthetic Data Studio — developer entry points. Every target is a thin wrapper around a script.
SHELL := /bin/bash
# uv is resolved by scripts/uv.sh (PATH, ~/.local/bin, or a venv it bootstraps), never by the
# caller's shell, so the README's commands work with a fresh login's PATH. `=` defers the lookup to
# the first recipe that needs it; `UV=/path/to/uv make …` overrides it.
UV ?= $(eval UV := $$(shell scripts/uv.sh))$(UV)
PY = $(UV) run --frozen
# Trust the machine's own certificate store (as pip and curl do), not only uv's bundled roots: a
# network behind a TLS-inspecting proxy has its CA there, and a fresh shell sets no SSL_CERT_FILE.
export UV_SYSTEM_CERTS ?= 1

.PHONY: install demo test test-unit services services-down lint fmt typecheck asyncapi up-embedded up-distributed \
        bench-bus bench-synthesis bench-gateway bench-audit bench-peers bench-suite clean

install:            ## install the whole workspace (uv, pinned by uv.lock) into .venv
	@scripts/install.sh

demo: install       ## README command 1: run the main job on the embedded default
	@$(PY) python -m sds_studio demo

test: install       ## README command 2: install and run every test tier
	@$(PY) pytest $(PYTEST_ARGS)

test-unit: install
	@$(PY) pytest tests/unit $(PYTEST_ARGS)

services:           ## start real Kafka (KRaft), PostgreSQL, Redis and s3proxy on this machine
	@scripts/services/up.sh

services-down:
	@scripts/services/down.sh

lint: install       ## ruff (lint + format check) and mypy strict
	@$(PY) ruff check .
	@$(PY) ruff format --check .
	@$(PY) mypy

fmt: install
	@$(PY) ruff format .
	@$(PY) ruff check --fix .

asyncapi: install   ## regenerate docs/events/ (AsyncAPI + JSON Schemas) from the event catalogue
	@$(PY) python -m sds_common.events.docs docs/events

up-embedded: install
	@$(PY) python -m sds_studio up

up-distributed: install services   ## every service as its own process on Kafka/PostgreSQL/Redis/S3
	@$(PY) python -m sds_studio.distributed

bench-bus: install services
	@$(PY) python benchmarks/bus.py

bench-synthesis: install
	@$(PY) python benchmarks/synthesis.py

bench-gateway: install services
	@$(PY) python benchmarks/gateway.py

bench-audit: install services
	@$(PY) python benchmarks/audit.py

bench-peers: install   ## our synthesizers against ctgan, smartnoise-synth and mostlyai-engine (own venvs)
	@UV=$(UV) $(PY) python benchmarks/peers.py

bench-suite: install   ## 12 real public tables: ours (defaults / reviewed schema) against the DP peers
	@UV=$(UV) $(PY) python benchmarks/suite.py $(SUITE_ARGS)

clean:
	rm -rf .venv .mypy_cache .ruff_cache .pytest_cache
