"""The run's staging folder: each batch's document tables and signature rows, parked until the run publishes.

A run's batches write their parts under output/_staging/<run_id>/ (checked against their contracts);
the groups stage reads the signature parts back, publish streams the tables into Delta at the end,
and the folder is removed once the run is recorded (or by the next run, after a crash).
"""

from dataclasses import replace

import pyarrow.dataset as ds
import pyarrow.parquet as pq

from newsflow.batch import Batch
from newsflow.contracts import conform, load_contract
from newsflow.settings import Settings
from newsflow.storage.stores import Location, filesystem, is_dir, join, remove_tree

STAGING = "_staging"


# Tables with rows per document: a run's batches stage them, publish commits them at the end.
STAGED_TABLES = ("documents", "paragraphs", "entities", "quotes", "quantities")


# The signature rows of a run's documents, staged by its batches for the groups stage (not a table).
NEW_SIGNATURES = "new_signatures"



def park_batch(batch: Batch, settings: Settings) -> Batch:
    """Park a batch's document tables and signature rows in the run's staging folder, checked against
    their contracts; the batch keeps only what the run needs later. The groups stage reads the
    signature rows back (staged_signatures); publish.run commits the tables with the run's other tables."""
    folder = staging_dir(settings.output_dir, batch.run_id)
    for table, part in [(table, table) for table in STAGED_TABLES] + [("signatures", NEW_SIGNATURES)]:
        frame = getattr(batch, table)
        if frame is not None:
            fs, path = filesystem(join(folder, part))
            fs.create_dir(path)
            contract = load_contract(settings.contracts_dir, table)
            pq.write_table(conform(table, frame, contract), f"{path}/part-{batch.index:06d}.parquet", filesystem=fs)
    staged = batch.documents.height if batch.documents is not None else 0
    return replace(batch.updated(counts={"documents_staged": staged}), signatures=None, **dict.fromkeys(STAGED_TABLES))


def staged_signatures(batch: Batch, settings: Settings) -> Batch:
    """The run with the signature rows its batches staged, in batch.signatures (None when no batch had documents)."""
    folder = join(staging_dir(settings.output_dir, batch.run_id), NEW_SIGNATURES)
    schema = load_contract(settings.contracts_dir, "signatures").arrow_schema
    return replace(batch, signatures=_parts(folder, schema) if is_dir(folder) else None)


def staged(batch: Batch, settings: Settings) -> Batch:
    """The run with its staged document tables, as datasets read part by part when they are written."""
    folder = staging_dir(settings.output_dir, batch.run_id)
    return replace(
        batch,
        **{
            table: _parts(join(folder, table), load_contract(settings.contracts_dir, table).arrow_schema)
            for table in STAGED_TABLES
            if is_dir(join(folder, table))
        },
    )


def _parts(folder: Location, schema) -> ds.Dataset:
    fs, path = filesystem(folder)
    return ds.dataset(path, filesystem=fs, format="parquet", schema=schema)


def staging_dir(output_dir: Location, run_id: str) -> Location:
    return join(output_dir, STAGING, run_id)


def discard_staging(output_dir: Location) -> None:
    """Remove what runs staged (a run's own parts once published, or a killed run's leftovers)."""
    remove_tree(join(output_dir, STAGING))

