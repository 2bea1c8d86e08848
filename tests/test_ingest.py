"""ingest: which files are read, how they are decoded, and why others are refused."""

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from conftest import SEEDS

from newsflow.batch import Batch
from newsflow.settings import Settings
from newsflow.sources.files import Refused, decode_text, doc_id_for, examine, read_file
from newsflow.sources.formats import find_source_files
from newsflow.stages import ingest, plan

RUN = Batch("run-1", datetime(2026, 1, 1, tzinfo=UTC))


def test_seeds_are_read_as_utf8_with_size_and_hash(tmp_path):
    settings = Settings(source_dir=SEEDS, output_dir=tmp_path)
    batch = ingest.run(plan.run(RUN, settings), settings)
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
    listing = find_source_files(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in listing.files] == ["a.TXT", "b/z.txt"]
    assert listing.unreadable_folders == []


def test_missing_source_folder_is_an_error_that_says_what_to_pass(tmp_path):
    with pytest.raises(FileNotFoundError, match="--source"):
        find_source_files(tmp_path / "missing")


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
    assert decode_text(data) == (text, encoding, 0)


def test_a_few_bad_bytes_in_utf8_text_are_replaced_and_counted_not_read_as_a_code_page():
    text = "Zürich: „Die Straße ist gesperrt“, sagte François Müller. Überall Schnee."
    data = text.encode().replace("Schnee".encode(), b"Schn\xe9e\xff")
    decoded, encoding, replaced = decode_text(data)
    assert (encoding, replaced) == ("utf-8", 2)
    assert decoded == text.replace("Schnee", "Schn\ufffde\ufffd")
    # one stray byte in ASCII text is a legacy code page's character (here cp1252's apostrophe), not damage
    assert decode_text(b"It\x92s cold.") == ("It’s cold.", "cp1252", 0)


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
        read_file(path, tmp_path, max_file_bytes=100)
    assert refused.value.code == "too_large" and refused.value.detail == "101 bytes, limit 100"
    assert len(read_file(path, tmp_path, max_file_bytes=101)) == 101


def test_broken_symlink_is_refused_without_naming_a_host_path(tmp_path):
    link = tmp_path / "gone.txt"
    link.symlink_to(tmp_path / "deleted.txt")
    with pytest.raises(Refused) as refused:
        read_file(link, tmp_path, 1000)
    assert refused.value.code == "broken_symlink" and str(tmp_path) not in refused.value.detail


def test_a_link_out_of_the_source_folder_is_refused_unread(tmp_path):
    source, outside = tmp_path / "source", tmp_path / "private.txt"
    (source / "inner").mkdir(parents=True)
    outside.write_text("root:secret-hash:19000")
    (source / "inner" / "article.txt").write_text("Headline\n\nBody.")
    (source / "shadow.txt").symlink_to(outside)
    (source / "inside.txt").symlink_to(source / "inner" / "article.txt")  # a link within the source is fine
    (source / "up.txt").symlink_to(Path("..") / "private.txt")
    for name in ("shadow.txt", "up.txt"):
        fingerprint, outcome = examine(source / name, source, 1000)
        assert isinstance(outcome, Refused) and outcome.code == "outside_source"
        assert "secret" not in fingerprint + outcome.detail
    assert examine(source / "inside.txt", source, 1000)[1]["raw_text"] == "Headline\n\nBody."


def test_a_file_name_that_is_not_utf8_is_quarantined_with_its_name_escaped_and_the_rest_goes_on(tmp_path):
    (tmp_path / "good.txt").write_text("Headline\n\nBody.")
    (tmp_path / os.fsdecode(b"caf\xe9.txt")).write_text("Headline\n\nBody.")
    batch = plan.run(RUN, Settings(source_dir=tmp_path, output_dir=tmp_path / "out"))
    assert [s.source_uri for s in batch.sources] == ["good.txt"]
    assert [(q["source_uri"], q["code"]) for q in batch.quarantine.iter_rows(named=True)] == [("caf\\xe9.txt", "invalid_name")]


def test_an_unreadable_folder_is_quarantined_and_its_documents_are_not_deleted(tmp_path, monkeypatch):
    for name in ("a.txt", "locked/b.txt", "locked/c.txt"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(f"Headline {name}\n\nBody.")
    published = {"a.txt": "id-a", "locked/b.txt": "id-b", "locked/c.txt": "id-c", "gone.txt": "id-gone"}
    monkeypatch.setattr(plan, "previous_state", lambda output_dir: ({}, published))
    scandir = os.scandir

    def denied(path):  # what a folder without read permission does (chmod cannot stop root, who runs CI)
        if Path(path) == tmp_path / "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", denied)
    batch = plan.run(RUN, Settings(source_dir=tmp_path, output_dir=tmp_path / "out"))
    assert [(q["source_uri"], q["code"]) for q in batch.quarantine.iter_rows(named=True)] == [("locked/", "unreadable_folder")]
    assert [u["doc_id"].to_list() for u in batch.document_updates] == [["id-gone"]]  # b and c are unseen, not removed
    assert batch.counts["files_seen"] == 1


def test_a_run_that_would_delete_most_of_the_corpus_stops_unless_allowed(tmp_path, monkeypatch):
    (tmp_path / "kept.txt").write_text("Headline\n\nBody.")
    published = {"kept.txt": "id-0", **{f"gone-{i}.txt": f"id-{i}" for i in range(1, 4)}}
    monkeypatch.setattr(plan, "previous_state", lambda output_dir: ({}, published))
    with pytest.raises(plan.MassDeletion, match="3 of the 4 published documents .*--allow-mass-delete"):
        plan.run(RUN, Settings(source_dir=tmp_path, output_dir=tmp_path / "out"))
    batch = plan.run(RUN, Settings(source_dir=tmp_path, output_dir=tmp_path / "out", allow_mass_delete=True))
    assert batch.counts["files_removed"] == 3
    batch = plan.run(RUN, Settings(source_dir=tmp_path, output_dir=tmp_path / "out", max_deleted_share=0.75))
    assert batch.counts["files_removed"] == 3


def test_fingerprint_is_the_content_hash_or_the_problem(tmp_path):
    article, empty = tmp_path / "a.txt", tmp_path / "empty.txt"
    article.write_text("Headline\n\nBody.")
    empty.write_bytes(b"")
    fingerprint, outcome = examine(article, tmp_path, 1000)
    assert fingerprint == outcome["content_sha256"] and len(fingerprint) == 64
    assert outcome["raw_text"] == "Headline\n\nBody." and outcome["size_bytes"] == 15
    fingerprint, outcome = examine(empty, tmp_path, 1000)
    assert isinstance(outcome, Refused) and outcome.code == "empty_file"
    assert fingerprint == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"  # sha256 of no bytes
    fingerprint, outcome = examine(tmp_path / "missing.txt", tmp_path, 1000)
    assert isinstance(outcome, Refused) and fingerprint.startswith("unreadable: ")


def test_a_file_whose_read_fails_is_refused_as_unreadable_without_a_host_path(tmp_path):
    link = tmp_path / "mem.txt"
    link.symlink_to("/proc/self/mem")  # read() fails with EIO, even for root
    with pytest.raises(Refused) as refused:
        read_file(link, Path("/"), 1000)
    assert refused.value.code == "unreadable" and "/proc" not in refused.value.detail
