"""What flows from stage to stage: the frames of one run, named after the tables they become.

Every stage has the same shape, `run(batch, settings) -> batch`: it reads the frames it
needs, returns a batch with the frames it filled, adds a quarantine record for anything
it refused, and counts what it did in `counts` (they end up in the runs table).
"""

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime

import polars as pl

from newsflow.catalog import TABLES

QUARANTINE_SCHEMA = {
    "run_id": pl.String,
    "stage": pl.String,
    "source_uri": pl.String,
    "doc_id": pl.String,
    "code": pl.String,
    "reason": pl.String,
    "detail": pl.String,
    "fingerprint": pl.String,
    "table_name": pl.String,
    "expectation": pl.String,
    "column_name": pl.String,
    "value": pl.String,
}


@dataclass(frozen=True)
class Batch:
    run_id: str
    started_at: datetime
    flow_run_id: str | None = None  # when Prefect orchestrates the run
    documents: pl.DataFrame | None = None
    paragraphs: pl.DataFrame | None = None
    entities: pl.DataFrame | None = None
    quotes: pl.DataFrame | None = None
    quantities: pl.DataFrame | None = None
    duplicates: pl.DataFrame | None = None
    stories: pl.DataFrame | None = None
    # Signature rows: of the batch's documents after duplicates, of every current document after groups (internal state).
    signatures: pl.DataFrame | None = None
    quarantine: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=QUARANTINE_SCHEMA))
    # Changes to documents published by earlier runs (a file was removed, a new article merged
    # two stories): frames of doc_id plus the columns they set; publish applies them in order.
    document_updates: tuple[pl.DataFrame, ...] = ()
    # SHA-256 of every source file's path and fingerprint: which input a release was made from.
    manifest_sha256: str = ""
    counts: Counter = field(default_factory=Counter)
    # The validate stage's summary (suites, expectations evaluated, failures, Data Docs); kept with the run.
    validation: dict | None = None
    # Wall time of each stage, and the version of each table the publish stage wrote.
    stage_seconds: dict[str, float] = field(default_factory=dict)
    published: dict[str, int] = field(default_factory=dict)

    def timed(self, stage: str, seconds: float) -> "Batch":
        return replace(self, stage_seconds={**self.stage_seconds, stage: round(seconds, 3)})

    def frames(self) -> dict[str, pl.DataFrame]:
        """The frames this run produced, by table name, in publication order."""
        return {table: frame for table in TABLES if (frame := getattr(self, table, None)) is not None}

    def updated(
        self,
        counts: dict[str, int] | None = None,
        quarantined: list[dict] = (),
        document_updates: pl.DataFrame | None = None,
        **frames,
    ) -> "Batch":
        """A copy with some frames replaced, counters added, quarantine records and document updates appended.

        Each quarantine record needs stage, code and reason; the other QUARANTINE_SCHEMA fields are optional.
        """
        quarantine = self.quarantine
        if quarantined:
            rows = [{**dict.fromkeys(QUARANTINE_SCHEMA), **record, "run_id": self.run_id} for record in quarantined]
            quarantine = pl.concat([quarantine, pl.DataFrame(rows, schema=QUARANTINE_SCHEMA)])
        merged = Counter(self.counts)
        merged.update(counts or {})  # update(), unlike +, keeps zero counts
        changed = document_updates is not None and not document_updates.is_empty()
        updates = self.document_updates + ((document_updates,) if changed else ())
        return replace(self, quarantine=quarantine, counts=merged, document_updates=updates, **frames)
