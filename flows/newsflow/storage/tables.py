"""The Delta Lake tables under an output folder: where each lives, whether it exists, reading it, writing it.

How a table is written comes from its contract (`write:` in schemas/<table>.yaml): replace (the rows
of the documents a run processed replace their earlier rows: only the files that hold such rows are
rewritten, without them, in the commit that adds the new rows; files hold at most FILE_ROWS rows, so
what a run rewrites follows the rows it changes), overwrite or append. Every frame is
checked against its contract first (contracts.conform).
"""

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import PurePosixPath

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable, Field, write_deltalake
from deltalake.exceptions import DeltaError

from newsflow.contracts import TABLES, Contract, conform, load_contract
from newsflow.settings import Settings
from newsflow.storage.delta_files import commit_rows
from newsflow.storage.stores import Location, filesystem, join

log = logging.getLogger(__name__)

# Rows per batch read, and bytes read from a file at a time. pyarrow's dataset scanner reads ahead of a slow
# reader whatever its readahead options. While publish wrote the synthetic corpus's 100,000-row signatures table
# from its 50 staged parts, the scanner held up to 0.16 GiB of Arrow memory, reading file by file 0.03 GiB; over
# the published 330 MB table, read with a pause per batch, 0.26 GiB against 0.02 GiB.
READ_ROWS = 2_000


READ_BUFFER_BYTES = 2**20

# Rows per slice checked against a contract, and at most per Parquet row group written: a reader (or a
# run that replaces rows) decodes a group at a time.
SLICE_ROWS = 20_000
# Rows at most per file of a table written by replace: a row that changes costs the rewrite of its file, so a run
# rewrites at most this many rows per row it changes (about 3 MB of documents or signatures), whatever the table's size.
FILE_ROWS = 1_000


def table_path(output_dir: Location, table: str) -> Location:
    if table not in TABLES:
        raise KeyError(f"unknown table {table!r}; the tables are {', '.join(TABLES)}")
    return join(output_dir, table)



def exists(output_dir: Location, table: str) -> bool:
    """Whether the table has been created under output_dir (every run creates them all, empty, at version 0)."""
    return DeltaTable.is_deltatable(str(table_path(output_dir, table)))


def open_table(output_dir: Location, table: str) -> DeltaTable:
    """The Delta table; a damaged log is a ValueError naming the table and what to do, not the engine's traceback."""
    try:
        return DeltaTable(str(table_path(output_dir, table)))
    except DeltaError as error:
        problem = str(error).splitlines()[0]
        raise ValueError(f"table {table} in {output_dir} cannot be read ({problem}); restore its _delta_log from a backup") from None


def current_versions(output_dir: Location) -> dict[str, int]:
    """The latest version of every table that exists under output_dir."""
    return {table: open_table(output_dir, table).version() for table in TABLES if exists(output_dir, table)}


def ensure_tables(settings: Settings, metadata: dict[str, str]) -> None:
    """Create every missing table empty, as its version 0 (so a run can always be undone to a
    version), and add to existing tables the columns their contracts gained since."""
    for table in TABLES:
        path = str(table_path(settings.output_dir, table))
        contract = load_contract(settings.contracts_dir, table)
        if not exists(settings.output_dir, table):
            write_deltalake(path, contract.arrow_schema.empty_table(), description=contract.description)
            continue
        existing = set(DeltaTable(path).schema().to_arrow().names)
        added = [field.with_nullable(True) for field in contract.arrow_schema if field.name not in existing]
        if added:  # earlier rows have no value for a new column, so it is added as nullable
            DeltaTable(path).alter.add_columns(
                [Field.from_arrow(field) for field in added], commit_properties=CommitProperties(custom_metadata=metadata)
            )
            log.info("table %s: added column(s) %s from its contract", table, ", ".join(f.name for f in added))



def read_batches(dataset: ds.Dataset, columns: list[str] | None = None, where: ds.Expression | None = None) -> Iterator[pa.RecordBatch]:
    """The dataset's rows, file after file, READ_ROWS at a time, with its schema's `columns` (all by default; a
    column a file lacks is null) and only the rows `where` holds (it may name only the columns read)."""
    schema = pa.schema([dataset.schema.field(name) for name in columns or dataset.schema.names])
    for path in dataset.files:
        with dataset.filesystem.open_input_file(path) as source:
            file = pq.ParquetFile(source, buffer_size=READ_BUFFER_BYTES, pre_buffer=False)
            present = [name for name in schema.names if name in file.schema_arrow.names]
            for batch in file.iter_batches(batch_size=READ_ROWS, columns=present):
                rows = pa.table(
                    [batch.column(f.name).cast(f.type) if f.name in present else pa.nulls(batch.num_rows, f.type) for f in schema],
                    schema=schema,
                )
                yield from (rows.filter(where) if where is not None else rows).to_batches()


def published_files(path: Location, table: DeltaTable | None = None) -> ds.Dataset:
    """The Parquet files of a table's latest version (of `table`, the table at `path` opened already), read by pyarrow
    alone: they stay readable while the table is overwritten (the Delta writer cannot read its own table from inside a
    write), and newsflow tables use no deletion vectors or column mapping."""
    table = table or DeltaTable(str(path))
    files = [filesystem(uri)[1] for uri in table.file_uris()]
    return ds.dataset(files, filesystem=filesystem(path)[0], schema=pa.schema(table.schema().to_arrow()), format="parquet")


def read_published(
    output_dir: Location, table: str, columns: list[str] | None = None, where: pl.Expr | None = None
) -> pl.DataFrame | None:
    """The latest published version of a table (only `columns` and the rows `where` holds, if given), or None
    before its first run. The rows are filtered as they are read, so the rows left out never take memory."""
    if not exists(output_dir, table):
        return None
    frame = pl.scan_delta(str(table_path(output_dir, table)))
    frame = frame.filter(where) if where is not None else frame
    return (frame.select(columns) if columns else frame).collect()



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
    files, removed = _files_with_rows_of(path, contract, replaced_ids) if mode == "replace" else (None, {})
    if mode != "overwrite" and not rows.count and not removed:  # appending nothing
        return None
    # the rows that stay in the files rewritten go first (append keeps the table's schema: ensure_tables gave it the contract's columns)
    batches = chain(_rows_not_of(files, contract, replaced_ids), rows.batches) if files is not None else rows.batches
    file_rows = FILE_ROWS if contract.write_mode == "replace" else None
    commit_rows(path, contract.arrow_schema, batches, "overwrite" if mode == "overwrite" else "append", SLICE_ROWS, commit, removed, file_rows)
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


def _files_with_rows_of(path: str, contract: Contract, ids) -> tuple[ds.Dataset | None, dict[str, int]]:
    """The files of the table's latest version that hold rows of `ids`, as one dataset, and their path in the table: size."""
    if not ids:
        return None, {}
    table = DeltaTable(path)
    actions = pa.table(table.get_add_actions(flatten=True))
    # newsflow tables are not partitioned: every file is in the table's folder, named by its path in the table
    sizes = dict(zip(actions["path"].to_pylist(), actions["size_bytes"].to_pylist()))
    published, where = published_files(path, table), _replaced_filter(contract, ids)
    holding = [fragment for fragment in published.get_fragments() if fragment.count_rows(filter=where)]
    if not holding:
        return None, {}
    files = ds.FileSystemDataset(holding, published.schema, published.format, published.filesystem)
    return files, {name: sizes[name] for name in (PurePosixPath(fragment.path).name for fragment in holding)}


def _rows_not_of(files: ds.Dataset, contract: Contract, ids) -> Iterator[pa.RecordBatch]:
    """The rows of `files` that stay, streamed batch by batch and brought to the current contract."""
    batches = read_batches(files, where=~_replaced_filter(contract, ids))
    return chain.from_iterable(conform(contract.table, pa.Table.from_batches([b]), contract).to_batches() for b in batches)
