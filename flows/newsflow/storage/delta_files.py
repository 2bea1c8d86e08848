"""Parquet files of a Delta table, written by pyarrow and committed in one transaction by deltalake.

deltalake's own writer keeps every file it writes in memory until the file is complete (100 MB
by default) and buffers more besides; pyarrow writes a row group at a time to disk. Writing the
100,000-row signatures table of the synthetic corpus (330 MB of Parquet) from 2,000-row batches
added 0.80 GiB to the process with deltalake's writer, 0.16 GiB this way. deltalake then commits
the files with the statistics readers skip files by, as deltalake itself writes them: rows, and
per top-level column of a plain type its nulls, minimum and maximum.
"""

import json
import math
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable
from deltalake.transaction import AddAction, RemoveAction

from newsflow.storage.stores import Location, filesystem, join, open_output, remove_file

FILE_BYTES = 128 * 2**20  # a file is closed once this much is written
GROUP_BYTES = 32 * 2**20  # Arrow data gathered for one row group, whatever the row count allows
STATS_STRING_BYTES = 64  # deltalake cuts string minima and maxima to this many UTF-8 bytes
MILLISECOND = timedelta(milliseconds=1)


def commit_rows(
    path: Location,
    schema: pa.Schema,
    batches: Iterable[pa.RecordBatch],
    mode: str,
    group_rows: int,
    commit: CommitProperties,
    removed: dict[str, int] | None = None,
    file_rows: int | None = None,
) -> None:
    """Write the batches as new files of the table at `path` (of at most `file_rows` rows each, if given) and commit
    them in one version: appended (in place of the `removed` files, path in the table: size, if any), or replacing
    every earlier file (mode "overwrite", which also sets the table's schema to `schema`)."""
    actions: list[AddAction] = []
    try:
        actions.extend(_write_files(path, schema, batches, min(group_rows, file_rows or group_rows), file_rows))
    except BaseException:
        for action in actions:  # written, but never to be committed
            remove_file(join(path, action.path))
        raise
    now = int(time.time() * 1000)
    removals = [RemoveAction(name, True, now, size) for name, size in (removed or {}).items()]
    DeltaTable(str(path)).create_write_transaction([*actions, *removals], mode, schema, commit_properties=commit)


def _write_files(
    folder: Location, schema: pa.Schema, batches: Iterable[pa.RecordBatch], group_rows: int, file_rows: int | None
) -> Iterator[AddAction]:
    """Zstd Parquet files of up to about FILE_BYTES and `file_rows` rows, in row groups of up to `group_rows` rows and
    GROUP_BYTES; each file's add action once it is complete. A file that fails half-way is removed."""
    groups = _row_groups(schema, batches, group_rows)
    for group in groups:
        name = f"part-{uuid4()}.zstd.parquet"
        try:
            with open_output(join(folder, name)) as sink, pq.ParquetWriter(sink, schema, compression="zstd") as writer:
                writer.write_table(group, row_group_size=group_rows)
                rows = group.num_rows
                while sink.tell() < FILE_BYTES and rows < (file_rows or rows + 1) and (group := next(groups, None)) is not None:
                    writer.write_table(group, row_group_size=group_rows)
                    rows += group.num_rows
        except BaseException:
            remove_file(join(folder, name))
            raise
        fs, file = filesystem(join(folder, name))
        stats = file_stats(pq.read_metadata(file, filesystem=fs), schema)
        yield AddAction(name, fs.get_file_info(file).size, {}, int(time.time() * 1000), True, stats)


def _row_groups(schema: pa.Schema, batches: Iterable[pa.RecordBatch], group_rows: int) -> Iterator[pa.Table]:
    """The rows in tables of `group_rows` rows, or fewer where they reach GROUP_BYTES first (and the last)."""
    pending, rows, size = [], 0, 0
    for batch in batches:
        pending.append(batch)
        rows, size = rows + batch.num_rows, size + batch.nbytes
        while rows and (rows >= group_rows or size >= GROUP_BYTES):  # a batch may hold several groups
            gathered, cut = pa.Table.from_batches(pending, schema), min(rows, group_rows)
            yield gathered.slice(0, cut)
            pending, rows = gathered.slice(cut).to_batches(), rows - cut
            size = sum(part.nbytes for part in pending)
    if rows:
        yield pa.Table.from_batches(pending, schema)


def file_stats(metadata: pq.FileMetaData, schema: pa.Schema) -> str:
    """Delta's statistics of one file from its Parquet footer. The bounds are always bounds: a long string's
    minimum is cut short and its maximum raised (as deltalake does), a time is rounded outwards to the millisecond."""
    leaves = {metadata.schema.column(i).path: i for i in range(metadata.num_columns)}
    stats = {"numRecords": metadata.num_rows, "minValues": {}, "maxValues": {}, "nullCount": {}}
    for field in schema:
        if field.name not in leaves:  # a list or a struct
            continue
        chunks = [metadata.row_group(g).column(leaves[field.name]).statistics for g in range(metadata.num_row_groups)]
        if any(chunk is None for chunk in chunks):
            continue
        stats["nullCount"][field.name] = sum(chunk.null_count for chunk in chunks)
        if any(chunk.num_values and not chunk.has_min_max for chunk in chunks):
            continue  # a group with values but no bounds (pyarrow leaves out long ones)
        bounded = [chunk for chunk in chunks if chunk.has_min_max]
        for key, value, lower in (
            ("minValues", min((c.min for c in bounded), default=None), True),
            ("maxValues", max((c.max for c in bounded), default=None), False),
        ):
            if (bound := _bound(value, lower)) is not None:
                stats[key][field.name] = bound
    return json.dumps(stats)


def _bound(value, lower: bool):
    """The value as Delta's statistics hold it, moved outwards where the format cannot hold it exactly; None
    when it cannot be written."""
    if isinstance(value, bool | int) or (isinstance(value, float) and math.isfinite(value)):
        return value
    if isinstance(value, str):
        head = value.encode()[:STATS_STRING_BYTES].decode(errors="ignore")
        if head == value or lower:
            return head
        return head[:-1] + chr(ord(head[-1]) + 1) if ord(head[-1]) < 0xD7FF else None
    if isinstance(value, datetime):
        whole = value.replace(microsecond=value.microsecond // 1000 * 1000)
        if not lower and whole != value:
            whole += MILLISECOND
        if value.tzinfo:
            return whole.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"
        return whole.isoformat(sep=" ", timespec="milliseconds" if whole.microsecond else "seconds")
    if isinstance(value, date):
        return value.isoformat()
    return None
