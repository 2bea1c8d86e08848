"""What a person sees of a run in the Prefect UI: its progress, a summary, the quarantined
items and a link to the Data Docs. Orchestration only: stages never import this module."""

import time
from pathlib import Path

import polars as pl
from prefect.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)

from newsflow import counters
from newsflow.batch import Batch
from newsflow.quality import gx
from newsflow.runs import RunRecord
from newsflow.settings import Settings
from newsflow.storage.tables import read_published

# Keys group each kind of artifact across runs in the UI (lowercase letters, digits and dashes).
SUMMARY_KEY, QUARANTINE_KEY, DATA_DOCS_KEY, PROGRESS_KEY, VALIDATION_KEY = (
    "news-pipeline-summary",
    "news-pipeline-quarantine",
    "news-pipeline-data-docs",
    "news-pipeline-progress",
    "news-pipeline-validation",
)
_MAX_DETAIL_CHARS = 200


class ProgressArtifact:
    """A progress artifact: the share of the run's documents through the per-batch stages, and the stage at work.

    Within a batch each stage counts for an equal share of the batch (the stages report about 100 times each,
    extract as the NER model's results come in); every run ends at 100%, a failed one saying so. Updated at most every second (each update
    is an API call)."""

    BATCH_STAGES = ("ingest", "clean", "language", "signatures", "extract")
    SECONDS_BETWEEN_UPDATES = 1.0

    def __init__(self):
        self.artifact_id = create_progress_artifact(0.0, key=PROGRESS_KEY, description="planning")
        self.percent = 0.0
        self.documents_done, self.documents = 0, 0  # documents of the finished batches, of the run
        self.last_update = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage == "documents":
            self.documents_done, self.documents = done, total
            share = done / max(total, 1)
        elif stage in self.BATCH_STAGES and self.documents:
            in_batch = (self.BATCH_STAGES.index(stage) + done / max(total, 1)) / len(self.BATCH_STAGES)
            share = (self.documents_done + in_batch * total) / self.documents
        else:
            share = 0.0
        # 100% once the run has ended: what follows the batches (groups, validation, publishing) takes time too
        self.percent = max(self.percent, round(min(99.0, 100 * share), 1))
        if time.monotonic() - self.last_update < self.SECONDS_BETWEEN_UPDATES and stage != "documents":
            return
        self.update(self.percent, f"{stage}: {done} of {total}")

    def update(self, percent: float, description: str) -> None:
        self.last_update = time.monotonic()
        update_progress_artifact(self.artifact_id, percent, description=description)


def publish_run_artifacts(record: RunRecord, batch: Batch, settings: Settings) -> None:
    """The run's summary, its quarantined items and, once validation ran, its validation results and the Data Docs
    link (served by `newsflow docs`)."""
    create_markdown_artifact(summary_markdown(record, batch, settings.output_dir), key=SUMMARY_KEY, description=f"run {record.run_id}")
    rows = batch.quarantine.select("stage", "source_uri", "doc_id", "code", "reason", "detail").with_columns(
        pl.col("detail").str.slice(0, _MAX_DETAIL_CHARS)
    )
    create_table_artifact(rows.to_dicts(), key=QUARANTINE_KEY, description=f"{rows.height} item(s) quarantined by run {record.run_id}")
    if record.validation:
        results = gx.run_results(settings, record.run_id)
        failed = sum(not row["success"] for row in results)
        create_table_artifact(
            results, key=VALIDATION_KEY, description=f"{len(results)} expectation(s) checked by run {record.run_id}, {failed} failed"
        )
        create_link_artifact(
            f"http://127.0.0.1:{settings.data_docs_port}/index.html",
            link_text="Great Expectations Data Docs",
            key=DATA_DOCS_KEY,
            description=f"validation results of run {record.run_id}: start `newsflow docs` on this machine to open them",
        )


def summary_markdown(record: RunRecord, batch: Batch, output_dir: Path) -> str:
    """The run's counters by group (newsflow.counters says what each counts), with the languages published, the
    failed expectations and the tables' versions."""
    lines = [f"# news-pipeline run `{record.run_id}`: {record.status}", ""]
    if record.error:
        lines += [f"**Error:** {record.error}", ""]
    for group, counts in counters.grouped(record.counts).items():
        lines += [f"## {group.capitalize()}", "", ", ".join(f"{name.replace('_', ' ')}: {n}" for name, n in counts.items()) or "-"]
        if group == "languages" and record.status == "completed":
            languages = read_published(output_dir, "documents", ["lang"], where=pl.col("run_id") == record.run_id)
            if languages is not None and not languages.is_empty():
                counted = languages["lang"].value_counts(sort=True).iter_rows()
                lines += ["", "Documents published by language: " + ", ".join(f"{lang}: {n}" for lang, n in counted)]
        if group == "validation" and record.validation:
            validation = record.validation
            lines += ["", f"{len(validation['failures'])} of {validation['expectations_evaluated']} expectations failed."]
            lines += [f"- {f['table']}: `{f['expectation']}` on {', '.join(f['columns'])}" for f in validation["failures"]]
        if group == "tables":
            lines += ["", "| table | version | changed by this run |", "|---|---|---|"]
            lines += [
                f"| {table} | {version} | {'yes' if table in batch.published or table == 'runs' else ''} |"
                for table, version in record.table_versions.items()
            ]
        lines.append("")
    lines += ["## Stage seconds", "", ", ".join(f"{stage}: {s:.2f}" for stage, s in record.stage_seconds.items())]
    return "\n".join(lines) + "\n"
