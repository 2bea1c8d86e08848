"""signatures: describe each document by what its copies and its story are found with (its signature).

Called once per batch, it only reads the batch's documents and returns their rows of the
`signatures` table in batch.signatures: the hash of the normalised text (case, whitespace,
punctuation and Unicode forms removed; exact copies share it), the sorted distinct hashes of its
word 5-grams (shingles), the LSH band keys of their MinHash signature, and its story terms. The groups stage, once per run, joins them to
everything published before and finds the copies and stories.
"""

import numpy as np
import polars as pl

from newsflow.analysis.shingles import band_keys, minhash_rows, text_hashes
from newsflow.analysis.stories import story_terms
from newsflow.batch import Batch
from newsflow.contracts import load_contract
from newsflow.settings import Settings

# The columns of the signatures table a batch fills; the groups stage fills the others.
SIGNATURE_COLUMNS = ("doc_id", "ingested_at", "first_seen_at", "title", "text_sha256", "shingles", "bands", "story_terms")


def run(batch: Batch, settings: Settings) -> Batch:
    """The signature rows of the batch's documents, in batch.signatures (nothing else is read or changed)."""
    schema = load_contract(settings.contracts_dir, "signatures").polars_schema(*SIGNATURE_COLUMNS)
    signatures = signature_rows(batch.documents).cast(schema)
    return batch.updated(signatures=signatures, counts={"documents_signed": signatures.height})


def signature_rows(documents: pl.DataFrame) -> pl.DataFrame:
    """Per document: its text hash, the sorted hashes of its word 5-grams, their band keys (none for a text
    without words) and its story terms.

    first_seen_at is the ingestion time until the groups stage finds an earlier one.
    """
    texts = documents["text"].to_list()
    hashes, shingles = text_hashes(texts)
    offsets = np.cumsum([0] + [len(doc_shingles) for doc_shingles in shingles])
    keys = band_keys(minhash_rows(np.concatenate([np.empty(0, np.uint64), *shingles]), offsets)).view(np.int64)
    return documents.select("doc_id", "ingested_at", "title", first_seen_at="ingested_at").with_columns(
        text_sha256=pl.Series(hashes, dtype=pl.String),
        shingles=pl.Series([doc_shingles.view(np.int64) for doc_shingles in shingles], dtype=pl.List(pl.Int64)),
        bands=pl.Series([row if text else None for row, text in zip(keys, hashes)], dtype=pl.List(pl.Int64)),
        story_terms=pl.Series([story_terms(text) for text in texts], dtype=pl.List(pl.String)),
    ).select(SIGNATURE_COLUMNS)
