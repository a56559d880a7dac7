# make help lists the targets. Options: make up SCALE=4 HTTP_PORT=9090
.DEFAULT_GOAL := help
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

# Make variables reach compose and scripts. Image names are NOT set here: compose reads
# them from .env (written by make offline-images) or uses its own defaults.
export

# SCALE: the api replica count, under this one name everywhere: make up and scale, the
# benchmark's many profile and --workers comparison, the swarm and the Node reference's
# workers. Its one default: one replica per core, as the article's cluster forks one
# worker per CPU. compose, bench and scripts read it from the environment (exported).
SCALE ?= $(shell nproc)
HTTP_PORT ?= 8080
# The replicas' interpreter: cpython, or pypy (a JIT: the article's job ~40x faster).
RUNTIME ?= cpython
ifeq ($(filter cpython pypy,$(RUNTIME)),)
$(error RUNTIME=$(RUNTIME) is not a runtime: use RUNTIME=cpython or RUNTIME=pypy)
endif
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST := $(VENV)/bin/pytest
COMPOSE ?= docker compose
# The stock nginx command in the running container: compose mounts nginx/ at /etc/nginx.
NGINX_EXEC := $(COMPOSE) exec -T nginx nginx
# The seed article's Node cluster, a yardstick beside the stack (reference/node-cluster/).
# Its .env links to ours, so NODE_IMAGE from make offline-images applies here too.
NODE_COMPOSE := $(COMPOSE) -f reference/node-cluster/compose.yml
DOCKERFILES := service/Dockerfile lab/node/Dockerfile monitoring/nginx-log-exporter/Dockerfile acme/Dockerfile $(wildcard reference/*/Dockerfile)

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z0-9-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# Each target sets up what it runs, once: Docker, compose v2, k6 and .venv, then only
# the base images it needs, pulled or (no registry) built as stand-ins on first use.
SETUP := bash scripts/setup.sh
STACK_IMAGES := PYTHON_IMAGE NGINX_IMAGE $(if $(filter pypy,$(RUNTIME)),PYPY_IMAGE)
MONITOR_IMAGES := PROMETHEUS_IMAGE NGINX_EXPORTER_IMAGE
NODE_IMAGES := NODE_IMAGE NODE_BUILD_IMAGE
RUNTIME_IMAGES := PYTHON_IMAGE PYPY_IMAGE NGINX_IMAGE

.PHONY: setup
setup: ## Install and start what every test needs: Docker, compose v2, k6, ab, .venv, every base image
	$(SETUP)

.PHONY: offline-images
offline-images: ## Build stand-in base images from Debian packages (no registry) and record them in .env
	bash scripts/offline-images.sh

.PHONY: build
build: ## Build the api image
	$(COMPOSE) build

.PHONY: up
up: ## Start nginx + SCALE replicas (default: one per core) and wait until healthy
	$(SETUP) images $(STACK_IMAGES)
	$(COMPOSE) up -d --build --wait --scale api=$(SCALE)
	@echo "up: $(SCALE) replicas behind http://localhost:$(HTTP_PORT)/api"

.PHONY: scale
scale: ## Change the replica count of a running stack to SCALE; nginx picks them up by itself
	$(COMPOSE) up -d --wait --no-recreate --scale api=$(SCALE) api

.PHONY: rollout
rollout: ## Zero-downtime rolling restart of every replica (after make build, or a config change)
	$(PY) scripts/rollout.py

.PHONY: down
down: ## Stop and remove the stack, monitoring included (its data volume stays)
	$(COMPOSE) --profile '*' down --remove-orphans

.PHONY: ps
ps: ## Show the containers and their health
	$(COMPOSE) ps

.PHONY: logs
logs: ## Follow the logs of nginx and every replica
	$(COMPOSE) logs -f --tail=50

.PHONY: reload
reload: ## Check, then gracefully reload the running nginx (after editing nginx/upstream.conf)
	$(NGINX_EXEC) -t -q
	$(NGINX_EXEC) -s reload
	@echo "reload: nginx reloaded; old workers finish their requests first"

.PHONY: certs
certs: ## A local CA and a certificate for localhost in nginx/certs/, for NGINX_TLS=on (the CA stays in .local-ca/)
	bash scripts/certs.sh

.PHONY: acme-renew
acme-renew: ## With the acme profile: renew the certificate now, install it and reload nginx (certbot's deploy hook)
	$(COMPOSE) --profile acme exec -T acme certbot renew --force-renewal

.PHONY: nginx-check
nginx-check: ## nginx -t on the real config files, limits off and on, TLS off and on, in the nginx image the stack runs (no stack needed)
	$(SETUP) images NGINX_IMAGE
	image=$$($(PY) scripts/images.py NGINX_IMAGE); \
	certs=$$(mktemp -d); chmod 755 "$$certs"; trap 'rm -rf "$$certs"' EXIT; \
	CA_DIR="$$certs/ca" bash scripts/certs.sh "$$certs" >/dev/null; \
	for mode in limits-off limits-on tls-on; do \
	    echo "nginx-check: nginx/ with $$mode.conf"; \
	    docker run --rm --network none --read-only --tmpfs /tmp -u 101:101 \
	        --mount "type=bind,source=$(CURDIR)/nginx,target=/etc/nginx,readonly" \
	        --mount "type=bind,source=$(CURDIR)/nginx/$$mode.conf,target=/etc/nginx/$${mode%-*}.conf,readonly" \
	        --mount "type=bind,source=$$certs,target=/etc/nginx/certs,readonly" \
	        "$$image" nginx -t; \
	done

PROMETHEUS_PORT ?= 9090
GRAFANA_PORT ?= 3000
# GRAFANA=1 adds Grafana with the dashboard (official image only: no offline stand-in).
WITH_GRAFANA := $(filter 1 yes true,$(GRAFANA))
MONITOR_SERVICES := prometheus nginx-exporter nginx-log-exporter $(if $(WITH_GRAFANA),grafana)
.PHONY: monitor
monitor: ## Prometheus and the nginx exporters beside the stack (started if down, scale kept), GRAFANA=1; prints the URLs
	$(SETUP) images $(STACK_IMAGES) $(MONITOR_IMAGES)
	$(COMPOSE) --profile monitoring $(if $(WITH_GRAFANA),--profile grafana) up -d --build --wait --no-recreate \
	    $(MONITOR_SERVICES)
	@echo "monitor: Prometheus at http://localhost:$(PROMETHEUS_PORT) (targets: /targets, alerts: /alerts)," \
	    "scraping $$($(COMPOSE) ps -q api | wc -l) api replicas"
	@echo "monitor: $(if $(WITH_GRAFANA),Grafana at http://localhost:$(GRAFANA_PORT),GRAFANA=1 adds Grafana);" \
	    "PromQL to start with: docs/monitoring.md"

# promtool from the Prometheus image, on monitoring/prometheus/ at the image's /etc/prometheus,
# as the stack mounts it (relative rule_files resolve there). /tmp: promtool test's storage.
# https://prometheus.io/docs/prometheus/latest/configuration/unit_testing_rules/
PROMTOOL := docker run --rm --network none --read-only --tmpfs /tmp -u 65534:65534 \
	--mount "type=bind,source=$(CURDIR)/monitoring/prometheus,target=/etc/prometheus,readonly" \
	-w /etc/prometheus --entrypoint /bin/promtool

.PHONY: monitor-check
monitor-check: ## promtool on monitoring/prometheus/: check the alert rules, run their unit test, check prometheus.yml (no stack needed)
	$(SETUP) images PROMETHEUS_IMAGE
	image=$$($(PY) scripts/images.py PROMETHEUS_IMAGE); \
	$(PROMTOOL) "$$image" check rules alerts.yml; \
	$(PROMTOOL) "$$image" test rules alerts.test.yml; \
	$(PROMTOOL) "$$image" check config prometheus.yml

# The swarm lab: NODES Docker engines as containers on this host, a swarm of them, and a
# registry. LAB=1 points the swarm-* targets at it: make lab-up && make swarm-up LAB=1 SCALE=6
NODES ?= 3
.PHONY: lab-up
lab-up: ## Swarm lab: NODES engines (default 3) in containers, 1 manager + workers, a registry; nginx later on HTTP_PORT
	$(SETUP) images PYTHON_IMAGE REGISTRY_IMAGE
	$(PY) scripts/lab.py up

.PHONY: lab-exec
lab-exec: ## Swarm lab: run CMD on the manager, e.g. make lab-exec CMD='docker node ls'
	$(PY) scripts/lab.py exec $(CMD)

.PHONY: lab-down
lab-down: ## Swarm lab: remove its nodes, registry, network and volumes (and the stack on it)
	$(PY) scripts/lab.py down

.PHONY: swarm-up
swarm-up: ## Swarm: build the api image, deploy the stack with SCALE replicas, nginx on HTTP_PORT (docker swarm init, or LAB=1)
	$(SETUP) images $(STACK_IMAGES)
	$(PY) scripts/swarm.py up

.PHONY: swarm-scale
swarm-scale: ## Swarm: change the api replica count to SCALE; nginx picks the tasks up by itself
	$(PY) scripts/swarm.py scale

.PHONY: swarm-rollout
swarm-rollout: ## Swarm: rebuild, then a rolling update of every api task (start-first, rolls back on failure)
	$(SETUP) images $(STACK_IMAGES)
	$(PY) scripts/swarm.py rollout

.PHONY: swarm-down
swarm-down: ## Swarm: remove the stack and wait until it is gone (the swarm itself stays)
	$(PY) scripts/swarm.py down

.PHONY: node-up
node-up: ## The article's Node cluster, for comparison: build, start, wait healthy (SCALE workers, NODE_PORT)
	$(SETUP) images $(NODE_IMAGES)
	$(NODE_COMPOSE) up -d --build --wait
	@echo "node-up: the article's Express cluster at http://$$($(NODE_COMPOSE) port node 3000)/api"

.PHONY: node-down
node-down: ## Stop and remove the Node cluster
	$(NODE_COMPOSE) down --remove-orphans

# gixy's status_page_exposed wants allow/deny inside the stub_status location itself; the
# ones in nginx/sites/status.conf are on its server, which the location inherits:
# https://nginx.org/en/docs/http/ngx_http_access_module.html (a false positive).
# host_spoofing flags `proxy_set_header Host $http_host` (conf.d/proxy.conf): nginx has
# already refused a malformed Host (400), the one public server takes any name, and $host
# would drop the port the app's own URLs need. https://www.uvicorn.org/deployment/#running-behind-nginx
GIXY_SKIPS := status_page_exposed,host_spoofing

.PHONY: lint
lint: lint-setup ## Static checks, as CI runs them: ruff, mypy --strict, shellcheck, hadolint, gixy, k8s-check
	$(VENV)/bin/ruff check
	$(VENV)/bin/mypy
	$(VENV)/bin/shellcheck scripts/*.sh service/healthcheck.sh monitoring/nginx-log-exporter/healthcheck.sh \
		lab/node/entrypoint.sh .ci/run acme/acme-edge
	$(VENV)/bin/hadolint $(DOCKERFILES)
	$(VENV)/bin/gixy --skips $(GIXY_SKIPS) nginx/nginx.conf
	$(MAKE) --no-print-directory k8s-check

.PHONY: k8s-check
k8s-check: lint-setup ## Kubernetes manifests, offline: kustomize build of each overlay, strict schemas (1.30, 1.37), checkov
	$(PY) scripts/k8s_check.py

.PHONY: lint-setup
lint-setup: ## Install .venv, the pinned lint tools and the Kubernetes checkers (requirements-lint.txt, -k8s.txt); cheap once done
	bash scripts/setup.sh lint

.PHONY: test
test: setup ## Set up, then run every test: unit, config and end-to-end in Docker, on both runtimes
	$(PYTEST) --ignore=$(PYPY_ONLY)
	$(MAKE) --no-print-directory test-e2e-pypy

.PHONY: test-unit
test-unit: ## Unit tests of the service and the benchmark code (no Docker)
	$(PYTEST) -m unit

.PHONY: test-e2e
test-e2e: setup ## End-to-end tests against the real compose stack
	$(PYTEST) -m e2e --ignore=$(PYPY_ONLY)

# What a replica must do on any runtime; the rest of the e2e suite is about nginx and ops.
PYPY_ONLY := tests/e2e/test_pypy.py
PYPY_E2E := tests/e2e/test_stack.py tests/e2e/test_resilience.py tests/e2e/test_input.py \
	tests/e2e/test_shedding.py tests/e2e/test_posture.py tests/e2e/test_platform_env.py $(PYPY_ONLY)
.PHONY: test-e2e-pypy
test-e2e-pypy: setup ## The replica's end-to-end tests again, on PyPy replicas (RUNTIME=pypy)
	RUNTIME=pypy $(PYTEST) -m e2e $(PYPY_E2E)

.PHONY: chaos
chaos: setup ## Overload at 3x capacity and a slow-client flood against the stack as shipped
	$(PYTEST) -m chaos

.PHONY: test-config
test-config: ## Cross-file rules (no Docker), nginx -t and docker compose config on the shipped files
	$(PYTEST) -m config

.PHONY: bench
bench: ## Benchmark 1 replica vs SCALE (default: one per core) with k6 (RATE, DURATION, VUS, REPEAT; MONITOR=1: Prometheus)
	$(SETUP) images $(STACK_IMAGES) $(if $(filter 1 yes true on,$(MONITOR)),$(MONITOR_IMAGES))
	$(PY) -m bench compare --profiles one,many

.PHONY: bench-sweep
bench-sweep: ## Capacity at 1, 2, 4, 8 replicas vs ideal linear scaling (SWEEP_SCALES, SWEEP_WORKERS=1)
	$(SETUP) images $(STACK_IMAGES)
	$(PY) -m bench sweep $(if $(filter 1 yes true,$(SWEEP_WORKERS)),--with-workers)

.PHONY: bench-workers
bench-workers: ## Compare SCALE replicas behind nginx with one container running uvicorn --workers SCALE (default: cores)
	$(SETUP) images $(STACK_IMAGES)
	$(PY) -m bench compare --profiles many,workers

.PHONY: bench-rate
bench-rate: ## High request rates: nginx + SCALE replicas vs uvicorn --workers SCALE on GET / and /api?n=1000
	$(SETUP) images $(STACK_IMAGES)
	$(PY) -m bench rate

.PHONY: bench-tls
bench-tls: ## What the edge costs on /api?n=1000: capacity and CPU per request, plain HTTP/1.1 vs HTTPS (kept and new connections) vs HTTP/2; k6 and h2load
	$(SETUP) tls $(STACK_IMAGES)
	$(PY) -m bench tls

.PHONY: bench-balance
bench-balance: ## Balancing methods on mixed job sizes (JOB_MIX, BALANCE_LOADS): round-robin vs least_conn vs the shipped stack, vs --workers and Node, one slow replica
	$(SETUP) images $(STACK_IMAGES) $(NODE_IMAGES)
	$(PY) -m bench balance

.PHONY: bench-runtimes
bench-runtimes: ## CPython and PyPy (1 and SCALE replicas) and the article's Node cluster: its test, then capacity at RUNTIMES_VUS
	$(SETUP) images $(RUNTIME_IMAGES) $(NODE_IMAGES)
	$(PY) -m bench runtimes

.PHONY: bench-breakdown
bench-breakdown: ## Where a request's CPU goes, layer by layer, on CPython and PyPy (SWEEP_DURATION per step)
	$(SETUP) images $(RUNTIME_IMAGES)
	$(PY) -m bench breakdown

.PHONY: bench-warmup
bench-warmup: ## The first 5 s of a PyPy replica under the article's load: cold (API_WARMUP_S=0) vs warmed up
	$(SETUP) images $(RUNTIME_IMAGES)
	$(PY) -m bench warmup

.PHONY: bench-cost
bench-cost: ## Server CPU per /api request against the bare loop, and with metrics on vs off (no Docker)
	$(PY) -m bench cost

.PHONY: plan
plan: ## Replicas each balancing method needs for p95 <= P95_MS at RATE, simulated from a bench result (no Docker; docs/capacity.md)
	$(SETUP) venv
	$(PY) -m bench plan

.PHONY: plan-validate
plan-validate: ## The planner's predictions against the measured bench-balance runs (docs/benchmarks/2core-plan-validation)
	$(SETUP) venv
	$(PY) -m bench plan-validate

.PHONY: bench-host
bench-host: ## make bench without Docker: replicas as host processes behind a host nginx (NGINX=path)
	$(SETUP) host
	$(PY) -m bench --backend host compare --profiles one,many

.PHONY: bench-host-sweep
bench-host-sweep: ## make bench-sweep without Docker, for a many-core box (replicas pinned with taskset)
	$(SETUP) host
	$(PY) -m bench --backend host sweep
