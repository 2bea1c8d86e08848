"""contracts: contracts are read from schemas/ and enforced on every frame."""

import polars as pl
import pyarrow as pa
import pytest

from newsflow.contracts import TABLES, ContractError, conform, load_contract, parse_arrow_type
from newsflow.settings import Settings

CONTRACTS = Settings().contracts_dir


def test_every_table_has_a_contract_with_described_columns():
    assert sorted(p.stem for p in CONTRACTS.glob("*.yaml")) == sorted(TABLES)
    for table in TABLES:
        contract = load_contract(CONTRACTS, table)
        assert contract.table == table and contract.description
        assert all(column.description for column in contract.columns), table


def test_contracts_hold_the_columns_the_product_promises():
    documents = [c.name for c in load_contract(CONTRACTS, "documents").columns]
    for name in ("doc_id", "source_uri", "content_sha256", "removed_lines", "exact_dup_of", "story_id", "is_deleted"):
        assert name in documents
    runs = [c.name for c in load_contract(CONTRACTS, "runs").columns]
    assert runs[:8] == ["run_id", "flow_run_id", "started_at", "finished_at", "status", "counts", "table_versions", "validation"]


@pytest.mark.parametrize(
    ("spec", "arrow_type"),
    [
        ("string", pa.string()),
        ("timestamp[us, UTC]", pa.timestamp("us", tz="UTC")),
        ("list<string>", pa.list_(pa.string())),
        ("map<string, int64>", pa.map_(pa.string(), pa.int64())),
        (
            "list<struct<text: string, rule: string, line: int64>>",
            pa.list_(pa.struct([("text", pa.string()), ("rule", pa.string()), ("line", pa.int64())])),
        ),
    ],
)
def test_type_language(spec, arrow_type):
    assert parse_arrow_type(spec) == arrow_type


def test_unknown_type_is_refused():
    with pytest.raises(ValueError, match="unknown type 'text'"):
        parse_arrow_type("text")


def paragraphs(**overrides) -> pl.DataFrame:
    row = {"doc_id": "a", "para_idx": 0, "kind": "title", "text": "T", "char_start": 0, "char_end": 1}
    return pl.DataFrame([{**row, **overrides}])


def test_conform_fills_missing_nullable_columns_and_orders_them():
    table = conform("paragraphs", paragraphs().select(reversed(paragraphs().columns)), load_contract(CONTRACTS, "paragraphs"))
    assert table.column_names == [c.name for c in load_contract(CONTRACTS, "paragraphs").columns]
    assert table.column("lang").null_count == 1


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (paragraphs().drop("char_end"), "table 'paragraphs': required column 'char_end' is missing"),
        (paragraphs().with_columns(extra=pl.lit(1)), "table 'paragraphs': column 'extra' is not in its contract"),
        (paragraphs(para_idx="first"), "table 'paragraphs': column 'para_idx' has type"),
        (paragraphs(kind=None), "table 'paragraphs': column 'kind' is not nullable but has 1 null"),
    ],
)
def test_a_frame_that_breaks_its_contract_names_the_table_and_column(frame, message):
    with pytest.raises(ContractError, match=message):
        conform("paragraphs", frame, load_contract(CONTRACTS, "paragraphs"))


def test_timestamps_keep_their_time_zone():
    contract = load_contract(CONTRACTS, "documents")
    assert contract.column("ingested_at").arrow_type == pa.timestamp("us", tz="UTC")
    assert contract.column("published_at").arrow_type == pa.timestamp("us")  # as printed; no zone is invented


def test_expectations_are_read_with_their_level_and_arguments():
    documents = load_contract(CONTRACTS, "documents")
    title = next(e for e in documents.expectations if e.columns == ["title"])
    assert (title.type, title.level, title.kwargs) == (
        "expect_column_value_lengths_to_be_between", "row", {"column": "title", "min_value": 5, "max_value": 300}
    )
    und_share = next(e for e in documents.expectations if e.level == "table" and e.columns == ["lang"])
    assert und_share.kwargs["mostly"] == {"$PARAMETER": "1 - max_und_lang_share"} and "und" in und_share.description
    assert {e.level for e in load_contract(CONTRACTS, "quarantine").expectations} == {"table"}


def test_expectations_outside_row_and_table_are_refused(tmp_path):
    spec = (CONTRACTS / "stories.yaml").read_text(encoding="utf-8").replace("\n  row:\n", "\n  rows:\n")
    (tmp_path / "stories.yaml").write_text(spec, encoding="utf-8")
    with pytest.raises(ContractError, match=r"stories.yaml: expectations has \['rows'\]; list each expectation under row or table"):
        load_contract(tmp_path, "stories")


def test_an_edited_contract_is_read_again_by_the_same_process(tmp_path):
    spec = (CONTRACTS / "stories.yaml").read_text(encoding="utf-8")
    (tmp_path / "stories.yaml").write_text(spec, encoding="utf-8")
    assert load_contract(tmp_path, "stories").description == load_contract(CONTRACTS, "stories").description
    (tmp_path / "stories.yaml").write_text(spec.replace("\ndescription: ", "\ndescription: Edited. ", 1), encoding="utf-8")
    assert load_contract(tmp_path, "stories").description.startswith("Edited. ")
