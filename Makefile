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

.PHONY: setup run test docs lock clean-output

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
.PHONY: bench
bench: $(STAMP)
	$(BIN)/python bench/run_benchmarks.py $(BENCH_ARGS)

# Regenerate the README's data dictionary from schemas/.
docs: $(STAMP)
	$(BIN)/python -m newsflow.catalog README.md

# Re-resolve the pinned dependencies after editing pyproject.toml.
lock: $(STAMP)
	$(BIN)/uv pip compile --quiet pyproject.toml --extra dev --python-version 3.11 \
		--generate-hashes --no-header -o requirements.lock

clean-output:
	find output -mindepth 1 -not -name .gitkeep -delete
