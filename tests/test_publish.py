"""publish: contract-checked Delta commits, one per changed table, undone together on failure."""

import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from deltalake import DeltaTable

from newsflow.batch import Batch
from newsflow.contracts import ContractError
from newsflow.runs import RunRecord
from newsflow.settings import Settings
from newsflow.stages import publish
from newsflow.stages.publish import publish_tables
from newsflow.storage import tables
from newsflow.storage.releases import record_run, recover_interrupted_run, remove_uncommitted_files, restore
from newsflow.storage.tables import current_versions, ensure_tables, write_table

STARTED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def paragraph(doc_id: str, idx: int, text: str) -> dict:
    return {"doc_id": doc_id, "para_idx": idx, "kind": "body", "text": text, "char_start": 0, "char_end": len(text)}


def documents(*doc_ids: str) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "doc_id": d, "source_uri": f"{d}.txt", "content_sha256": "0" * 64, "size_bytes": 1, "encoding": "utf-8",
                "ingested_at": STARTED, "run_id": "run-1", "text": f"text of {d}", "n_chars": 9, "n_words": 3,
                "n_paragraphs": 1, "is_deleted": False,
            }
            for d in doc_ids
        ]
    )


def uncommitted_file(table: Path) -> None:
    time.sleep(0.01)  # after the table's last commit, as a real write is
    pq.write_table(pa.table({"doc_id": ["d9"]}), table / f"part-00001-{uuid.uuid4()}-c000.zstd.parquet")


def test_a_copied_folder_whose_files_all_look_new_loses_none_when_restored(settings):
    publish_tables(Batch("run-1", STARTED, documents=documents("d1")), settings)
    publish_tables(Batch("run-2", STARTED, documents=documents("d2")), settings)
    table = settings.output_dir / "documents"
    time.sleep(0.01)
    for data in table.glob("*.parquet"):  # copied without their times: newer than every commit
        data.touch()
    assert remove_uncommitted_files(settings.output_dir, "documents", 2) == []
    restore(settings.output_dir, {"documents": 1}, {})
    assert pl.read_delta(str(table))["doc_id"].to_list() == ["d1"]
    assert pl.read_delta(str(table), version=2)["doc_id"].sort().to_list() == ["d1", "d2"]


def every_file_is_committed(table: Path) -> bool:
    """Whether each data file in the table's folder is named by one of its commits."""
    named = {
        json.loads(line)["add"]["path"]
        for commit in (table / "_delta_log").glob("*.json")
        for line in commit.read_text().splitlines()
        if '"add"' in line
    }
    return {path.name for path in table.glob("*.parquet")} <= named


@pytest.fixture
def settings(tmp_path) -> Settings:
    settings = Settings(output_dir=tmp_path / "out")
    ensure_tables(settings, {})
    return settings


def test_every_table_exists_empty_from_the_start(settings):
    assert set(current_versions(settings.output_dir).values()) == {0}
    assert pl.read_delta(str(settings.output_dir / "entities")).columns[:3] == ["doc_id", "para_idx", "text"]


def test_tables_are_written_with_run_metadata_and_read_back(settings):
    batch = Batch(
        "run-1", STARTED, "flow-run-1", documents=documents("d1"), paragraphs=pl.DataFrame([paragraph("d1", 0, "Headline")])
    )
    assert publish_tables(batch, settings) == {"documents": 1, "paragraphs": 1}
    read = pl.read_delta(str(settings.output_dir / "paragraphs"))
    assert read.row(0, named=True) == {**paragraph("d1", 0, "Headline"), "lang": None, "lang_prob": None}
    last_commit = DeltaTable(str(settings.output_dir / "paragraphs")).history(1)[0]
    assert last_commit["newsflow.run_id"] == "run-1" and last_commit["newsflow.flow_run_id"] == "flow-run-1"
    assert "newsflow.version" in last_commit


def test_published_parquet_files_hold_row_groups_a_reader_can_decode_one_at_a_time(settings, monkeypatch):
    import pyarrow.parquet as pq

    monkeypatch.setattr(tables, "SLICE_ROWS", 100)
    rows = pl.DataFrame([paragraph("d1", i, f"paragraph {i}") for i in range(250)])
    publish_tables(Batch("run-1", STARTED, documents=documents("d1"), paragraphs=rows), settings)
    files = DeltaTable(str(settings.output_dir / "paragraphs")).file_uris()
    groups = [pq.ParquetFile(f).metadata.row_group(i).num_rows for f in files for i in range(pq.ParquetFile(f).num_row_groups)]
    assert sorted(groups) == [50, 100, 100]


def test_published_parquet_files_are_compressed(settings):
    import pyarrow.parquet as pq

    rows = pl.DataFrame([paragraph("d1", i, f"paragraph {i}") for i in range(10)])
    publish_tables(Batch("run-1", STARTED, documents=documents("d1"), paragraphs=rows), settings)
    [file] = DeltaTable(str(settings.output_dir / "paragraphs")).file_uris()
    group = pq.ParquetFile(file).metadata.row_group(0)
    assert {group.column(i).compression for i in range(group.num_columns)} == {"ZSTD"}


def test_a_processed_document_replaces_its_earlier_rows_and_only_those(settings):
    first = pl.DataFrame([paragraph("d1", 0, "old a"), paragraph("d1", 1, "old b"), paragraph("d2", 0, "other")])
    publish_tables(Batch("run-1", STARTED, documents=documents("d1", "d2"), paragraphs=first), settings)
    second = pl.DataFrame([paragraph("d1", 0, "new a")])
    publish_tables(Batch("run-2", STARTED, documents=documents("d1"), paragraphs=second), settings)
    rows = pl.read_delta(str(settings.output_dir / "paragraphs")).sort("doc_id", "para_idx")
    assert rows.select("doc_id", "text").rows() == [("d1", "new a"), ("d2", "other")]
    assert current_versions(settings.output_dir)["paragraphs"] == 2  # one commit per run


def test_document_updates_patch_earlier_documents(settings):
    publish_tables(Batch("run-1", STARTED, documents=documents("d1", "d2")), settings)
    batch = Batch("run-2", STARTED, documents=documents("d3")).updated(
        document_updates=pl.DataFrame({"doc_id": ["d1"], "is_deleted": [True]})
    )
    publish_tables(batch, settings)
    rows = pl.read_delta(str(settings.output_dir / "documents")).sort("doc_id")
    assert rows.select("doc_id", "is_deleted").rows() == [("d1", True), ("d2", False), ("d3", False)]
    assert rows["text"].to_list() == ["text of d1", "text of d2", "text of d3"]


def test_appending_nothing_makes_no_new_version(settings):
    assert write_table("quarantine", Batch("run-1", STARTED).quarantine, settings, {}) is None
    assert current_versions(settings.output_dir)["quarantine"] == 0


def test_a_frame_breaking_its_contract_is_not_written(settings):
    bad = pl.DataFrame([{**paragraph("d1", 0, "x"), "char_end": None}])
    with pytest.raises(ContractError, match="'paragraphs'.*'char_end'"):
        write_table("paragraphs", bad, settings, {}, {"d1"})
    assert current_versions(settings.output_dir)["paragraphs"] == 0


def test_a_failure_between_two_tables_restores_the_tables_already_written(settings, monkeypatch):
    publish_tables(Batch("run-1", STARTED, documents=documents("d1"), paragraphs=pl.DataFrame([paragraph("d1", 0, "a")])), settings)
    before = pl.read_delta(str(settings.output_dir / "documents"))
    real_write = publish.write_table

    def fail_on_paragraphs(table, *args, **kwargs):
        if table == "paragraphs":  # as deltalake fails: the commit's data file written, the commit not
            uncommitted_file(settings.output_dir / "paragraphs")
            raise OSError("disk full")
        return real_write(table, *args, **kwargs)

    monkeypatch.setattr(publish, "write_table", fail_on_paragraphs)
    batch = Batch("run-2", STARTED, documents=documents("d1", "d2"), paragraphs=pl.DataFrame([paragraph("d2", 0, "b")]))
    with pytest.raises(OSError, match="disk full"):
        publish_tables(batch, settings)
    assert pl.read_delta(str(settings.output_dir / "documents")).equals(before)
    history = DeltaTable(str(settings.output_dir / "documents")).history(1)[0]
    assert history["operation"] == "RESTORE" and history["newsflow.operation"] == "rollback"
    assert every_file_is_committed(settings.output_dir / "paragraphs")  # the failed write's file is gone
    assert pl.read_delta(str(settings.output_dir / "documents"), version=2)["doc_id"].sort().to_list() == ["d1", "d2"]


def test_tables_written_by_a_run_that_never_recorded_itself_are_restored(settings):
    publish_tables(Batch("run-1", STARTED, documents=documents("d1")), settings)
    record_run(RunRecord("run-1", STARTED, STARTED, "completed", {}), settings, {})
    publish_tables(Batch("run-2", STARTED, documents=documents("d2")), settings)  # then killed: no runs row
    uncommitted_file(settings.output_dir / "documents")  # killed while writing its next commit
    assert recover_interrupted_run(settings, {}) == ["documents"]
    assert every_file_is_committed(settings.output_dir / "documents")
    assert pl.read_delta(str(settings.output_dir / "documents"), version=2)["doc_id"].sort().to_list() == ["d1", "d2"]  # time travel
    assert pl.read_delta(str(settings.output_dir / "documents"))["doc_id"].to_list() == ["d1"]
    assert recover_interrupted_run(settings, {}) == []


def test_run_record_holds_counts_and_the_release_it_leaves(settings):
    publish_tables(Batch("run-1", STARTED, documents=documents("d1")), settings)
    record = RunRecord("run-1", STARTED, STARTED, "completed", {"files_seen": 3})
    record_run(record, settings, {})
    assert record.table_versions["runs"] == 1 and record.table_versions["documents"] == 1
    row = pl.read_delta(str(settings.output_dir / "runs")).row(0, named=True)
    assert row["counts"] == {"files_seen": 3} and row["table_versions"] == {t: v for t, v in current_versions(settings.output_dir).items() if t != "runs"}
    assert row["status"] == "completed" and row["validation"] is None


def test_a_contract_that_gains_a_column_adds_it_to_the_table(tmp_path):
    contracts = tmp_path / "schemas"
    contracts.mkdir()
    for path in Settings().contracts_dir.glob("*.yaml"):
        (contracts / path.name).write_text(path.read_text())
    settings = Settings(output_dir=tmp_path / "out", contracts_dir=contracts)
    ensure_tables(settings, {})
    contract = yaml.safe_load((contracts / "stories.yaml").read_text())
    contract["columns"].append({"name": "topic", "type": "string", "description": "What the story is about."})
    (contracts / "stories.yaml").write_text(yaml.safe_dump(contract))
    ensure_tables(settings, {})
    assert pl.read_delta(str(settings.output_dir / "stories")).columns[-1] == "topic"
