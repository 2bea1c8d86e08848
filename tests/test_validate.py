"""validate: the expectations in schemas/, checked with Great Expectations before anything is published."""

import json
import re
import shutil
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import polars as pl
import pytest
import yaml
from deltalake import DeltaTable

from conftest import SEEDS, read_table, seed_doc

from newsflow.analysis.cleaning import load_boilerplate_rules, normalise_text
from newsflow.batch import Batch
from newsflow.contracts import ContractError
from newsflow.quality import gx
from newsflow.quality.checks import MAX_VALUE_CHARS
from newsflow.quality.summary import ValidationFailed
from newsflow.runs import new_run_id
from newsflow.settings import PROJECT_ROOT, Settings
from newsflow.sources.files import doc_id_for
from newsflow.stages import clean, ingest, plan, validate
from newsflow.storage.tables import current_versions

CONTRACTS = Settings().contracts_dir
STARTED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def seeds_batch(tmp_path_factory) -> Batch:
    """The seeds ingested and cleaned, not yet validated."""
    settings = Settings(source_dir=SEEDS, output_dir=tmp_path_factory.mktemp("unpublished"))
    return clean.run(ingest.run(plan.run(Batch("run-seeds", STARTED), settings), settings), settings)


def quarantined(batch: Batch, code: str) -> list[tuple]:
    records = batch.quarantine.filter(pl.col("code") == code)
    return sorted(records.select("table_name", "source_uri", "expectation", "column_name", "value").iter_rows(), key=str)


def copy_seeds(folder: Path, *prefixes: str) -> None:
    folder.mkdir()
    for path in SEEDS.glob("*.txt"):
        if path.name.startswith(prefixes):
            shutil.copy(path, folder / path.name)


def test_a_two_character_title_is_quarantined_and_the_other_documents_publish(tmp_path, prefect_server, monkeypatch):
    from newsflow.pipeline import news_pipeline

    source, output = tmp_path / "source", tmp_path / "out"
    copy_seeds(source, "000", "001", "002", "003")  # the stub, language und, is a fifth: within the und share
    # a headline (text follows it) of two characters; a one-line file would have no headline and publish
    (source / "stub.txt").write_text("H<\n\n12345 67890\n", encoding="utf-8")
    record = news_pipeline(source=source, output=output)

    documents = read_table(output, "documents")
    assert record.status == "completed"
    assert sorted(documents["source_uri"]) == sorted(p.name for p in SEEDS.glob("00[0-3]_*.txt"))
    assert set(read_table(output, "paragraphs")["doc_id"]) == set(documents["doc_id"])
    quarantine = read_table(output, "quarantine")
    failed = quarantine.filter(pl.col("code") == "failed_expectation").row(0, named=True)
    assert failed["stage"] == "validate" and failed["source_uri"] == "stub.txt" and failed["doc_id"] == doc_id_for("stub.txt")
    assert (failed["table_name"], failed["expectation"], failed["column_name"], failed["value"]) == (
        "documents", "expect_column_value_lengths_to_be_between", "title", "H<"
    )
    assert "expect_column_value_lengths_to_be_between on title" in failed["reason"]
    [title_length] = [row for row in gx.run_results(Settings(output_dir=output), record.run_id) if row["expectation"].endswith("_between(title)")]
    assert (title_length["rows_failed"], title_length["failing_values"]) == (1, "H<")  # as written, not as the page escapes it
    withheld = quarantine.filter(pl.col("code") == "withheld_with_document")
    assert sorted(withheld.select("table_name", "doc_id", "detail").rows()) == [
        ("paragraphs", doc_id_for("stub.txt"), "2 row(s)"),
        ("signatures", doc_id_for("stub.txt"), "1 row(s)"),
    ]

    run = read_table(output, "runs").row(0, named=True)
    validation = json.loads(run["validation"])
    assert run["counts"]["rows_failed_validation"] == 1 and run["counts"]["rows_withheld_with_document"] == 3
    assert validation["success"] and validation["suites"]["documents"]["failed_rows"] == 1
    assert [(f["table"], f["expectation"], f["columns"]) for f in validation["failures"]] == [
        ("documents", "expect_column_value_lengths_to_be_between", ["title"])
    ]
    assert validation["expectations_evaluated"] == sum(s["expectations"] for s in validation["suites"].values())
    commit = DeltaTable(str(output / "documents")).history(1)[0]
    assert json.loads(commit["newsflow.validation"]) == validation

    rerun = news_pipeline(source=source, output=output)  # the quarantined file is skipped until it changes
    assert rerun.counts["files_unchanged"] == 5 and rerun.counts["tables_changed"] == 0

    # ... or until the contract that refused it changes: the reason says to fix the expectation if it is wrong
    contracts = tmp_path / "schemas"
    shutil.copytree(CONTRACTS, contracts)
    edited = (contracts / "documents.yaml").read_text().replace("column: title, min_value: 5,", "column: title, min_value: 2,")
    (contracts / "documents.yaml").write_text(edited)
    monkeypatch.setenv("NEWSFLOW_CONTRACTS_DIR", str(contracts))
    monkeypatch.setenv("NEWSFLOW_MAX_UND_LANG_SHARE", "1")  # "Hi" alone is the run: its language is und
    retried = news_pipeline(source=source, output=output)
    assert (retried.counts["files_changed"], retried.counts["files_unchanged"]) == (1, 4)
    assert "stub.txt" in read_table(output, "documents")["source_uri"].to_list()


def test_a_table_level_breach_fails_the_run_and_no_table_gets_a_new_version(tmp_path, prefect_server, monkeypatch):
    from newsflow.pipeline import news_pipeline

    source, output = tmp_path / "source", tmp_path / "out"
    copy_seeds(source, "000", "001", "002")
    assert news_pipeline(source=source, output=output).status == "completed"
    published = current_versions(output)
    # The same article saved twice more: 3 of the 5 files have content no other file has.
    for name in ("republished-a.txt", "republished-b.txt"):
        shutil.copy(next(SEEDS.glob("003_*.txt")), source / name)
    monkeypatch.setenv("NEWSFLOW_MIN_DISTINCT_CONTENT_SHARE", "0.9")

    with pytest.raises(ValidationFailed, match="validation failed.*content_sha256"):
        news_pipeline(source=source, output=output)

    after = current_versions(output)
    assert {t: v for t, v in after.items() if t != "runs"} == {t: v for t, v in published.items() if t != "runs"}
    assert after["runs"] == published["runs"] + 1  # the failed run is recorded, and nothing else is written
    failed_run = read_table(output, "runs").sort("started_at").row(-1, named=True)
    validation = json.loads(failed_run["validation"])
    assert failed_run["status"] == "failed" and "validation failed" in failed_run["error"]
    # the folders are named by their role: the runs table tells no one where this machine keeps them
    assert "expectation in <contracts> if it is wrong; Data Docs: <gx>/" in failed_run["error"]
    assert not any(str(folder) in failed_run["error"] for folder in (output, Settings().gx_dir, PROJECT_ROOT))
    assert not validation["success"]
    assert [(f["level"], f["expectation"], f["columns"]) for f in validation["failures"]] == [
        ("table", "expect_column_values_to_be_unique", ["content_sha256"])
    ]
    assert sorted(read_table(output, "documents")["source_uri"]) == sorted(p.name for p in SEEDS.glob("00[012]_*.txt"))
    # The failed validation is in the Data Docs the error points to.
    assert f"validations/documents/{failed_run['run_id']}/" in (Settings().gx_dir / validation["data_docs"]).read_text(encoding="utf-8")


def test_data_docs_index_lists_each_tables_suite_and_the_run(seeds_run):
    # Built once, when the run is recorded.
    _, record = seeds_run
    index = Settings().gx_dir / record.validation["data_docs"]
    html = index.read_text(encoding="utf-8")
    assert index.name == "index.html" and not Path(record.validation["data_docs"]).is_absolute()
    for table in ("documents", "paragraphs", "quarantine"):
        assert f"expectations/{table}.html" in html
        assert f"validations/{table}/{record.run_id}/" in html
        assert record.validation["suites"][table]["expectations"] >= 3


def test_each_output_folder_has_data_docs_of_its_own_runs(tmp_path, seeds_batch):
    indexes = {}
    for run_id in ("run-into-a", "run-into-b"):
        settings = Settings(gx_dir=tmp_path / "gx", output_dir=tmp_path / run_id[-1])
        checked = gx.build_data_docs(validate.run(Batch(run_id, STARTED, documents=seeds_batch.documents), settings), settings)
        indexes[run_id] = settings.gx_dir / checked.validation.data_docs
    assert len(set(indexes.values())) == 2
    for run_id, index in indexes.items():  # one output's runs only
        assert set(re.findall(r"validations/\w+/(run-[\w-]+)/", index.read_text(encoding="utf-8"))) == {run_id}


def test_stored_validation_results_keep_failing_values_cut_to_the_quarantine_cap(tmp_path, seeds_batch):
    # GX kept whole values in its results: one file reached 5.8 MB
    settings = Settings(gx_dir=tmp_path / "gx")
    documents = seeds_batch.documents.with_columns(title=pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("Headline " * 2000)).otherwise("title"))
    checked = validate.run(Batch("run-long", STARTED, documents=documents, paragraphs=seeds_batch.paragraphs), settings)
    assert checked.quarantine.filter(pl.col("code") == "failed_expectation")["column_name"].to_list() == ["title"]
    [stored] = (tmp_path / "gx").rglob("uncommitted/validations/documents/run-long/**/*.json")

    def strings(value):
        if isinstance(value, dict):
            return [s for item in value.values() for s in strings(item)]
        return [s for item in value for s in strings(item)] if isinstance(value, list) else [value] if isinstance(value, str) else []

    values = strings([checked["result"] for checked in json.loads(stored.read_text())["results"]])
    assert any(value.startswith("Headline Headline") for value in values)
    assert max(map(len, values)) <= MAX_VALUE_CHARS


def test_the_data_docs_index_links_only_the_latest_validation_results(tmp_path, seeds_batch, monkeypatch):
    monkeypatch.setattr(gx, "DATA_DOCS_INDEX_RESULTS", 2)
    settings = Settings(gx_dir=tmp_path / "gx")
    for run_id in ("run-one", "run-two"):  # each validates 3 tables
        checked = validate.run(Batch(run_id, STARTED, documents=seeds_batch.documents, paragraphs=seeds_batch.paragraphs), settings)
    gx.build_data_docs(checked, settings)
    linked = set(re.findall(r"validations/(\w+)/(run-\w+)/", (settings.gx_dir / checked.validation.data_docs).read_text(encoding="utf-8")))
    assert len(linked) == 2 and {run for _, run in linked} == {"run-two"}


def test_a_tables_checkpoint_is_made_once_and_used_by_every_later_batch(tmp_path, monkeypatch, seeds_batch):
    made = []
    make = gx.Project._make_checkpoint
    monkeypatch.setattr(gx.Project, "_make_checkpoint", lambda self, contract, settings: made.append(contract.table) or make(self, contract, settings))
    settings = Settings(gx_dir=tmp_path / "gx")
    first, second = validate.run(seeds_batch, settings), validate.run(seeds_batch, settings)
    assert sorted(made) == ["documents", "paragraphs", "quarantine"]
    assert second.validation.suites == first.validation.suites and second.documents.height == 5


def test_a_project_another_process_saved_since_is_still_used(tmp_path, seeds_batch):
    """Another process (a Dask worker, another run) saving the same suites makes this process's objects stale."""
    settings = Settings(gx_dir=tmp_path / "gx")
    assert validate.run(seeds_batch, settings).documents.height == 5
    saves = "from newsflow.contracts import load_contract; from newsflow.settings import Settings; from newsflow.quality import gx; "
    saves += f"settings = Settings(gx_dir={str(settings.gx_dir)!r}); "
    saves += "[gx.open_project(settings).checkpoint(load_contract(settings.contracts_dir, t), settings) for t in ('documents', 'paragraphs')]"
    subprocess.run([sys.executable, "-c", saves], check=True)
    assert validate.run(seeds_batch, settings).documents.height == 5


def test_changing_an_expectation_in_schemas_changes_what_the_next_run_checks(tmp_path, monkeypatch, seeds_batch):
    contracts = tmp_path / "schemas"
    shutil.copytree(CONTRACTS, contracts)
    monkeypatch.setenv("NEWSFLOW_CONTRACTS_DIR", str(contracts))
    assert validate.run(seeds_batch, Settings()).documents.height == 5

    documents_yaml = contracts / "documents.yaml"
    text = documents_yaml.read_text(encoding="utf-8")
    documents_yaml.write_text(text.replace("column: title, min_value: 5, max_value: 300", "column: title, min_value: 5, max_value: 70"))
    checked = validate.run(seeds_batch, Settings())

    assert checked.documents.height == 3
    assert quarantined(checked, "failed_expectation") == [
        ("documents", "002_d27acffbcd5def62.txt", "expect_column_value_lengths_to_be_between", "title",
         "Vladimir Putin welcomes ‘dear friend’ Chinese leader Xi Jinping to Moscow"),
        ("documents", "004_f0061f79107f2e27.txt", "expect_column_value_lengths_to_be_between", "title",
         "Xi-Putin meeting: Russia and China leaders play peacemakers on Ukraine, pledge closer ties"),
    ]


def test_a_paragraph_matching_a_cleaning_rule_withholds_its_document_and_all_its_rows(tmp_path, seeds_batch):
    rules = yaml.safe_load(Settings().boilerplate_rules.read_text(encoding="utf-8"))
    rules["rules"].append({"name": "caption_stub", "kind": "boilerplate", "pattern": "china and russias? presidents?"})
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rules), encoding="utf-8")
    doc_000, doc_001 = (seed_doc(seeds_batch.documents, prefix)["doc_id"] for prefix in ("000", "001"))
    mention = {"para_idx": 0, "text": "Xi Jinping", "label": "PERSON", "canonical": "Xi Jinping", "char_start": 0, "char_end": 10}
    entities = pl.DataFrame([{"doc_id": doc_000, **mention}, {"doc_id": doc_001, **mention}])
    duplicates = pl.DataFrame([{"doc_id": doc_001, "other_doc_id": doc_000, "kind": "near", "similarity": 0.8, "run_id": "r"}])
    batch = Batch(seeds_batch.run_id, STARTED, documents=seeds_batch.documents, paragraphs=seeds_batch.paragraphs,
                  entities=entities, duplicates=duplicates)
    checked = validate.run(batch, Settings(boilerplate_rules=tmp_path / "rules.yaml"))

    assert checked.documents.height == 4 and doc_000 not in checked.documents["doc_id"]
    assert doc_000 not in checked.paragraphs["doc_id"] and checked.paragraphs["doc_id"].n_unique() == 4
    assert checked.entities["doc_id"].to_list() == [doc_001] and checked.duplicates.is_empty()
    assert quarantined(checked, "failed_expectation") == [
        ("paragraphs", "000_d90335feb4c6e67b.txt", "expect_column_values_to_not_match_regex_list", "text",
         "China and russias president")
    ]
    withheld = checked.quarantine.filter(pl.col("code") == "withheld_with_document")
    paragraphs_000 = seeds_batch.paragraphs.filter(pl.col("doc_id") == doc_000).height
    assert withheld.select("table_name", "doc_id", "detail").rows() == [
        ("documents", doc_000, "1 row(s)"),
        ("paragraphs", doc_000, f"{paragraphs_000 - 1} row(s)"),
        ("entities", doc_000, "1 row(s)"),
        ("duplicates", doc_000, "1 row(s)"),
    ]
    assert set(withheld["source_uri"]) == {"000_d90335feb4c6e67b.txt"}


@pytest.mark.filterwarnings("ignore:This pattern is interpreted as a regular expression")
def test_whole_line_patterns_match_exactly_the_lines_the_cleaning_rules_remove():
    rules = load_boilerplate_rules(Settings().boilerplate_rules)
    lines = [line for path in sorted(SEEDS.glob("*.txt")) for line in normalise_text(path.read_text(encoding="utf-8")).split("\n") if line]
    lines += ["LEAVE A COMMENT", "Please leave a comment below.", "Source link to the report", "© 2023 Reuters. All rights reserved",
              "Publish : 2023-03-21 10:03:00", "Published 21 March 2023, the report said prices rose 5% in a year of war."]
    series = pd.Series(lines, dtype="str")  # what GX hands the regexes: pandas strings
    matched = 0
    for rule in rules:
        expected = [rule.matches(line) for line in lines]
        assert series.str.contains(gx.whole_line_pattern(rule)).tolist() == expected, rule.name
        matched += sum(expected)
    assert matched >= 12


def test_published_at_may_not_be_after_ingestion_in_any_time_zone(seeds_batch):
    local = STARTED.replace(tzinfo=None)
    published = {"000": local + timedelta(hours=13), "001": local + timedelta(hours=15), "002": local - timedelta(days=700)}
    documents = seeds_batch.documents.with_columns(
        published_at=pl.col("source_uri").str.slice(0, 3).replace_strict(published, default=None, return_dtype=pl.Datetime("us"))
    )
    checked = validate.run(Batch(seeds_batch.run_id, STARTED, documents=documents, paragraphs=seeds_batch.paragraphs), Settings())
    assert quarantined(checked, "failed_expectation") == [
        ("documents", "001_98ffcff286fe7b4b.txt", "expect_column_values_to_be_between", "published_at", "2026-03-02 03:00:00")
    ]


def test_every_run_id_is_a_name_to_great_expectations_never_a_date(seeds_batch, monkeypatch):
    # "20260301T120000Z-75a04a1a" read as a date with a UTC offset of 75 hours, and GX failed on it.
    with monkeypatch.context() as patch:
        patch.setattr(uuid, "uuid4", lambda: uuid.UUID("75a04a1a" + "0" * 24))
        run_id = new_run_id(STARTED)
    checked = validate.run(Batch(run_id, STARTED, documents=seeds_batch.documents, paragraphs=seeds_batch.paragraphs), Settings())
    gx.build_data_docs(checked, Settings())
    assert checked.documents.height == 5
    assert f"validations/documents/{run_id}/" in (Settings().gx_dir / checked.validation.data_docs).read_text()


def test_rows_of_tables_from_later_stages_are_checked_by_their_contracts(seeds_batch):
    doc = seed_doc(seeds_batch.documents, "000")
    start = doc["text"].index("Vladimir Putin")
    mention = {"doc_id": doc["doc_id"], "para_idx": 2, "text": "Vladimir Putin", "canonical": "Vladimir Putin",
               "char_start": start, "char_end": start + 14}
    entities = pl.DataFrame([
        {**mention, "label": "PERSON"},
        {**mention, "label": "POLITICIAN"},
        {**mention, "label": "PERSON", "char_start": doc["n_chars"], "char_end": doc["n_chars"] + 14},
    ])
    other = seed_doc(seeds_batch.documents, "001")["doc_id"]
    duplicates = pl.DataFrame([
        {"doc_id": other, "other_doc_id": doc["doc_id"], "kind": "near", "similarity": 0.85, "run_id": "r"},
        {"doc_id": other, "other_doc_id": other, "kind": "exact", "similarity": 1.0, "run_id": "r"},
    ])
    batch = Batch(seeds_batch.run_id, STARTED, documents=seeds_batch.documents, paragraphs=seeds_batch.paragraphs,
                  entities=entities, duplicates=duplicates)
    checked = validate.run(batch, Settings())

    assert checked.entities.rows(named=True) == [{**mention, "label": "PERSON"}]
    assert checked.duplicates["other_doc_id"].to_list() == [doc["doc_id"]]
    failures = {(t, e, c) for t, _, e, c, _ in quarantined(checked, "failed_expectation")}
    assert failures == {
        ("entities", "expect_column_values_to_be_in_set", "label"),
        ("entities", "expect_column_pair_values_a_to_be_greater_than_b", "documents.n_chars, char_end"),
        ("duplicates", "expect_select_column_values_to_be_unique_within_record", "doc_id, other_doc_id"),
    }
    assert checked.validation.suites["entities"]["rows"] == 3


@pytest.mark.parametrize(("und", "max_share", "fails"), [(2, 0.2, True), (2, 0.5, False)])
def test_the_share_of_undetermined_languages_is_a_table_expectation_set_by_a_setting(seeds_batch, und, max_share, fails):
    documents = seeds_batch.documents.with_columns(lang=pl.when(pl.int_range(pl.len()) < und).then(pl.lit("und")).otherwise(pl.lit("en")))
    batch = Batch(f"und-share-{'fails' if fails else 'holds'}", STARTED, documents=documents, paragraphs=seeds_batch.paragraphs)
    settings = Settings(max_und_lang_share=max_share)
    if not fails:
        assert validate.run(batch, settings).documents.height == 5
        return
    with pytest.raises(ValidationFailed, match="expect_column_values_to_not_be_in_set on lang.*40.0% of rows") as failure:
        validate.run(batch, settings)
    assert not failure.value.summary.success
    gx.build_data_docs(batch, settings)  # as the flow does when it records the failed run
    assert f"validations/documents/{batch.run_id}/" in (settings.gx_dir / failure.value.summary.data_docs).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"expectation": "expect_table_row_count_to_be_between", "min_value": 1}, "judges the whole table, not each row"),
        ({"expectation": "expect_column_values_to_be_shiny", "column": "title"}, "has no expectation 'expect_column_values_to_be_shiny'"),
        ({"expectation": "expect_column_values_to_be_between", "column": "n_words", "minimum": 1}, "minimum"),
        ({"expectation": "expect_column_values_to_be_between", "column": "nwords", "min_value": 1}, "nwords"),
    ],
)
def test_a_malformed_expectation_names_its_contract(tmp_path, seeds_batch, entry, message):
    contracts = tmp_path / "schemas"
    shutil.copytree(CONTRACTS, contracts)
    spec = yaml.safe_load((contracts / "documents.yaml").read_text(encoding="utf-8"))
    spec["expectations"]["row"].append(entry)
    (contracts / "documents.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ContractError, match=rf"(?s)documents.yaml: .*{message}"):
        validate.run(seeds_batch, Settings(contracts_dir=contracts))


def test_great_expectations_is_not_imported_until_the_stage_runs():
    code = "import sys, newsflow.pipeline, newsflow.cli; print('great_expectations' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
