"""The same flow on Dask: batches side by side on a 2-worker local cluster, the same tables as one at a time."""

import polars as pl
from prefect_dask import DaskTaskRunner

from conftest import SEEDS

from newsflow import datasets

# Columns that say when or by which run a row was written, not what it holds.
RUN_COLUMNS = ("run_id", "ingested_at", "first_seen_at")
TABLES = ("documents", "paragraphs", "entities", "quotes", "quantities", "duplicates", "stories", "quarantine")


def published(output) -> dict[str, pl.DataFrame]:
    tables = {}
    for table in TABLES:
        frame = datasets.load(table, output_dir=output).drop(RUN_COLUMNS, strict=False)
        scalar = [name for name, dtype in frame.schema.items() if not dtype.is_nested()]
        tables[table] = frame.sort(scalar, nulls_last=True)  # a total order: ties in a few columns would depend on the runner
    return tables


def test_dask_runner_publishes_what_the_default_runner_publishes(tmp_path, prefect_server, monkeypatch):
    from newsflow.pipeline import news_pipeline

    monkeypatch.setenv("NEWSFLOW_LANGUAGE_WORKERS", "1")
    monkeypatch.setenv("NEWSFLOW_NER_PROCESSES", "1")
    default = news_pipeline(source=SEEDS, output=tmp_path / "threads", batch_size=2)
    on_dask = news_pipeline.with_options(
        task_runner=DaskTaskRunner(cluster_kwargs={"n_workers": 2, "threads_per_worker": 1, "processes": True})
    )(source=SEEDS, output=tmp_path / "dask", batch_size=2)

    assert default.status == on_dask.status == "completed"
    assert on_dask.counts["documents_published"] == default.counts["documents_published"] == 5
    ours, theirs = published(tmp_path / "threads"), published(tmp_path / "dask")
    for table in TABLES:
        assert ours[table].equals(theirs[table]), table
    assert ours["entities"].height > 100 and ours["stories"]["n_docs"].to_list() == [5]
