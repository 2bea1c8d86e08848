"""The news-pipeline flow. It only wires the stages:
ingest → clean → language → duplicates → groups → extract → validate → publish.

Every stage is a plain function in newsflow.stages; here each runs as a Prefect task. The
flow holds the output folder's lock for the whole run, publishes one release, and records
the run in the runs table whatever its outcome.
"""

import time
from dataclasses import replace
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from newsflow.batch import Batch
from newsflow.runs import RunRecord, commit_metadata, new_run_id, utc_now
from newsflow.settings import Settings
from newsflow.stages import clean, duplicates, extract, groups, ingest, language, publish, validate

# Frames are passed in memory; hashing them for a cache key would cost more than the stage.
stage_task = task(cache_policy=NO_CACHE)


def run_stage(stage, batch: Batch, settings: Settings) -> Batch:
    """A stage's run(), timed: the seconds go to runs.stage_seconds."""
    started = time.perf_counter()
    return stage.run(batch, settings).timed(stage.__name__.rsplit(".", 1)[-1], time.perf_counter() - started)


@stage_task(name="prepare output")
def prepare_output(batch: Batch, settings: Settings) -> list[str]:
    restored = publish.recover_interrupted_run(settings, commit_metadata(batch))
    publish.ensure_tables(settings, commit_metadata(batch))
    return restored


@stage_task(name="ingest articles")
def ingest_articles(batch: Batch, settings: Settings) -> Batch:
    return run_stage(ingest, batch, settings)


@stage_task(name="clean articles")
def clean_articles(batch: Batch, settings: Settings) -> Batch:
    return run_stage(clean, batch, settings)


@stage_task(name="detect languages")
def detect_languages(batch: Batch, settings: Settings) -> Batch:
    return run_stage(language, batch, settings)


@stage_task(name="find duplicates")
def find_duplicates(batch: Batch, settings: Settings) -> Batch:
    return run_stage(duplicates, batch, settings)


@stage_task(name="group copies and stories")
def group_documents(batch: Batch, settings: Settings) -> Batch:
    return run_stage(groups, batch, settings)


@stage_task(name="extract fields")
def extract_fields(batch: Batch, settings: Settings) -> Batch:
    return run_stage(extract, batch, settings)


@stage_task(name="validate tables")
def validate_tables(batch: Batch, settings: Settings) -> Batch:
    batch = run_stage(validate, batch, settings)
    print(f"validation: {batch.validation['expectations_evaluated']} expectations; Data Docs: {batch.validation['data_docs']}")
    return batch


@stage_task(name="publish tables")
def publish_tables(batch: Batch, settings: Settings) -> Batch:
    return run_stage(publish, batch, settings)


@stage_task(name="record run")
def record_run(batch: Batch, settings: Settings, error: BaseException | None = None) -> RunRecord:
    record = RunRecord.of(batch, error)
    record.table_versions = {t: v for t, v in publish.current_versions(settings.output_dir).items() if t != "runs"}
    record.table_versions["runs"] = publish.record_run(record, settings, commit_metadata(batch))  # shown, not stored
    return record


@flow(name="news-pipeline", log_prints=True)
def news_pipeline(source: Path = Path("seeds"), output: Path = Path("output"), full_refresh: bool = False) -> RunRecord:
    """Read the new and changed articles in `source`, clean and validate them, and publish them in `output`."""
    settings = Settings(source_dir=source, output_dir=output, full_refresh=full_refresh)
    started_at = utc_now()
    batch = Batch(run_id=new_run_id(started_at), started_at=started_at, flow_run_id=flow_run.id)
    with publish.exclusive_run(settings.output_dir, batch.run_id, settings.lock_wait_seconds):
        prepare_output(batch, settings)
        try:
            batch = ingest_articles(batch, settings)
            batch = clean_articles(batch, settings)
            batch = detect_languages(batch, settings)
            batch = find_duplicates(batch, settings)
            batch = group_documents(batch, settings)
            batch = extract_fields(batch, settings)
            batch = validate_tables(batch, settings)
            batch = publish_tables(batch, settings)
        except Exception as error:
            if isinstance(error, validate.ValidationFailed):
                batch = replace(batch, validation=error.summary)
            record_run(batch, settings, error)
            raise
        if not batch.published:
            get_run_logger().info("nothing new in %s: no table changed but runs", source)
        return record_run(batch, settings)
