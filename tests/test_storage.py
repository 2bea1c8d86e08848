"""storage: tables read file by file in their schema; the folder lock runs take turns with."""

import os
import threading
import time

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable, Field, write_deltalake

from newsflow.storage import tables
from newsflow.storage.lock import LockTimeout, exclusive
from newsflow.storage.tables import published_files, read_batches


def test_published_rows_are_read_file_by_file_in_the_tables_schema(tmp_path, monkeypatch):
    path = str(tmp_path / "table")
    write_deltalake(path, pa.table({"doc_id": ["a", "b", "c"], "n": [1, 2, 3]}))
    DeltaTable(path).alter.add_columns([Field.from_arrow(pa.field("note", pa.string()))])  # the first file has none
    write_deltalake(path, pa.table({"doc_id": ["d", "e"], "n": [4, 5], "note": ["x", None]}), mode="append")
    monkeypatch.setattr(tables, "READ_ROWS", 2)
    batches = list(read_batches(published_files(path), ["doc_id", "note"], where=pc.field("doc_id") != "b"))
    assert sorted(b.num_rows for b in batches) == [1, 1, 2]  # each file's batches of 2 rows, filtered: [a, (b)], [c]; [d, e]
    assert sorted(pa.Table.from_batches(batches).to_pylist(), key=lambda row: row["doc_id"]) == [
        {"doc_id": "a", "note": None},
        {"doc_id": "c", "note": None},
        {"doc_id": "d", "note": "x"},
        {"doc_id": "e", "note": None},
    ]
    assert pa.Table.from_batches(batches).schema == pa.schema([("doc_id", pa.string()), ("note", pa.string())])


def test_a_second_run_waits_for_the_lock_then_gives_up_with_a_clear_message(tmp_path, caplog):
    released = threading.Event()

    def hold_lock():
        with exclusive(tmp_path, "run run-1", 0, "NEWSFLOW_LOCK_WAIT_SECONDS"):
            released.wait(5)

    holder = threading.Thread(target=hold_lock)
    holder.start()
    time.sleep(0.2)
    with pytest.raises(LockTimeout, match=r"locked by run run-1 \(pid \d+\).*NEWSFLOW_LOCK_WAIT_SECONDS"):
        with exclusive(tmp_path, "run run-2", 0.5, "NEWSFLOW_LOCK_WAIT_SECONDS"):
            pass
    # a waiting run says so at once, not only when it gives up
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [
        f"waiting for run run-1 (pid {os.getpid()}) to finish with {tmp_path} (at most 0 s: NEWSFLOW_LOCK_WAIT_SECONDS)"
    ]
    released.set()
    holder.join()
    with exclusive(tmp_path, "run run-3", 0.5):
        pass


def test_a_damaged_delta_log_is_named_by_its_table(tmp_path):
    folder = tables.table_path(tmp_path, "documents")
    write_deltalake(str(folder), pa.table({"doc_id": ["a"]}))
    write_deltalake(str(folder), pa.table({"doc_id": ["b"]}), mode="append")
    log = folder / "_delta_log" / "00000000000000000001.json"
    log.write_bytes(log.read_bytes()[:40])  # a commit cut short, as a full disk or a bad copy leaves it
    with pytest.raises(ValueError, match=r"^table documents in .* cannot be read \(.*\); restore its _delta_log from a backup$"):
        tables.current_versions(tmp_path)
