"""The news-pipeline flow. It only wires the stages:

    plan → per batch of files: ingest → clean → language → signatures → extract → validate → stage
         → groups (copies and stories, over the whole run) → validate → publish

Every stage is a plain function in newsflow.stages; here each runs as a Prefect task. Batches
keep memory flat: each batch's document tables are staged on disk, and the run publishes one
release at the end. The flow holds the output folder's lock for the whole run, records the run
in the runs table whatever its outcome, and leaves artifacts for the Prefect UI.
"""

import time

from prefect import flow, get_run_logger, task, unmapped
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.tasks import exponential_backoff

from newsflow import artifacts, parameters
from newsflow.batch import Batch
from newsflow.quality import gx
from newsflow.quality.summary import ValidationFailed
from newsflow.runs import RunRecord, commit_metadata, new_run_id, utc_now
from newsflow.runtime import progress, workers
from newsflow.settings import Settings
from newsflow.stages import clean, extract, groups, ingest, language, plan, publish, signatures, validate
from newsflow.storage import releases, staging
from newsflow.storage.lock import output_lock
from newsflow.storage.stores import check_object_stores


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


def timed(name: str, function, batch: Batch, settings: Settings) -> Batch:
    """A stage function, timed: the seconds go to runs.stage_seconds."""
    started = time.perf_counter()
    return function(batch, settings).timed(name, time.perf_counter() - started)


@io_task(name="prepare output")
def prepare_output(batch: Batch, settings: Settings) -> list[str]:
    return releases.prepare_output(settings, commit_metadata(batch))


def step_task(name: str, key: str, function, kind=stage_task):
    """A step as a task named `name`, timed under `key` (runs.stage_seconds)."""

    def step(batch: Batch, settings: Settings) -> Batch:
        return timed(key, function, batch, settings)

    step.__name__ = step.__qualname__ = name.replace(" ", "_")  # Prefect keys a task by its function's name
    return kind(name=name)(step)


plan_run = step_task("plan run", "plan", plan.run, io_task)
ingest_articles = step_task("ingest articles", "ingest", ingest.run, io_task)
clean_articles = step_task("clean articles", "clean", clean.run)
detect_languages = step_task("detect languages", "language", language.run)
compute_signatures = step_task("compute signatures", "signatures", signatures.run)
extract_fields = step_task("extract fields", "extract", extract.run)
validate_tables = step_task("validate tables", "validate", validate.run)
stage_tables = step_task("stage tables", "stage", staging.park_batch, io_task)


@stage_task(name="process batch")
def process_batch(batch: Batch, settings: Settings) -> Batch:
    """One batch of the run's files through the per-document stages; its document tables are staged.

    Its NER starts in the worker processes once its languages are known, and runs while its signatures are computed
    here (extract.start; the extract stage collects it). On Dask the batches run side by side.
    """
    language.start_workers(settings, len(batch.sources))  # they start while the batch is read and cleaned
    extract.start_workers(settings, len(batch.sources))
    batch = ingest_articles(batch, settings)
    batch = clean_articles(batch, settings)
    batch = detect_languages(batch, settings)
    extract.start(batch, settings)
    batch = compute_signatures(batch, settings)
    batch = extract_fields(batch, settings)
    batch = validate_tables(batch, settings)
    return stage_tables(batch, settings)


@stage_task(name="find copies and stories")
def find_copies_and_stories(batch: Batch, settings: Settings) -> Batch:
    return timed("groups", groups.run, staging.staged_signatures(batch, settings), settings)


@io_task(name="publish tables")
def publish_tables(batch: Batch, settings: Settings) -> Batch:
    return timed("publish", publish.run, staging.staged(batch, settings), settings)


@io_task(name="record run")
def record_run(batch: Batch, settings: Settings, error: BaseException | None = None) -> RunRecord:
    if batch.validation is not None:  # once per run, for every table and batch it validated (and a failed one)
        batch = timed("data docs", gx.build_data_docs, batch, settings)
    record = RunRecord.of(batch, settings, error)
    releases.record_run(record, settings, commit_metadata(batch))
    staging.discard_staging(settings.output_dir)
    artifacts.publish_run_artifacts(record, batch, settings)
    return record


def process_batches(run: Batch, settings: Settings) -> Batch:
    """Every batch of the run through the per-document stages, absorbed in order (one at a time on the default runner).

    Measured on bbc-news (3 runs each way, docs/PERFORMANCE.md): reading the next batch in this process while the
    workers ran the previous one's NER made the run slower (median 81.2 s against 76.6 s): on two cores the flow's
    stages took CPU from the NER rather than filling idle time.
    """
    done = 0
    progress.report("documents", done, len(run.sources))
    for future in process_batch.map(run.batches(settings.batch_size), unmapped(settings)):
        part = future.result()
        run = run.absorb(part)
        done += len(part.sources)
        progress.report("documents", done, len(run.sources))
    return run


# One batch at a time by default, so memory stays flat; `newsflow run --task-runner dask` spreads them.
@flow(name="news-pipeline", log_prints=True, task_runner=ThreadPoolTaskRunner(max_workers=1))
def news_pipeline(
    source: parameters.SourceFolder | None = parameters.SOURCE,
    output: parameters.OutputFolder | None = parameters.OUTPUT,
    full_refresh: bool | None = parameters.FULL_REFRESH,
    batch_size: parameters.BatchSize | None = parameters.BATCH_SIZE,
    allow_mass_delete: bool | None = parameters.ALLOW_MASS_DELETE,
) -> RunRecord:
    """Read the new and changed articles in `source`, clean, analyse and validate them, and publish them in `output`."""
    settings = parameters.run_settings(
        source=source, output=output, full_refresh=full_refresh, batch_size=batch_size, allow_mass_delete=allow_mass_delete
    )
    check_object_stores(settings.source_dir, settings.output_dir)
    progress_artifact = artifacts.ProgressArtifact()
    with (
        output_lock(settings.output_dir, f"flow run {flow_run.id}", settings),
        progress.listening(progress_artifact),
    ):
        started_at = utc_now()  # once the lock is held: runs start, and release, in the order they publish
        run = Batch(run_id=new_run_id(started_at), started_at=started_at, flow_run_id=flow_run.id)
        prepare_output(run, settings)
        try:
            run = plan_run(run, settings)
            with workers.kept():  # the language and NER worker processes serve every batch, then stop
                run = process_batches(run, settings)
            run = find_copies_and_stories(run, settings)
            run = validate_tables(run, settings)
            run = publish_tables(run, settings)
        except Exception as error:
            if isinstance(error, ValidationFailed):
                run = run.updated(validated=error.summary)
            record_run(run, settings, error)
            progress_artifact.update(100.0, f"failed: {error}"[:200])  # ended: the description says how
            raise
        if not run.published:
            get_run_logger().info("nothing new in %s: no table changed but runs", settings.source_dir)
        record = record_run(run, settings)
        progress_artifact.update(100.0, f"completed: {len(run.sources)} document(s) processed")
        return record
