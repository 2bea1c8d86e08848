"""delta_files: Parquet files written by pyarrow, committed by deltalake, with the statistics deltalake writes."""

import json
from datetime import UTC, datetime

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import CommitProperties, DeltaTable, write_deltalake

from newsflow.storage import delta_files
from newsflow.storage.delta_files import commit_rows

SCHEMA = pa.schema(
    [
        ("doc_id", pa.string()),
        ("title", pa.string()),
        ("ingested_at", pa.timestamp("us", "UTC")),
        ("published_at", pa.timestamp("us")),
        ("day", pa.date32()),
        ("n_words", pa.int64()),
        ("lang_prob", pa.float64()),
        ("is_deleted", pa.bool_()),
        ("shingles", pa.list_(pa.int64())),
    ]
)


def rows(n: int, start: int = 0) -> pa.Table:
    return pa.table(
        {
            "doc_id": [f"d{i:05d}" for i in range(start, start + n)],
            "title": [None if i % 7 == 0 else f"Headline number {i} of a story that runs on well past thirty-two characters" for i in range(start, start + n)],
            "ingested_at": [datetime(2026, 3, 1, 12, 0, i % 60, 250_000, tzinfo=UTC) for i in range(start, start + n)],
            "published_at": [datetime(2026, 2, 28, 9, i % 60) for i in range(start, start + n)],
            "day": [datetime(2026, 2, 1 + i % 28).date() for i in range(start, start + n)],
            "n_words": list(range(start, start + n)),
            "lang_prob": [0.5 + (i % 50) / 100 for i in range(start, start + n)],
            "is_deleted": [i % 3 == 0 for i in range(start, start + n)],
            "shingles": [[i, i + 1] for i in range(start, start + n)],
        },
        schema=SCHEMA,
    )


def added_stats(path) -> list[dict]:
    """The statistics of every add action in the table's log."""
    return [
        json.loads(json.loads(line)["add"]["stats"])
        for log in sorted((path / "_delta_log").glob("*.json"))
        for line in log.read_text().splitlines()
        if '"add"' in line
    ]


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "table"
    write_deltalake(str(path), SCHEMA.empty_table(), description="a test table")
    return path


def test_the_statistics_are_the_ones_deltalake_writes(tmp_path, table):
    data = rows(300)
    write_deltalake(str(tmp_path / "by-deltalake"), data)
    commit_rows(str(table), SCHEMA, data.to_batches(max_chunksize=100), "append", 1000, CommitProperties())
    assert added_stats(table) == added_stats(tmp_path / "by-deltalake")
    [stats] = added_stats(table)
    assert stats["numRecords"] == 300 and stats["nullCount"]["title"] == 43
    assert stats["minValues"]["doc_id"] == "d00000" and stats["maxValues"]["n_words"] == 299
    assert "shingles" not in stats["nullCount"]  # a list column has none, as with deltalake


def test_bounds_are_moved_outwards_where_the_format_cannot_hold_them():
    def bound(value, lower):
        return delta_files._bound(value, lower)

    # a time with microseconds: the minimum rounds down, the maximum up, to the millisecond
    moment = datetime(2026, 3, 1, 12, 0, 0, 123_456, tzinfo=UTC)
    assert (bound(moment, True), bound(moment, False)) == ("2026-03-01T12:00:00.123Z", "2026-03-01T12:00:00.124Z")
    assert bound(moment.replace(tzinfo=None), False) == "2026-03-01 12:00:00.124"
    exactly = "é" * 31 + "yz"  # 64 bytes: kept whole; one character more, and the maximum is raised
    assert bound(exactly, True) == bound(exactly, False) == exactly and bound(exactly + "!", False) == "é" * 31 + "y{"
    longer = "x" * 63 + "yz"
    assert bound(longer, True) == "x" * 63 + "y" and bound(longer, False) == "x" * 63 + "z"
    assert bound(longer, False) > longer > bound(longer, True)
    assert bound(float("nan"), True) is None and bound(b"bytes", True) is None


def test_rows_go_into_row_groups_and_files_of_bounded_size(table, monkeypatch):
    commit_rows(str(table), SCHEMA, rows(250).to_batches(max_chunksize=30), "append", 100, CommitProperties())
    [file] = DeltaTable(str(table)).file_uris()
    metadata = pq.ParquetFile(file).metadata
    assert [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)] == [100, 100, 50]
    monkeypatch.setattr(delta_files, "GROUP_BYTES", 1)  # each batch its own group
    monkeypatch.setattr(delta_files, "FILE_BYTES", 1)  # each group its own file
    commit_rows(str(table), SCHEMA, rows(90, start=250).to_batches(max_chunksize=30), "overwrite", 100, CommitProperties())
    files = DeltaTable(str(table)).file_uris()
    assert sorted(pq.ParquetFile(f).metadata.num_rows for f in files) == [30, 30, 30]
    assert sum(s["numRecords"] for s in added_stats(table)[-3:]) == 90
    assert pl.read_delta(str(table))["n_words"].sort().to_list() == list(range(250, 340))
    monkeypatch.setattr(delta_files, "FILE_BYTES", 2**30)
    monkeypatch.setattr(delta_files, "GROUP_BYTES", 2**30)
    commit_rows(str(table), SCHEMA, rows(250).to_batches(max_chunksize=30), "overwrite", 100, CommitProperties(), file_rows=80)
    files = DeltaTable(str(table)).file_uris()  # groups of at most 80 rows, a file each
    assert sorted(pq.ParquetFile(f).metadata.num_rows for f in files) == [10, 80, 80, 80]


def test_an_overwrite_is_one_version_that_keeps_the_tables_description_and_can_be_undone(table):
    commit_rows(str(table), SCHEMA, rows(10).to_batches(), "append", 100, CommitProperties(custom_metadata={"run": "1"}))
    commit_rows(str(table), SCHEMA, [], "overwrite", 100, CommitProperties(custom_metadata={"run": "2"}))
    delta = DeltaTable(str(table))
    assert delta.version() == 2 and delta.history(1)[0]["run"] == "2"
    assert pl.read_delta(str(table)).height == 0 and delta.metadata().description == "a test table"
    assert pl.read_delta(str(table), version=1).height == 10


def test_a_write_that_fails_leaves_no_file_and_no_version(table):
    def failing():
        yield from rows(10).to_batches()
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        commit_rows(str(table), SCHEMA, failing(), "append", 5, CommitProperties())
    assert DeltaTable(str(table)).version() == 0
    assert not list(table.glob("*.parquet"))
