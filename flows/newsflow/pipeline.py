"""The news-pipeline flow. It only wires the stages: ingest → clean → extract → publish.

Every stage is a plain function in newsflow.stages; here each runs as a Prefect task, and
the flow decides what to publish and records the run, whatever its outcome.
"""

from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from newsflow.batch import Batch
from newsflow.runs import RunRecord, commit_metadata, new_run_id, utc_now
from newsflow.settings import Settings
from newsflow.stages import clean, extract, ingest, publish

# Frames are passed in memory; hashing them for a cache key would cost more than the stage.
stage_task = task(cache_policy=NO_CACHE)


@stage_task(name="ingest articles")
def ingest_articles(batch: Batch, settings: Settings) -> Batch:
    return ingest.run(batch, settings)


@stage_task(name="clean articles")
def clean_articles(batch: Batch, settings: Settings) -> Batch:
    return clean.run(batch, settings)


@stage_task(name="extract fields")
def extract_fields(batch: Batch, settings: Settings) -> Batch:
    return extract.run(batch, settings)


@stage_task(name="publish tables")
def publish_tables(batch: Batch, settings: Settings, metadata: dict[str, str]) -> dict[str, int]:
    return publish.publish_tables(batch, settings, metadata)


@stage_task(name="record run")
def record_run(record: RunRecord, settings: Settings, metadata: dict[str, str]) -> RunRecord:
    record.table_versions = publish.current_versions(settings.output_dir)
    record.table_versions["runs"] = publish.record_run(record, settings, metadata)
    return record


@flow(name="news-pipeline", log_prints=True)
def news_pipeline(source: Path = Path("seeds"), output: Path = Path("output")) -> RunRecord:
    """Read the articles in `source`, clean them and publish them as Delta tables in `output`."""
    settings = Settings(source_dir=source, output_dir=output)
    started_at = utc_now()
    batch = Batch(run_id=new_run_id(started_at), started_at=started_at)
    metadata = commit_metadata(batch.run_id, flow_run.id)
    try:
        batch = ingest_articles(batch, settings)
        batch = clean_articles(batch, settings)
        batch = extract_fields(batch, settings)
        publish_tables(batch, settings, metadata)
    except Exception as error:
        failed = RunRecord(batch.run_id, started_at, utc_now(), "failed", dict(batch.counts), flow_run.id, error=str(error))
        record_run(failed, settings, metadata)
        raise
    counts = {**batch.counts, "documents_published": batch.documents.height, "quarantined": batch.quarantine.height}
    return record_run(RunRecord(batch.run_id, started_at, utc_now(), "completed", counts, flow_run.id), settings, metadata)
