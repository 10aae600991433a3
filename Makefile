# Thin wrappers: every target bootstraps what it needs on first run.
#   make lab        the local lab (no AWS account)      make test    the whole test suite
#   make synth      synth + compliance gate (exit 1 on any unacknowledged finding)
#   make deploy ACCOUNT=123456789012 REGION=us-east-1 [PROFILE=lab]   make destroy (same vars)
PROFILE ?= lab
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CDK := npx --offline cdk --no-notices
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_CLI_TELEMETRY := true

.PHONY: bootstrap lab test synth lint deploy destroy review bench bench-accuracy mutation clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json
	npm install --no-audit --no-fund
	touch $@

bootstrap: $(VENV)/.installed

lab: bootstrap
	$(PY) -m labctl lab --profile $(PROFILE)

test: bootstrap
	$(PY) -m pytest

synth: bootstrap
	$(PY) -m labctl synth --profile $(PROFILE)

lint: bootstrap
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy infra pipelines labctl

bench: bootstrap
	$(PY) benchmarks/bench_synth.py

# Test accuracy over 5 split seeds x 2 tuner seeds (about 10 x 15 s on 2 cores).
bench-accuracy: bootstrap
	nice $(PY) benchmarks/bench_accuracy.py

# Mutation testing of the core modules (slow, not part of `make test`): MODULES=producer
# endpoint ... to choose, MUTATION_LIMIT=seconds per module (default 1200). See tests/MUTANTS.md.
mutation: bootstrap
	$(PY) tests/mutation/run.py $(MODULES)

review: synth
	@echo "templates and validation-report.json are in cdk.out.$(PROFILE)/"

_account:
	@test -n "$(ACCOUNT)" || { echo "set ACCOUNT=<12-digit id> REGION=<region> (profile $(PROFILE))"; exit 2; }
	@test -n "$(REGION)" || { echo "set REGION=<region>"; exit 2; }

deploy: bootstrap node_modules/.installed _account
	$(CDK) deploy --all -c profile=$(PROFILE) -c account=$(ACCOUNT) -c region=$(REGION) --require-approval broadening

# Deletes registered model versions first (a non-empty group blocks its stack's deletion)
# and includes the serving stacks the delivery pipeline deployed.
destroy: bootstrap node_modules/.installed _account
	$(PY) -m labctl teardown --profile $(PROFILE) --account $(ACCOUNT) --region $(REGION) --yes

clean:
	rm -rf cdk.out cdk.out.* .lab .pytest_cache
