# newsflow — `make run` runs the pipeline once over seeds/, `make test` runs the suite.
# Both create .venv from requirements.lock on first use (only python3 and make needed).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-from-lock

# Prefect keeps its database and settings inside the project; no telemetry (there is no network).
export PREFECT_HOME ?= $(CURDIR)/.prefect
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1
export GX_ANALYTICS_ENABLED := false

.PHONY: setup run test bench server serve docs lock clean-output

setup: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation --editable .
	touch $@

run: $(STAMP)
	$(BIN)/newsflow run --source seeds --output output

test: $(STAMP)
	$(BIN)/python -m pytest

# The benchmark suite (bench/run_benchmarks.py --help); e.g. make bench BENCH_ARGS="--skip-synthetic".
bench: $(STAMP)
	$(BIN)/python bench/run_benchmarks.py $(BENCH_ARGS)

# A local Prefect server and UI at http://127.0.0.1:4200 (its database lives in .prefect/).
server: $(STAMP)
	$(BIN)/prefect server start --host 127.0.0.1 --port 4200

# The deployments of prefect.yaml served from this process, reporting to `make server`.
serve: $(STAMP)
	PREFECT_API_URL=http://127.0.0.1:4200/api $(BIN)/newsflow serve

# Regenerate docs/CONFIGURATION.md and docs/DATA_DICTIONARY.md from the code and schemas/
docs: $(STAMP)
	$(BIN)/python -m newsflow.docs

# Re-resolve the pinned dependencies after editing pyproject.toml.
lock: $(STAMP)
	$(BIN)/uv pip compile --quiet pyproject.toml --extra dev --python-version 3.11 \
		--generate-hashes --no-header -o requirements.lock

clean-output:
	find output -mindepth 1 -not -name .gitkeep -delete
