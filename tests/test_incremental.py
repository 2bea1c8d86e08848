"""A corpus published in several runs has the copies and stories of one run over the same files: the groups stage
compares each run's documents with the published index and recomputes only the story groups they join."""

import re
import shutil
import sys
from datetime import UTC, datetime, timedelta

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable, write_deltalake

from conftest import CORPORA, PROJECT_ROOT, read_table, run_stages, seed_texts, write_articles

from newsflow import datasets
from newsflow.sources.files import doc_id_for
from newsflow.storage import tables

sys.path.insert(0, str(PROJECT_ROOT / "bench"))
from benchlib import published_groups  # noqa: E402

FIRST_RUN = datetime(2026, 3, 20, 8, 0, tzinfo=UTC)
BBC = CORPORA / "bbc-news"
SEED_002 = "002_d27acffbcd5def62.txt"
SEED_004 = "004_f0061f79107f2e27.txt"
# bbc-news articles with near copies among them (politics/021 and 356, ...), which may arrive in different runs
COPIES = ["politics/021", "politics/356", "tech/211", "tech/226", "politics/223", "politics/341", "sport/050", "sport/051"]


def republished(text: str, headline: str, footer: str) -> str:
    return "\n".join([headline, *text.splitlines()[1:], footer])


def corpus() -> dict[str, str | bytes]:
    seeds = seed_texts()
    plain = re.sub(r"\d", "", seeds[SEED_004].lower())  # no names, no numbers: no story terms, found by its copies' band keys
    files = sorted(BBC.glob("*/*.txt"))[::25] + [BBC / f"{name}.txt" for name in COPIES]
    return {
        **seeds,
        **{f"bbc/{path.parent.name}/{path.name}": path.read_bytes() for path in files},
        "wire/002-again.txt": republished(seeds[SEED_002], "Xi and Putin hold talks", "Distributed by Example Wire."),
        "wire/002-once-more.txt": republished(seeds[SEED_002], "Xi in Moscow", "Distributed by Example Wire."),
        "mirror/004.txt": seeds[SEED_004].upper(),
        "mirror/004-copy.txt": seeds[SEED_004],
        "plain/a.txt": plain,
        "plain/b.txt": plain + "\n\nthis story was updated.",
    }


@pytest.mark.skipif(not BBC.is_dir(), reason=f"the BBC corpus is not at {BBC} (set NEWSFLOW_CORPORA)")
def test_a_corpus_published_in_five_runs_with_a_change_and_a_deletion_groups_as_one_run(tmp_path):
    articles = corpus()
    names = sorted(articles)
    grow, five = tmp_path / "grow", tmp_path / "five"
    for run in range(5):
        added = {name: articles[name] for name in names[run::5]}
        if run == 4:  # the last run also changes a file of the first and removes one of the second
            added[names[0]] = republished(seed_texts()[SEED_004], "Xi arrives in Moscow", "Reporting by staff.")
            (grow / names[1]).unlink()
        run_stages(write_articles(grow, added), five, FIRST_RUN + timedelta(hours=run))
    one = tmp_path / "one"
    shutil.copytree(grow, tmp_path / "all")
    run_stages(tmp_path / "all", one, FIRST_RUN)

    incremental, full = published_groups(five), published_groups(one)
    assert incremental == full
    # what they agree on is not trivial: stories of several documents, exact and near copies, the removed file gone
    assert max(map(len, full["stories"])) >= 5 and len(full["stories"]) < len(full["documents"])
    assert {kind for _, kind, _ in full["pairs"]} == {"exact", "near"} and full["pair_rows"] == len(full["pairs"])
    assert any({doc_id_for("plain/a.txt"), doc_id_for("plain/b.txt")} <= group for group in full["near"])
    assert doc_id_for(names[1]) not in full["index"] and full["index"] == full["documents"]


def table_files(output, table: str) -> set[str]:
    return set(pa.table(DeltaTable(str(output / table)).get_add_actions(flatten=True))["path"].to_pylist())


def test_a_run_rewrites_only_the_files_holding_the_rows_it_changes_and_optimize_compacts_them(tmp_path):
    seeds = seed_texts()
    names = sorted(seeds)
    source, output = tmp_path / "source", tmp_path / "out"
    run_stages(write_articles(source, {n: seeds[n] for n in names[:2]}), output, FIRST_RUN)
    first = {table: table_files(output, table) for table in ("documents", "signatures", "stories")}
    run_stages(write_articles(source, {n: seeds[n] for n in names[2:]}), output, FIRST_RUN + timedelta(hours=1))
    second = {table: table_files(output, table) - first[table] for table in first}
    # the second run's seeds join the first run's story: its row changes, the first run's documents do not
    assert first["documents"] <= table_files(output, "documents") and first["signatures"] <= table_files(output, "signatures")
    assert not first["stories"] & table_files(output, "stories")

    # a changed file of the second run: the files holding its earlier rows are rewritten without them, no other
    run_stages(write_articles(source, {names[4]: seeds[names[4]] + "\n\nThis article was corrected."}), output, FIRST_RUN + timedelta(hours=2))
    for table in ("documents", "signatures"):
        files = table_files(output, table)
        assert first[table] <= files and not second[table] & files, table
    documents = read_table(output, "documents")
    assert documents.height == 5 and documents["story_id"].n_unique() == 1

    before = {table: read_table(output, table).sort(pl.first()) for table in ("documents", "signatures", "stories", "duplicates")}
    compacted = datasets.optimize(output)
    # the first run's file and the one the third run wrote in place of the second's; a table of one file stays
    assert compacted["documents"] == compacted["signatures"] == (2, 1) and compacted["stories"] == (0, 0)
    for table, frame in before.items():
        assert len(table_files(output, table)) <= 1
        assert read_table(output, table).sort(pl.first()).equals(frame), table


def test_a_changed_document_rewrites_the_file_of_file_rows_rows_that_holds_it_and_optimize_keeps_that_size(tmp_path, monkeypatch):
    monkeypatch.setattr(tables, "FILE_ROWS", 2)
    seeds = seed_texts()
    source, output = write_articles(tmp_path / "source", seeds), tmp_path / "out"
    run_stages(source, output, FIRST_RUN)
    first = {table: table_files(output, table) for table in ("documents", "signatures")}
    assert all(len(files) == 3 for files in first.values())  # 5 documents, at most 2 a file
    changed = sorted(seeds)[2]
    write_articles(source, {changed: seeds[changed] + "\n\nThis article was corrected."})
    run_stages(source, output, FIRST_RUN + timedelta(hours=1))
    for table, files in first.items():  # the file of the changed document went, the two others stayed
        assert len(files & table_files(output, table)) == 2, table
    assert read_table(output, "documents").height == 5

    monkeypatch.setattr(datasets, "FILE_ROWS", 2)
    datasets.optimize(output)  # files of about FILE_ROWS rows stay as they are (into files of 128 MB: one file of 5)
    for table in first:
        assert sorted(pq.ParquetFile(output / table / name).metadata.num_rows for name in table_files(output, table)) == [1, 2, 2]


def test_a_run_that_only_deletes_a_document_takes_it_out_of_the_index_and_its_story(tmp_path):
    seeds = seed_texts()
    source = write_articles(tmp_path / "source", {**seeds, "copy.txt": seeds[SEED_002]})
    run_stages(source, tmp_path / "out", FIRST_RUN)
    assert read_table(tmp_path / "out", "duplicates").height == 1
    (source / SEED_002).unlink()
    batch = run_stages(source, tmp_path / "out", FIRST_RUN + timedelta(hours=1))
    assert batch.counts["files_removed"] == 1 and batch.counts["earlier_documents_compared"] == 5

    run_stages(source, tmp_path / "once", FIRST_RUN)
    assert published_groups(tmp_path / "out") == published_groups(tmp_path / "once")
    assert doc_id_for(SEED_002) not in published_groups(tmp_path / "out")["index"]
    assert read_table(tmp_path / "out", "duplicates").is_empty()  # the pair of the copy and the removed file is gone


def test_an_index_written_before_band_keys_and_story_groups_gets_them_and_groups_as_one_run(tmp_path):
    seeds = seed_texts()
    plain = re.sub(r"\d", "", seeds[SEED_004].lower())
    first = {**seeds, "plain/a.txt": plain}
    source = write_articles(tmp_path / "source", first)
    run_stages(source, tmp_path / "out", FIRST_RUN)
    index = read_table(tmp_path / "out", "signatures")
    old = index.with_columns(bands=pl.lit(None, pl.List(pl.Int64)), story_group=pl.lit(None, pl.String))
    write_deltalake(str(tmp_path / "out" / "signatures"), old.to_arrow(), mode="overwrite")

    write_articles(source, {"plain/b.txt": plain + "\n\nthis story was updated."})  # found by band keys only
    run_stages(source, tmp_path / "out", FIRST_RUN + timedelta(hours=1))
    run_stages(source, tmp_path / "once", FIRST_RUN)
    assert published_groups(tmp_path / "out") == published_groups(tmp_path / "once")
    upgraded = read_table(tmp_path / "out", "signatures").sort("doc_id")
    assert upgraded["story_group"].null_count() == 0
    assert upgraded.filter(pl.col("doc_id") != doc_id_for("plain/b.txt"))["bands"].equals(index.sort("doc_id")["bands"])
