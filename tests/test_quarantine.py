"""The quarantine registry: every code a stage can raise, each with its stage and what to do."""

import pytest
import yaml

from newsflow import quarantine
from newsflow.settings import Settings


def test_a_record_takes_stage_and_reason_from_its_code():
    row = quarantine.record("too_large", source_uri="big.txt", detail="9 bytes, limit 5")
    assert row["stage"] == "ingest" and row["code"] == "too_large"
    assert row["reason"] == "file is over the size limit: split it into articles or raise NEWSFLOW_MAX_FILE_BYTES"
    assert set(row) == set(quarantine.SCHEMA) and row["table_name"] is None and row["detail"] == "9 bytes, limit 5"


def test_unregistered_codes_and_fields_are_refused():
    with pytest.raises(KeyError):
        quarantine.record("not_a_code")
    with pytest.raises(TypeError, match="colour"):
        quarantine.record("empty_file", colour="red")


def test_every_code_fits_the_quarantine_contract():
    contract = yaml.safe_load((Settings().contracts_dir / "quarantine.yaml").read_text())
    stages = next(e["value_set"] for e in contract["expectations"]["table"] if e.get("column") == "stage")
    assert {code.stage for code in quarantine.CODES.values()} <= set(stages)
    assert [column["name"] for column in contract["columns"]] == list(quarantine.SCHEMA)
