"""publish: contract-checked Delta commits tagged with their run."""

from datetime import UTC, datetime

import polars as pl
import pytest
from deltalake import DeltaTable

from newsflow.batch import Batch
from newsflow.catalog import ContractError
from newsflow.runs import RunRecord, commit_metadata
from newsflow.settings import Settings
from newsflow.stages.publish import current_versions, publish_tables, record_run, write_table

STARTED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
PARAGRAPH = {"doc_id": "d1", "para_idx": 0, "kind": "title", "text": "Headline", "char_start": 0, "char_end": 8}


def test_tables_are_written_with_run_metadata_and_read_back(tmp_path):
    settings = Settings(output_dir=tmp_path)
    batch = Batch("run-1", STARTED, paragraphs=pl.DataFrame([PARAGRAPH]))
    versions = publish_tables(batch, settings, commit_metadata("run-1", "flow-run-1"))
    assert versions == {"paragraphs": 0, "quarantine": 0}
    read = pl.read_delta(str(tmp_path / "paragraphs"))
    assert read.row(0, named=True) == {**PARAGRAPH, "lang": None, "lang_prob": None}
    last_commit = DeltaTable(str(tmp_path / "paragraphs")).history(1)[0]
    assert last_commit["newsflow.run_id"] == "run-1" and last_commit["newsflow.flow_run_id"] == "flow-run-1"
    assert "newsflow.version" in last_commit


def test_appending_nothing_to_an_existing_table_makes_no_new_version(tmp_path):
    settings = Settings(output_dir=tmp_path)
    empty = Batch("run-1", STARTED).quarantine
    assert write_table("quarantine", empty, settings, "append", {}) == 0
    assert write_table("quarantine", empty, settings, "append", {}) == 0
    assert current_versions(tmp_path) == {"quarantine": 0}


def test_a_frame_breaking_its_contract_is_not_written(tmp_path):
    bad = pl.DataFrame([{**PARAGRAPH, "char_end": None}])
    with pytest.raises(ContractError, match="'paragraphs'.*'char_end'"):
        write_table("paragraphs", bad, Settings(output_dir=tmp_path), "overwrite", {})
    assert not (tmp_path / "paragraphs").exists()


def test_run_record_holds_counts_and_versions(tmp_path):
    record = RunRecord("run-1", STARTED, STARTED, "completed", {"files_seen": 3}, table_versions={"documents": 4})
    assert record_run(record, Settings(output_dir=tmp_path), {}) == 0
    row = pl.read_delta(str(tmp_path / "runs")).row(0, named=True)
    assert row["counts"] == {"files_seen": 3} and row["table_versions"] == {"documents": 4}
    assert row["status"] == "completed" and row["validation"] is None
