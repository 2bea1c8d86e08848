"""ingest: which files are read, how they are decoded, and why others are refused."""

from datetime import UTC, datetime

import pytest

from conftest import SEEDS

from newsflow.batch import Batch
from newsflow.settings import Settings
from newsflow.sources.files import Refused, decode_text, doc_id_for, examine, find_article_files, read_file
from newsflow.stages import ingest, plan


def test_seeds_are_read_as_utf8_with_size_and_hash(tmp_path):
    settings = Settings(source_dir=SEEDS, output_dir=tmp_path)
    batch = ingest.run(plan.run(Batch("run-1", datetime(2026, 1, 1, tzinfo=UTC)), settings), settings)
    documents = batch.documents
    assert documents.height == 5 and batch.quarantine.height == 0
    first = documents.row(0, named=True)
    assert first["source_uri"] == "000_d90335feb4c6e67b.txt"
    assert first["size_bytes"] == (SEEDS / "000_d90335feb4c6e67b.txt").stat().st_size == 4119
    assert first["encoding"] == "utf-8"
    assert first["raw_text"].startswith("Xi Jinping visits Russia to discuss Putin’s conflict with Ukraine\n")
    assert first["doc_id"] == doc_id_for("000_d90335feb4c6e67b.txt") and len(first["doc_id"]) == 16
    assert batch.counts == {
        "files_seen": 5,
        "files_new": 5,
        "files_changed": 0,
        "files_unchanged": 0,
        "files_removed": 0,
        "files_quarantined": 0,
    }


def test_files_are_found_recursively_in_a_stable_order(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "z.txt").write_text("Z headline")
    (tmp_path / "a.TXT").write_text("A headline")
    (tmp_path / "c.json").write_text("{}")
    (tmp_path / "d.txt").mkdir()  # a folder named like an article is not one
    assert [p.relative_to(tmp_path).as_posix() for p in find_article_files(tmp_path)] == ["a.TXT", "b/z.txt"]


def test_missing_source_folder_is_an_error_that_says_what_to_pass(tmp_path):
    with pytest.raises(FileNotFoundError, match="--source"):
        find_article_files(tmp_path / "missing")


@pytest.mark.parametrize(
    ("data", "text", "encoding"),
    [
        ("Ünïcode “quotes”".encode(), "Ünïcode “quotes”", "utf-8"),
        (b"\xef\xbb\xbfWith a BOM", "With a BOM", "utf-8-sig"),
        ("Le café “ouvert” coûte 5 €".encode("cp1252"), "Le café “ouvert” coûte 5 €", "cp1252"),
        ("Zürich grüßt".encode("latin-1"), "Zürich grüßt", "cp1252"),
        ("Путин встретился с Си Цзиньпином в Москве.".encode("cp1251"), "Путин встретился с Си Цзиньпином в Москве.", "cp1251"),
        ("Headline\n\nBody".encode("utf-16"), "Headline\n\nBody", "utf-16"),
    ],
)
def test_decoding_tries_utf8_then_legacy_encodings(data, text, encoding):
    assert decode_text(data) == (text, encoding)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty_file"),
        (b" \n\t\n", "empty_file"),
        (b"%PDF-1.7\n\x00\x01binary", "binary_file"),
        (bytes(range(128, 256)) * 4, "undecodable"),
        ("text with \x01\x02\x03\x04 control characters".encode(), "binary_file"),
    ],
)
def test_undecodable_or_non_text_content_is_refused(data, code):
    with pytest.raises(Refused) as refused:
        decode_text(data)
    assert refused.value.code == code and refused.value.detail


def test_size_limit_is_checked_before_reading(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("x" * 101)
    with pytest.raises(Refused) as refused:
        read_file(path, max_file_bytes=100)
    assert refused.value.code == "too_large" and refused.value.detail == "101 bytes, limit 100"
    assert len(read_file(path, max_file_bytes=101)) == 101


def test_broken_symlink_names_its_missing_target(tmp_path):
    link = tmp_path / "gone.txt"
    link.symlink_to(tmp_path / "deleted.txt")
    with pytest.raises(Refused) as refused:
        read_file(link, 1000)
    assert refused.value.code == "broken_symlink" and "deleted.txt" in refused.value.detail


def test_fingerprint_is_the_content_hash_or_the_problem(tmp_path):
    article, empty = tmp_path / "a.txt", tmp_path / "empty.txt"
    article.write_text("Headline\n\nBody.")
    empty.write_bytes(b"")
    fingerprint, outcome = examine(article, 1000)
    assert fingerprint == outcome["content_sha256"] and len(fingerprint) == 64
    assert outcome["raw_text"] == "Headline\n\nBody." and outcome["size_bytes"] == 15
    fingerprint, outcome = examine(empty, 1000)
    assert isinstance(outcome, Refused) and outcome.code == "empty_file"
    assert fingerprint == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"  # sha256 of no bytes
    fingerprint, outcome = examine(tmp_path / "missing.txt", 1000)
    assert isinstance(outcome, Refused) and fingerprint.startswith("unreadable: ")
