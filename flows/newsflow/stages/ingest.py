"""ingest: read the batch's files into documents (source_uri, size, hash, encoding, raw text).

A file that changed into something unreadable since the plan gets a quarantine record with a
reason that says what to do (newsflow.sources.files). Nothing stops the run.
"""

from pathlib import Path

import polars as pl

from newsflow.batch import Batch
from newsflow.runtime.progress import track
from newsflow.settings import Settings
from newsflow.sources.files import Refused, examine

_ARTICLE_SCHEMA = {
    "source_uri": pl.String,
    "doc_id": pl.String,
    "size_bytes": pl.Int64,
    "content_sha256": pl.String,
    "encoding": pl.String,
    "raw_text": pl.String,
    "replaced_bytes": pl.Int64,
}


def run(batch: Batch, settings: Settings) -> Batch:
    """Read the batch's sources into documents (a file that changed into something unreadable since the plan is quarantined)."""
    articles, quarantined = [], []
    for source in track(batch.sources, "ingest"):
        fingerprint, outcome = examine(Path(source.path), settings.source_dir, settings.max_file_bytes)
        if isinstance(outcome, Refused):
            quarantined.append(outcome.record(source, fingerprint))
        else:
            articles.append({"source_uri": source.source_uri, "doc_id": source.doc_id, **outcome})
    documents = pl.DataFrame(articles, schema=_ARTICLE_SCHEMA).with_columns(
        ingested_at=pl.lit(batch.started_at, dtype=pl.Datetime("us", "UTC")),
        run_id=pl.lit(batch.run_id),
        is_deleted=pl.lit(False),
    )
    return batch.updated(documents=documents, counts={"files_quarantined": len(quarantined)}, quarantined=quarantined)
