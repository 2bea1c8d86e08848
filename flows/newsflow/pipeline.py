"""The news-pipeline flow. It only wires the stages:
ingest → clean → language → duplicates → stories → extract → validate → publish.

Every stage is a plain function in newsflow.stages; here each runs as a Prefect task. The
flow holds the output folder's lock for the whole run, publishes one release, records the
run in the runs table whatever its outcome, and leaves artifacts for the Prefect UI.
"""

import time
from dataclasses import replace
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.tasks import exponential_backoff

from newsflow import artifacts, parameters, progress
from newsflow.batch import Batch
from newsflow.runs import RunRecord, commit_metadata, new_run_id, utc_now
from newsflow.settings import Settings
from newsflow.stages import clean, duplicates, extract, ingest, language, publish, stories, validate

REPORTING_STAGES = ["ingest", "clean", "language", "duplicates", "stories", "extract"]


def transient_io_error(task, task_run, state) -> bool:
    """Retry reads and writes that failed for a passing reason, not a missing file or a denied permission."""
    try:
        state.result()
    except (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError):
        return False
    except OSError:
        return True
    except Exception:
        return False
    return False


# Frames are passed in memory: no task caches them (hashing a frame costs more than the stage).
stage_task = task(cache_policy=NO_CACHE)
io_task = task(
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=exponential_backoff(backoff_factor=2),
    retry_condition_fn=transient_io_error,
)


def run_stage(stage, batch: Batch, settings: Settings) -> Batch:
    """A stage's run(), timed: the seconds go to runs.stage_seconds."""
    started = time.perf_counter()
    return stage.run(batch, settings).timed(stage.__name__.rsplit(".", 1)[-1], time.perf_counter() - started)


@io_task(name="prepare output")
def prepare_output(batch: Batch, settings: Settings) -> list[str]:
    restored = publish.recover_interrupted_run(settings, commit_metadata(batch))
    publish.ensure_tables(settings, commit_metadata(batch))
    return restored


@io_task(name="ingest articles")
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


@stage_task(name="group stories")
def group_stories(batch: Batch, settings: Settings) -> Batch:
    return run_stage(stories, batch, settings)


@stage_task(name="extract fields")
def extract_fields(batch: Batch, settings: Settings) -> Batch:
    return run_stage(extract, batch, settings)


@stage_task(name="validate tables")
def validate_tables(batch: Batch, settings: Settings) -> Batch:
    batch = run_stage(validate, batch, settings)
    print(f"validation: {batch.validation['expectations_evaluated']} expectations; Data Docs: {batch.validation['data_docs']}")
    return batch


@io_task(name="publish tables")
def publish_tables(batch: Batch, settings: Settings) -> Batch:
    return run_stage(publish, batch, settings)


@io_task(name="record run")
def record_run(batch: Batch, settings: Settings, error: BaseException | None = None) -> RunRecord:
    record = RunRecord.of(batch, error)
    record.table_versions = {t: v for t, v in publish.current_versions(settings.output_dir).items() if t != "runs"}
    record.table_versions["runs"] = publish.record_run(record, settings, commit_metadata(batch))  # shown, not stored
    artifacts.publish_run_artifacts(record, batch)
    return record


@flow(name="news-pipeline", log_prints=True)
def news_pipeline(
    source: parameters.SourceFolder = parameters.SOURCE,
    output: Path = parameters.OUTPUT,
    full_refresh: bool = parameters.FULL_REFRESH,
) -> RunRecord:
    """Read the new and changed articles in `source`, clean, analyse and validate them, and publish them in `output`."""
    settings = Settings(source_dir=source, output_dir=output, full_refresh=full_refresh)
    started_at = utc_now()
    batch = Batch(run_id=new_run_id(started_at), started_at=started_at, flow_run_id=flow_run.id)
    with (
        publish.exclusive_run(settings.output_dir, batch.run_id, settings.lock_wait_seconds),
        progress.listening(artifacts.ProgressArtifact(REPORTING_STAGES)),
    ):
        prepare_output(batch, settings)
        try:
            batch = ingest_articles(batch, settings)
            batch = clean_articles(batch, settings)
            batch = detect_languages(batch, settings)
            batch = find_duplicates(batch, settings)
            batch = group_stories(batch, settings)
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
