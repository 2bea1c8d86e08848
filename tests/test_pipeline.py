"""The news-pipeline flow end to end on the seeds and on a folder of bad input."""

import os
from pathlib import Path

import polars as pl
import pytest

from conftest import SEEDS, read_table, seed_doc

from newsflow import counters
from newsflow.runs import without_local_paths
from newsflow.settings import PROJECT_ROOT, Settings

BOILERPLATE_STRINGS = [
    "Leave a",
    "ALSO READ",
    "Also Read",
    "Related Read",
    "Source link",
    "will not be published",
    "Give Your Comments",
    "Publish :",
]


def test_seeds_publish_five_documents_with_their_titles(seeds_run):
    output, record = seeds_run
    documents = read_table(output, "documents")
    assert record.status == "completed"
    assert documents.height == 5
    assert seed_doc(documents, "002")["title"] == "Vladimir Putin welcomes ‘dear friend’ Chinese leader Xi Jinping to Moscow"
    assert seed_doc(documents, "000")["title"] == "Xi Jinping visits Russia to discuss Putin’s conflict with Ukraine"
    assert documents["source_uri"].to_list() == sorted(p.name for p in SEEDS.glob("*.txt"))


@pytest.mark.parametrize("boilerplate", BOILERPLATE_STRINGS)
def test_no_boilerplate_left_in_any_text(seeds_run, boilerplate):
    documents = read_table(seeds_run[0], "documents")
    assert not documents.filter(pl.col("text").str.contains(boilerplate, literal=True)).height


def test_every_removed_line_is_listed_with_its_rule(seeds_run):
    documents = read_table(seeds_run[0], "documents")
    removed = {
        row["source_uri"][:3]: {(line["text"], line["rule"]) for line in row["removed_lines"]}
        for row in documents.iter_rows(named=True)
    }
    assert ("Publish : 2023-03-21 10:03:00", "publication_line") in removed["002"]
    assert ("Give Your Comments", "comment_prompt") in removed["002"]
    assert ("Source link", "source_link") in removed["004"]
    assert ("Your email address will not be published.", "comment_form_notice") in removed["004"]
    assert ("Also Read | Russia Ukraine War History", "also_read_teaser") in removed["001"]
    assert {rule for _, rule in removed["000"]} == {"also_read_teaser", "comment_prompt"}
    # every line of a seed is in the text, or listed as removed, or in the text once its removed sentences are cut
    for path in SEEDS.glob("*.txt"):
        doc = seed_doc(documents, path.name[:3])
        listed = [line["text"] for line in doc["removed_lines"]]
        for line in filter(None, (raw.strip() for raw in path.read_text(encoding="utf-8").splitlines())):
            line = " ".join(line.replace("\u00a0", " ").split())
            for removed in listed:
                line = line.replace(removed, "").strip()
            assert not line or line in doc["text"].split("\n\n")


def test_repeated_lede_sentence_is_kept_once(seeds_run):
    text = seed_doc(read_table(seeds_run[0], "documents"), "003")["text"]
    assert text.count("Xi Jinping is schedule to meet") == 1


def test_paragraph_offsets_cut_their_text_out_of_the_document(seeds_run):
    output = seeds_run[0]
    texts = dict(read_table(output, "documents").select("doc_id", "text").iter_rows())
    paragraphs = read_table(output, "paragraphs")
    assert paragraphs.height > 5 * 10
    for row in paragraphs.iter_rows(named=True):
        assert texts[row["doc_id"]][row["char_start"] : row["char_end"]] == row["text"]


def test_languages_are_published_for_documents_and_paragraphs(seeds_run):
    output, record = seeds_run
    documents = read_table(output, "documents")
    assert documents.select("lang", "is_mixed_lang").unique().rows() == [("en", False)]
    paragraphs = read_table(output, "paragraphs")
    assert paragraphs["lang"].null_count() == 0 and set(paragraphs["lang"]) == {"en", "und"}
    assert record.counts["documents_mixed_lang"] == 0


def test_run_is_recorded_with_counts_and_table_versions(seeds_run):
    output, record = seeds_run
    runs = read_table(output, "runs").filter(pl.col("run_id") == record.run_id).row(0, named=True)
    assert runs["status"] == "completed"
    assert runs["flow_run_id"] == record.flow_run_id and runs["flow_run_id"]
    counts = runs["counts"]
    assert counts["files_seen"] == 5 and counts["documents_published"] == 5 and counts["quarantined"] == 0
    # every counter is registered, in the group the summary shows it under; a seeds run counts in every group
    assert all(counters.grouped(counts).values()) and set(counts) == set(counters.COUNTERS) - {"warc_records_not_html", "warc_records_too_large"}
    versions = runs["table_versions"]
    # every table starts empty at version 0; the first run's data is version 1 of what it changed
    assert versions["documents"] == 1 and versions["paragraphs"] == 1 and versions["quarantine"] == 0
    assert runs["started_at"] <= runs["finished_at"]
    stages = ["plan", "ingest", "clean", "language", "signatures", "extract", "validate", "stage", "groups", "publish", "data docs"]
    assert list(runs["stage_seconds"]) == stages and all(seconds >= 0 for seconds in runs["stage_seconds"].values())


def test_a_failed_runs_error_names_its_folders_by_their_role_not_by_their_path(tmp_path):
    output, source = tmp_path / "news" / "out", tmp_path / "feeds"
    settings = Settings(output_dir=output, source_dir=source, gx_dir=PROJECT_ROOT / "gx")
    error = OSError(
        f"[Errno 28] No space left on device: '{output}/documents/part-1.parquet'; read {source}/a.txt, "
        f"{output}-old/x and {PROJECT_ROOT}/schemas/documents.yaml; see {PROJECT_ROOT / 'gx'}/runs"
    )
    assert without_local_paths(str(error), settings) == (
        "[Errno 28] No space left on device: '<output>/documents/part-1.parquet'; read <source>/a.txt, "
        f"{output}-old/x and <contracts>/documents.yaml; see <gx>/runs"  # a sibling folder is not the output
    )
    assert without_local_paths(f"{PROJECT_ROOT}/seeds/a.txt", settings) == "./seeds/a.txt"
    assert without_local_paths(f"cannot write {output}. Check {output}.d", settings) == f"cannot write <output>. Check {output}.d"


def write_bad_and_good_files(folder: Path) -> None:
    """Two good articles beside one file of every bad kind."""
    nested = folder / "nested" / "deeper"
    nested.mkdir(parents=True)
    for name in ("000_d90335feb4c6e67b.txt", "002_d27acffbcd5def62.txt"):
        (nested / name).write_bytes((SEEDS / name).read_bytes())
    (folder / "latin.txt").write_bytes("Café owners protest\n\nThe café’s owner said prices rose 5%.".encode("cp1252"))
    (folder / "empty.txt").write_bytes(b"")
    (folder / "blank.txt").write_bytes(b"  \n\n \t\n")
    (folder / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (folder / "undecodable.txt").write_bytes(bytes(range(128, 256)) * 4)
    (folder / "huge.txt").write_bytes(b"Big headline\n\n" + b"word " * 5000)
    (folder / "outside.txt").symlink_to("/etc/passwd")  # a link out of the source folder is not read
    (folder / os.fsdecode(b"caf\xe9.txt")).write_bytes((SEEDS / "000_d90335feb4c6e67b.txt").read_bytes())
    (folder / "dangling.txt").symlink_to(folder / "no-such-file.txt")
    (folder / "notes.md").write_text("not an article: ignored, it is not *.txt")


def test_bad_files_are_quarantined_and_good_files_still_publish(tmp_path, prefect_server, monkeypatch):
    from newsflow.pipeline import news_pipeline

    source = tmp_path / "source"
    source.mkdir()
    write_bad_and_good_files(source)
    monkeypatch.setenv("NEWSFLOW_MAX_FILE_BYTES", "20000")
    record = news_pipeline(source=source, output=tmp_path / "out")

    quarantine = read_table(tmp_path / "out", "quarantine")
    assert sorted(quarantine.select("source_uri", "code").iter_rows()) == [
        ("binary.txt", "binary_file"),
        ("blank.txt", "empty_file"),
        ("caf\\xe9.txt", "invalid_name"),
        ("dangling.txt", "broken_symlink"),
        ("empty.txt", "empty_file"),
        ("huge.txt", "too_large"),
        ("outside.txt", "outside_source"),
        ("undecodable.txt", "undecodable"),
    ]
    passwd = Path("/etc/passwd").read_text().splitlines()[0]
    assert not [p for p in (tmp_path / "out").rglob("*") if p.is_file() and passwd.encode() in p.read_bytes()]
    assert quarantine["reason"].str.contains(":").all() and quarantine["stage"].unique().to_list() == ["ingest"]
    assert quarantine["run_id"].unique().to_list() == [record.run_id]
    documents = read_table(tmp_path / "out", "documents")
    assert sorted(documents["source_uri"]) == [
        "latin.txt",
        "nested/deeper/000_d90335feb4c6e67b.txt",
        "nested/deeper/002_d27acffbcd5def62.txt",
    ]
    latin = documents.filter(pl.col("source_uri") == "latin.txt").row(0, named=True)
    assert latin["encoding"] == "cp1252" and latin["text"] == "Café owners protest\n\nThe café’s owner said prices rose 5%."
    assert record.counts["files_seen"] == 11 and record.counts["quarantined"] == 8


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_file_without_read_permission_is_quarantined(tmp_path):
    from newsflow.sources.files import Refused, read_file

    path = tmp_path / "secret.txt"
    path.write_text("Headline\n\nBody.")
    path.chmod(0)
    with pytest.raises(Refused) as refused:
        read_file(path, tmp_path, 1000)
    assert refused.value.code == "unreadable"
