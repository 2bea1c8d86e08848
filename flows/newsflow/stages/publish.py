"""publish: write a run's frames as one release of Delta Lake tables under the output folder.

A release is the version of every table after a run; the runs table records it
(runs.table_versions), so readers can load a consistent set (newsflow.datasets). Tables
change only under the output folder's lock. If writing fails half-way, the tables already
written are restored to their previous versions; a run killed half-way is undone by the
next run before it starts (recover_interrupted_run).

How a table is written comes from its contract (`write:` in schemas/<table>.yaml):
replace (the rows of the documents a run processed replace their earlier rows), overwrite
or append. Every frame is checked against its contract first (catalog.conform).
"""

import fcntl
import json
import logging
import os
import shutil
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from itertools import chain
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable, Field, write_deltalake

from newsflow.batch import Batch
from newsflow.catalog import TABLES, Contract, conform, load_contract, published_files, read_batches, read_published, table_path
from newsflow.delta_files import commit_rows
from newsflow.runs import RunRecord, commit_metadata
from newsflow.settings import Settings

log = logging.getLogger(__name__)

LOCK_FILE = ".newsflow.lock"
STAGING = "_staging"
# Rows per slice checked against a contract, and at most per Parquet row group written: a reader (or a
# run that replaces rows) decodes a group at a time.
SLICE_ROWS = 20_000
# Tables with rows per document: a run's batches stage them, publish commits them at the end.
STAGED_TABLES = ("documents", "paragraphs", "entities", "quotes", "quantities")
# The signature rows of a run's documents, staged by its batches for the groups stage (not a table).
NEW_SIGNATURES = "new_signatures"


class RunLockTimeout(RuntimeError):
    """Another run kept the output folder locked for too long."""


@contextmanager
def exclusive_run(output_dir: Path, run_id: str, wait_seconds: float) -> Iterator[None]:
    """Hold the output folder's lock for a whole run, so two runs never interleave their commits."""
    Path(output_dir).mkdir(parents=True, exist_ok=True)
    with open(Path(output_dir) / LOCK_FILE, "a+") as lock:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                lock.seek(0)
                holder = lock.read().strip() or "another run"
                if time.monotonic() >= deadline:
                    raise RunLockTimeout(
                        f"{output_dir} is locked by {holder} for over {wait_seconds:.0f} s; "
                        f"wait for it to finish or raise NEWSFLOW_LOCK_WAIT_SECONDS"
                    ) from None
                log.info("waiting for %s to finish with %s", holder, output_dir)
                time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
        lock.seek(0)
        lock.truncate()
        lock.write(f"run {run_id} (pid {os.getpid()})")
        lock.flush()
        try:
            yield
        finally:
            lock.truncate(0)
            fcntl.flock(lock, fcntl.LOCK_UN)


def ensure_tables(settings: Settings, metadata: dict[str, str]) -> None:
    """Create every missing table empty, as its version 0 (so a run can always be undone to a
    version), and add to existing tables the columns their contracts gained since."""
    for table in TABLES:
        path = str(table_path(settings.output_dir, table))
        contract = load_contract(settings.contracts_dir, table)
        if not DeltaTable.is_deltatable(path):
            write_deltalake(path, contract.arrow_schema.empty_table(), description=contract.description)
            continue
        existing = set(DeltaTable(path).schema().to_arrow().names)
        added = [field.with_nullable(True) for field in contract.arrow_schema if field.name not in existing]
        if added:  # earlier rows have no value for a new column, so it is added as nullable
            DeltaTable(path).alter.add_columns(
                [Field.from_arrow(field) for field in added], commit_properties=CommitProperties(custom_metadata=metadata)
            )
            log.info("table %s: added column(s) %s from its contract", table, ", ".join(f.name for f in added))


def last_release(output_dir: Path) -> dict[str, int]:
    """Table versions recorded by the latest run; every run, failed or not, ends on a consistent set."""
    runs = read_published(output_dir, "runs")
    if runs is None or runs.is_empty():
        return {}
    return dict(runs.sort("started_at").row(-1, named=True)["table_versions"])


def recover_interrupted_run(settings: Settings, metadata: dict[str, str]) -> list[str]:
    """Restore tables that a killed run left beyond the last release; returns the tables restored."""
    released = last_release(settings.output_dir)
    behind = {
        table: released.get(table, 0)
        for table, version in current_versions(settings.output_dir).items()
        if table != "runs" and version > released.get(table, 0) and not _restored_to(settings.output_dir, table, released.get(table, 0))
    }
    _restore(settings.output_dir, behind, {**metadata, "newsflow.operation": "recover"})
    if behind:
        log.warning("an earlier run was interrupted while publishing: restored %s", ", ".join(sorted(behind)))
    return sorted(behind)


def stage(batch: Batch, settings: Settings) -> Batch:
    """Park a batch's document tables and signature rows in the run's staging folder, checked against
    their contracts; the batch keeps only what the run needs later. The groups stage reads the
    signature rows back (staged_signatures); publish.run commits the tables with the run's other tables."""
    folder = staging_dir(settings.output_dir, batch.run_id)
    for table, part in [(table, table) for table in STAGED_TABLES] + [("signatures", NEW_SIGNATURES)]:
        frame = getattr(batch, table)
        if frame is not None:
            (folder / part).mkdir(parents=True, exist_ok=True)
            contract = load_contract(settings.contracts_dir, table)
            pq.write_table(conform(table, frame, contract), folder / part / f"part-{batch.index:06d}.parquet")
    staged = batch.documents.height if batch.documents is not None else 0
    return replace(batch.updated(counts={"documents_staged": staged}), signatures=None, **dict.fromkeys(STAGED_TABLES))


def staged_signatures(batch: Batch, settings: Settings) -> Batch:
    """The run with the signature rows its batches staged, in batch.signatures (None when no batch had documents)."""
    folder = staging_dir(settings.output_dir, batch.run_id) / NEW_SIGNATURES
    schema = load_contract(settings.contracts_dir, "signatures").arrow_schema
    return replace(batch, signatures=ds.dataset(folder, format="parquet", schema=schema) if folder.is_dir() else None)


def staged(batch: Batch, settings: Settings) -> Batch:
    """The run with its staged document tables, as datasets read part by part when they are written."""
    folder = staging_dir(settings.output_dir, batch.run_id)
    return replace(
        batch,
        **{
            table: ds.dataset(folder / table, format="parquet", schema=load_contract(settings.contracts_dir, table).arrow_schema)
            for table in STAGED_TABLES
            if (folder / table).is_dir()
        },
    )


def staging_dir(output_dir: Path, run_id: str) -> Path:
    return Path(output_dir) / STAGING / run_id


def discard_staging(output_dir: Path) -> None:
    """Remove what runs staged (a run's own parts once published, or a killed run's leftovers)."""
    shutil.rmtree(Path(output_dir) / STAGING, ignore_errors=True)


def run(batch: Batch, settings: Settings) -> Batch:
    """Write every table the run changed, each in one commit, and note their new versions in batch.published."""
    return replace(batch, published=publish_tables(batch, settings))


def publish_tables(batch: Batch, settings: Settings) -> dict[str, int]:
    """Write every table the run changed, each in one commit; returns their new versions.

    If any write fails, the tables already written are restored before the error propagates.
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
            ids = replaced if table == "documents" else processed
            version = write_table(table, frames[table], settings, metadata, ids)
            if version is not None:
                written[table] = version
    except BaseException:
        _restore(settings.output_dir, {t: before[t] for t in written}, {**metadata, "newsflow.operation": "rollback"})
        raise
    return written


@dataclass
class Rows:
    """Rows to write: record batches matching the contract, streamed, and how many there are."""

    batches: Iterable[pa.RecordBatch]
    count: int

    @classmethod
    def of(cls, table: str, data: "pl.DataFrame | pa.Table | ds.Dataset | Rows", contract: Contract) -> "Rows":
        if isinstance(data, Rows):
            return data
        if isinstance(data, ds.Dataset):  # staged parts were checked against the contract when staged
            return cls(read_batches(data), data.count_rows())
        # Checked slice by slice, so a large frame is never converted whole; the first slice is checked
        # now, so a frame that does not match its contract fails here with its ContractError.
        first = conform(table, data.slice(0, SLICE_ROWS), contract)
        rest = (conform(table, data.slice(start, SLICE_ROWS), contract).to_batches() for start in range(SLICE_ROWS, len(data), SLICE_ROWS))
        return cls(chain(first.to_batches(), chain.from_iterable(rest)), len(data))


def write_table(
    table: str, data: "pl.DataFrame | pa.Table | ds.Dataset | Rows", settings: Settings, metadata: dict[str, str], replaced_ids=()
) -> int | None:
    """One commit to one table, as its contract says; returns the new version, or None if nothing changed."""
    contract = load_contract(settings.contracts_dir, table)
    rows = Rows.of(table, data, contract)
    path = str(table_path(settings.output_dir, table))
    mode = "overwrite" if settings.full_refresh and contract.write_mode == "replace" else contract.write_mode
    commit = CommitProperties(custom_metadata=metadata)
    if mode == "replace" and _has_rows_of(path, contract, replaced_ids):
        mode, rows = "overwrite", Rows(chain(_rows_not_of(path, contract, replaced_ids), rows.batches), rows.count)
    elif mode != "overwrite" and not rows.count:  # appending nothing
        return None
    # append, or replace where no earlier row is replaced, keeps the table's schema (ensure_tables gave it the contract's columns)
    commit_rows(path, contract.arrow_schema, rows.batches, "overwrite" if mode == "overwrite" else "append", SLICE_ROWS, commit)
    return DeltaTable(path).version()


def _replaced_filter(contract: Contract, ids) -> ds.Expression:
    values = pa.array(sorted(ids), pa.string())
    return _any(pc.field(key).isin(values) for key in contract.write_key)


def _any(expressions) -> ds.Expression:
    expressions = list(expressions)
    result = expressions[0]
    for expression in expressions[1:]:
        result = result | expression
    return result


def _has_rows_of(path: str, contract: Contract, ids) -> bool:
    return bool(ids) and published_files(path).count_rows(filter=_replaced_filter(contract, ids)) > 0


def _rows_not_of(path: str, contract: Contract, ids) -> Iterator[pa.RecordBatch]:
    """The table's rows that stay, streamed batch by batch and brought to the current contract."""
    batches = read_batches(published_files(path), where=~_replaced_filter(contract, ids))  # the files of the version before the write
    return chain.from_iterable(conform(contract.table, pa.Table.from_batches([b]), contract).to_batches() for b in batches)


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


def _restore(output_dir: Path, versions: dict[str, int], metadata: dict[str, str]) -> None:
    for table, version in versions.items():
        commit = CommitProperties(custom_metadata={**metadata, "newsflow.restored_to": str(version)})
        DeltaTable(str(table_path(output_dir, table))).restore(version, commit_properties=commit)


def _restored_to(output_dir: Path, table: str, version: int) -> bool:
    """Whether the table's latest commit already restored it to `version`."""
    return DeltaTable(str(table_path(output_dir, table))).history(1)[0].get("newsflow.restored_to") == str(version)


def current_versions(output_dir: Path) -> dict[str, int]:
    """The latest version of every table that exists under output_dir."""
    return {
        table: DeltaTable(str(path)).version()
        for table in TABLES
        if DeltaTable.is_deltatable(str(path := table_path(output_dir, table)))
    }


def record_run(record: RunRecord, settings: Settings, metadata: dict[str, str]) -> int:
    """Append the run's row, holding the release it leaves, to the runs table; returns its new version."""
    row = {
        "run_id": record.run_id,
        "flow_run_id": record.flow_run_id,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "status": record.status,
        "counts": list(record.counts.items()),
        "table_versions": list(record.table_versions.items()),
        "validation": json.dumps(record.validation) if record.validation is not None else None,
        "error": record.error,
        "stage_seconds": list(record.stage_seconds.items()),
    }
    contract = load_contract(settings.contracts_dir, "runs")
    return write_table("runs", pa.Table.from_pylist([row], schema=contract.arrow_schema), settings, metadata)
