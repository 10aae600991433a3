# Thin wrappers: every target bootstraps what it needs on first run.
#   make lab        the local lab (no AWS account)      make test    the whole test suite
#   make synth      synth + compliance gate (exit 1 on any unacknowledged finding)
#   make build-parity  the delivery buildspecs' install + commands in a fresh clone (~2 min)
#   make cdk-bootstrap ACCOUNT=123456789012 REGION=us-east-1   (once per account/region)
#   make deploy ACCOUNT=123456789012 REGION=us-east-1 [PROFILE=lab]   make destroy (same vars)
PROFILE ?= lab
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CDK := npx --offline cdk --no-notices
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_CLI_TELEMETRY := true

.PHONY: bootstrap cdk-bootstrap lab test build-parity synth lint deploy destroy cost review bench bench-accuracy mutation clean

# The project itself goes in editable (`labctl` on the venv's PATH, reading config/,
# model_code/ and cdk.json from this checkout); --no-deps: requirements*.txt pin them.
$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

node_modules/.installed: package.json
	npm install --no-audit --no-fund
	touch $@

bootstrap: $(VENV)/.installed

lab: bootstrap
	$(VENV)/bin/labctl lab --profile $(PROFILE)

# Two workers, whole files to each (module fixtures run once); the session synths are shared
# between them through a file-locked folder (tests/conftest.py). TEST_WORKERS=0: one process.
TEST_WORKERS ?= 2
test: bootstrap
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile

# The delivery Build and SmokeTest as their buildspecs install and run them, in a fresh clone of
# HEAD (commit first) with a clean venv: what `make test`'s dev venv cannot show (DEPLOYABILITY 5).
build-parity: bootstrap
	$(PY) -m pytest -m build_parity tests/infra/test_build_parity.py

# The full validation before a deploy: the gate plus CDK's built-in CloudFormation validation,
# which the inner loop (make lab, make test, labctl synth) leaves to cfn-lint.
synth: bootstrap
	$(VENV)/bin/labctl synth --profile $(PROFILE) --cfn-validate

lint: bootstrap
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/mypy model_code pipelines core infra assurance ops lab labctl

bench: bootstrap
	$(PY) benchmarks/bench_synth.py
	$(PY) benchmarks/bench_synth_floor.py
	$(PY) benchmarks/bench_drift.py

# Test accuracy over 5 split seeds x 2 tuner seeds (about 10 x 15 s on 2 cores).
bench-accuracy: bootstrap
	nice $(PY) benchmarks/bench_accuracy.py

# Mutation testing of the core modules (slow, not part of `make test`): MODULES=producer
# endpoint ... to choose, MUTATION_LIMIT=seconds per module (default 1200). See tests/MUTANTS.md.
mutation: bootstrap
	$(PY) tests/mutation/run.py $(MODULES)

# One synth (example packages when no release file), then review.$(PROFILE)/review.html + .md.
review: bootstrap
	$(VENV)/bin/labctl review --profile $(PROFILE)

_account:
	@test -n "$(ACCOUNT)" || { echo "set ACCOUNT=<12-digit id> REGION=<region> (profile $(PROFILE))"; exit 2; }
	@test -n "$(REGION)" || { echo "set REGION=<region>"; exit 2; }

# The pinned CDK CLI lives in node_modules: install it before the first `cdk bootstrap`.
cdk-bootstrap: _account bootstrap node_modules/.installed
	$(CDK) bootstrap aws://$(ACCOUNT)/$(REGION) -c profile=$(PROFILE) -c account=$(ACCOUNT) -c region=$(REGION)

deploy: bootstrap node_modules/.installed _account
	$(CDK) deploy --all -c profile=$(PROFILE) -c account=$(ACCOUNT) -c region=$(REGION) --require-approval broadening --outputs-file outputs-$(PROFILE).json

# labctl teardown: plan -> destroy -> sweep -> verify -> report (docs/operations.md).
# DELETE_RETAINED=1 also deletes the data the retain profile keeps. Three accounts: one source
# per account, CREDENTIALS="tooling=profile:tooling staging=profile:staging production=role:ARN".
destroy: bootstrap _account
	$(VENV)/bin/labctl teardown --profile $(PROFILE) --account $(ACCOUNT) --region $(REGION) --yes \
		$(if $(DELETE_RETAINED),--delete-retained) $(foreach c,$(CREDENTIALS),--credentials $(c)) \
		--json teardown-$(PROFILE).json

cost: bootstrap
	$(VENV)/bin/labctl cost --profile $(PROFILE) --all-kinds

clean:
	rm -rf cdk.out cdk.out.* review.* .lab .pytest_cache
