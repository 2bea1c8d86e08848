"""Shared fixtures: a private Prefect home and server, a private GX project, the seed articles, one pipeline run over them."""

import os
import tempfile
from pathlib import Path

# Before anything imports Prefect: a throwaway Prefect home, no telemetry (there is no network).
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="newsflow-test-prefect-")
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["GX_ANALYTICS_ENABLED"] = "false"
os.environ["DO_NOT_TRACK"] = "1"
# Validation results and Data Docs of the test runs stay out of the project's gx/.
os.environ["NEWSFLOW_GX_DIR"] = tempfile.mkdtemp(prefix="newsflow-test-gx-")

import polars as pl  # noqa: E402
import pytest  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SEEDS = PROJECT_ROOT / "seeds"


@pytest.fixture(scope="session")
def prefect_server():
    """One temporary Prefect server for the whole session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def seeds_run(tmp_path_factory, prefect_server):
    """The news-pipeline flow run once over the seeds; returns (output folder, run record)."""
    from newsflow.pipeline import news_pipeline

    output = tmp_path_factory.mktemp("seeds-output")
    record = news_pipeline(source=SEEDS, output=output)
    return output, record


def read_table(output: Path, table: str) -> pl.DataFrame:
    return pl.read_delta(str(output / table))


def seed_doc(documents: pl.DataFrame, prefix: str) -> dict:
    """The document row of the seed whose file name starts with `prefix` (000 ... 004)."""
    return documents.filter(pl.col("source_uri").str.starts_with(prefix)).row(0, named=True)
