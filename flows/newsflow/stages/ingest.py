"""ingest: read the batch's documents (files, records, pages) into documents (source_uri, size, hash, encoding, raw
text, and what an HTML page or a record states about its article: newsflow.sources.formats).

A document that changed into something unreadable since the plan, or a page with no article, gets a quarantine
record with a reason that says what to do. Nothing stops the run.
"""

from itertools import groupby

import polars as pl

from newsflow.batch import Batch
from newsflow.runtime.progress import track
from newsflow.settings import Settings
from newsflow.sources import formats
from newsflow.sources.files import Refused
from newsflow.storage import stores

_ARTICLE_SCHEMA = {
    "source_uri": pl.String,
    "doc_id": pl.String,
    "size_bytes": pl.Int64,
    "content_sha256": pl.String,
    "encoding": pl.String,
    "raw_text": pl.String,
    "replaced_bytes": pl.Int64,
    "source_format": pl.String,
    # What an HTML page or a record states (null for text files).
    "url": pl.String,
    "site_name": pl.String,
    "authors": pl.List(pl.String),
    "byline": pl.String,
    "published_at": pl.Datetime("us"),
    "published_at_raw": pl.String,
    "declared_lang": pl.String,
    "captions": pl.List(pl.String),
    "page_chars": pl.Int64,
    "dropped_chars": pl.Int64,
    "fetched_url": pl.String,
    "fetched_at": pl.Datetime("us", "UTC"),
}


def run(batch: Batch, settings: Settings) -> Batch:
    """Read the batch's sources into documents (a file that changed into something unreadable since the plan is quarantined)."""
    articles, quarantined = [], []
    # A file's documents are listed together by the plan: each file is read once.
    for path, in_file in groupby(track(batch.sources, "ingest"), key=lambda source: source.path):
        for source, fingerprint, outcome in formats.read(stores.location(path), list(in_file), settings):
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
