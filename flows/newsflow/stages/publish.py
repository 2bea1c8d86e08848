"""publish: write a run's frames as one release of Delta Lake tables under the output folder.

Every table the run changed gets one commit (newsflow.storage.tables.write_table, as its contract
says); the runs table, written last when the run is recorded, holds the release. If a write fails
half-way, the tables already written are restored to their previous versions before the error
propagates (newsflow.storage.releases).
"""

from dataclasses import replace
from itertools import chain

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from newsflow.batch import Batch
from newsflow.contracts import TABLES, conform, load_contract
from newsflow.runs import commit_metadata
from newsflow.settings import Settings
from newsflow.storage.releases import restore
from newsflow.storage.tables import Rows, current_versions, published_files, table_path, write_table


def run(batch: Batch, settings: Settings) -> Batch:
    """Write every table the run changed, each in one commit, and note their new versions in batch.published."""
    return replace(batch, published=publish_tables(batch, settings))


def publish_tables(batch: Batch, settings: Settings) -> dict[str, int]:
    """Write every table the run changed, each in one commit; returns their new versions.

    If any write fails, the tables already written are restored, and the files of the failed write deleted, before
    the error propagates.
    """
    metadata = commit_metadata(batch)
    before = current_versions(settings.output_dir)
    processed = _doc_ids(batch.documents)
    frames = {
        **batch.frames(),
        "documents": _documents_with_updates(batch, processed, settings),
        "signatures": _signatures_with_shingles(batch, settings),
    }
    replaced = processed.union(*(u["doc_id"] for u in batch.document_updates))
    written: dict[str, int] = {}
    try:
        for table in TABLES:
            if frames.get(table) is None:
                continue
            ids = replaced if table == "documents" else batch.replaced.get(table, processed)
            version = write_table(table, frames[table], settings, metadata, ids)
            if version is not None:
                written[table] = version
    except BaseException:
        # the tables written, and the one whose write failed: its files may be there, without their commit
        restore(settings.output_dir, {t: before[t] for t in frames if t in before}, {**metadata, "newsflow.operation": "rollback"})
        raise
    return written


def _doc_ids(documents: "pl.DataFrame | ds.Dataset | None") -> set[str]:
    if documents is None:
        return set()
    if isinstance(documents, ds.Dataset):
        return set(documents.to_table(columns=["doc_id"]).column("doc_id").to_pylist())
    return set(documents["doc_id"])


def _documents_with_updates(batch: Batch, processed: set[str], settings: Settings) -> "Rows | pl.DataFrame | ds.Dataset | None":
    """The run's documents plus the earlier documents whose fields the run changed, all patched, streamed."""
    if not batch.document_updates:
        return batch.documents
    contract = load_contract(settings.contracts_dir, "documents")
    ids = set().union(*(u["doc_id"] for u in batch.document_updates)) - processed
    dataset = published_files(str(table_path(settings.output_dir, "documents")))
    earlier = dataset.to_table(filter=pc.field("doc_id").isin(pa.array(sorted(ids), pa.string())))
    run = Rows.of("documents", batch.documents, contract) if batch.documents is not None else Rows([], 0)

    def patched(part: pa.RecordBatch | pa.Table) -> list[pa.RecordBatch]:
        rows = pl.from_arrow(part)
        for update in batch.document_updates:
            rows = rows.update(update, on="doc_id", include_nulls=True)
        return conform("documents", rows, contract).to_batches()

    return Rows(chain.from_iterable(map(patched, chain(run.batches, [earlier]))), run.count + earlier.num_rows)


def _signatures_with_shingles(batch: Batch, settings: Settings) -> "Rows | pl.DataFrame | None":
    """The state the groups stage left, with each document's shingles read back part by part."""
    if batch.shingles is None:
        return batch.signatures
    contract = load_contract(settings.contracts_dir, "signatures")
    parts = (part.join(batch.signatures, on="doc_id") for part in batch.shingles())
    return Rows(chain.from_iterable(conform("signatures", part, contract).to_batches() for part in parts), batch.signatures.height)

