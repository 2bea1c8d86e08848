"""signatures: each batch's signature rows; exact and near copies (found by the groups stage), within a run and
against everything published before."""

import hashlib
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from conftest import SEEDS, cleaned_articles, read_table, run_stages, seed_texts, updates_by_doc, write_articles

from newsflow.analysis.shingles import normalised_words
from newsflow.analysis.stories import story_terms
from newsflow.settings import Settings
from newsflow.sources.files import doc_id_for
from newsflow.stages import signatures

FIRST_RUN = datetime(2026, 3, 20, 8, 0, tzinfo=UTC)
SECOND_RUN = FIRST_RUN + timedelta(hours=1)
SEED_002 = "002_d27acffbcd5def62.txt"


def word_5grams(text: str) -> set[tuple[str, ...]]:
    """The word 5-grams of a text as plain tuples (no hashing), to check the stage's figures."""
    words = normalised_words(text)
    return {tuple(words[i : i + 5]) for i in range(len(words) - 4)}


def word_5gram_jaccard(a: str, b: str) -> float:
    shingles = [word_5grams(a), word_5grams(b)]
    return len(shingles[0] & shingles[1]) / len(shingles[0] | shingles[1])


def republished(text: str, headline: str, footer: str) -> str:
    """The article under another headline, with a footer line added: what aggregators do."""
    return "\n".join([headline, *text.splitlines()[1:], footer])


def test_normalised_words_ignore_case_punctuation_spacing_and_unicode_forms():
    assert normalised_words("Xi’s  VISIT —to\u00a0Ｍｏｓｃｏｗ!\n") == ["xi", "s", "visit", "to", "moscow"]
    assert normalised_words("xi's visit, to Moscow.") == normalised_words("Xi’s  VISIT —to\u00a0Ｍｏｓｃｏｗ!")


def test_a_batch_gets_the_signature_rows_of_its_documents_and_nothing_else(tmp_path):
    cleaned = cleaned_articles(SEEDS, tmp_path, FIRST_RUN)
    batch = signatures.run(cleaned, Settings(output_dir=tmp_path / "never-written"))

    rows = batch.signatures
    assert rows["doc_id"].to_list() == cleaned.documents["doc_id"].to_list()
    row = rows.filter(pl.col("doc_id") == doc_id_for(SEED_002)).row(0, named=True)
    text = cleaned.documents.filter(pl.col("doc_id") == doc_id_for(SEED_002))["text"].item()
    assert row["text_sha256"] == hashlib.sha256(" ".join(normalised_words(text)).encode()).hexdigest()
    assert len(row["shingles"]) == len(word_5grams(text)) and row["shingles"] == sorted(row["shingles"], key=lambda h: h % 2**64)
    assert row["story_terms"] == story_terms(text)
    assert row["ingested_at"] == row["first_seen_at"] == FIRST_RUN and row["title"] == text.split("\n\n")[0]
    assert (batch.duplicates, batch.stories, batch.document_updates) == (None, None, ())
    assert not (tmp_path / "never-written").exists()


def test_the_five_seeds_are_neither_exact_nor_near_duplicates(tmp_path):
    batch = run_stages(SEEDS, tmp_path, FIRST_RUN)
    assert batch.documents.select("exact_dup_of", "near_dup_of", "near_dup_similarity").null_count().row(0) == (5, 5, 5)
    assert batch.duplicates.height == 0 and read_table(tmp_path, "duplicates").height == 0


def test_a_republished_seed_is_a_near_duplicate_of_the_original(tmp_path):
    original = seed_texts()[SEED_002]
    copy = republished(original, "Putin and Xi meet in Moscow as talks begin", "Copyright 2023 Example Wire. All rights reserved.")
    first = run_stages(write_articles(tmp_path / "source", seed_texts()), tmp_path, FIRST_RUN)
    batch = run_stages(write_articles(tmp_path / "source", {"wire/xi-putin.txt": copy}), tmp_path, SECOND_RUN)

    row = batch.documents.row(0, named=True)
    cleaned_original = first.documents.filter(pl.col("doc_id") == doc_id_for(SEED_002))["text"].item()
    expected = word_5gram_jaccard(cleaned_original, row["text"])
    assert 0.8 <= expected < 1
    assert row["near_dup_of"] == doc_id_for(SEED_002) and row["exact_dup_of"] is None
    assert row["near_dup_similarity"] == pytest.approx(expected)
    assert batch.duplicates.select("doc_id", "other_doc_id", "kind").rows() == [
        (doc_id_for("wire/xi-putin.txt"), doc_id_for(SEED_002), "near")
    ]
    assert batch.duplicates["similarity"].item() == pytest.approx(expected)
    assert row["story_id"] == read_table(tmp_path, "signatures").filter(pl.col("doc_id") == doc_id_for(SEED_002))["story_id"].item()


def test_an_exact_copy_points_to_the_earliest_seen_document(tmp_path):
    original = seed_texts()["001_98ffcff286fe7b4b.txt"]
    shouted = "\n\n\n".join("  ".join(line.upper().split()) for line in original.splitlines())
    # The copy is published first, so it is the earliest and the original is the copy of it.
    run_stages(write_articles(tmp_path / "source", {"copy.txt": shouted}), tmp_path, FIRST_RUN)
    batch = run_stages(write_articles(tmp_path / "source", {"001.txt": original}), tmp_path, SECOND_RUN)

    row = batch.documents.row(0, named=True)
    assert (row["exact_dup_of"], row["near_dup_of"], row["near_dup_similarity"]) == (doc_id_for("copy.txt"),) * 2 + (1.0,)
    assert batch.duplicates.select("doc_id", "other_doc_id", "kind", "similarity").rows() == [
        (doc_id_for("001.txt"), doc_id_for("copy.txt"), "exact", 1.0)
    ]


def test_copies_seen_in_the_same_run_point_to_the_lowest_doc_id(tmp_path):
    text = seed_texts()["003_6a85fd70a6b4de33.txt"]
    names = ["a.txt", "b.txt", "c.txt"]
    batch = run_stages(write_articles(tmp_path / "src", dict.fromkeys(names, text)), tmp_path, FIRST_RUN)
    earliest, *later = sorted(map(doc_id_for, names))
    fields = dict(batch.documents.select("doc_id", "exact_dup_of").iter_rows())
    assert fields == {earliest: None, **dict.fromkeys(later, earliest)}
    assert {frozenset(pair) for pair in batch.duplicates.select("doc_id", "other_doc_id").rows()} == {
        frozenset(pair) for pair in [(earliest, later[0]), (earliest, later[1]), (later[0], later[1])]
    }


def test_a_later_article_that_bridges_two_earlier_ones_regroups_them(tmp_path):
    paragraphs = seed_texts()["004_f0061f79107f2e27.txt"].split("\n\n")
    head, tail, whole = "\n\n".join(paragraphs[:-6]), "\n\n".join(paragraphs[:1] + paragraphs[6:]), "\n\n".join(paragraphs)
    assert word_5gram_jaccard(head, tail) < 0.8 <= min(word_5gram_jaccard(head, whole), word_5gram_jaccard(tail, whole))
    first = run_stages(write_articles(tmp_path / "source", {"head.txt": head, "tail.txt": tail}), tmp_path, FIRST_RUN)
    batch = run_stages(write_articles(tmp_path / "source", {"whole.txt": whole}), tmp_path, SECOND_RUN)

    earliest, later = sorted([doc_id_for("head.txt"), doc_id_for("tail.txt")])
    texts = dict(first.documents.select("doc_id", "text").iter_rows())
    assert batch.documents["near_dup_of"].item() == earliest
    updates = updates_by_doc(batch)
    assert updates.keys() == {doc_id_for("whole.txt"), later}  # the run's document, and the earlier one regrouped
    update = updates[later]
    assert (update["near_dup_of"], update["exact_dup_of"], update["story_id"]) == (earliest, None, earliest)
    assert update["near_dup_similarity"] == pytest.approx(word_5gram_jaccard(texts[later], texts[earliest]))
    published = dict(read_table(tmp_path, "documents").select("doc_id", "story_id").iter_rows())
    assert published[later] == published[earliest] == earliest
    assert {frozenset(pair) for pair in batch.duplicates.select("doc_id", "other_doc_id").rows()} == {
        frozenset((doc_id_for("whole.txt"), earliest)),
        frozenset((doc_id_for("whole.txt"), later)),
    }


def test_a_changed_file_replaces_its_earlier_version(tmp_path):
    seeds = seed_texts()
    run_stages(write_articles(tmp_path / "source", {**seeds, "copy.txt": seeds[SEED_002]}), tmp_path, FIRST_RUN)
    changed = republished(seeds["003_6a85fd70a6b4de33.txt"], "Xi arrives in Moscow", "Reporting by staff.")
    batch = run_stages(write_articles(tmp_path / "source", {"copy.txt": changed}), tmp_path, SECOND_RUN)

    copy = batch.documents.row(0, named=True)
    assert copy["near_dup_of"] == doc_id_for("003_6a85fd70a6b4de33.txt") and copy["exact_dup_of"] is None
    # copy.txt had the lowest doc_id, so it was the original of 002; its new content arrives later, so 002 stands
    # alone again. copy.txt was still first seen in the first run, so the story keeps its name: no story_id moves.
    updates = updates_by_doc(batch)
    assert updates.keys() == {doc_id_for("copy.txt"), doc_id_for(SEED_002)}
    cleared = {"exact_dup_of": None, "near_dup_of": None, "near_dup_similarity": None, "story_id": doc_id_for("copy.txt")}
    assert updates[doc_id_for(SEED_002)] == {"doc_id": doc_id_for(SEED_002), **cleared}
    assert copy["story_id"] == doc_id_for("copy.txt")
    documents = read_table(tmp_path, "documents")
    assert set(documents["story_id"]) == {doc_id_for("copy.txt")}
    published = documents.filter(pl.col("doc_id") == doc_id_for(SEED_002)).row(0, named=True)
    assert {field: published[field] for field in cleared} == cleared  # the nulls are published
    state = read_table(tmp_path, "signatures")
    assert state.height == 6 and state["doc_id"].n_unique() == 6


def test_two_runs_find_the_pairs_and_stories_of_one(tmp_path):
    seeds = seed_texts()
    articles = {
        **seeds,
        "wire/copy-of-002.txt": republished(seeds[SEED_002], "Xi and Putin hold talks", "Distributed by Example Wire."),
        "mirror/004.txt": seeds["004_f0061f79107f2e27.txt"].upper(),
        "mirror/copy-of-copy.txt": republished(seeds[SEED_002], "Xi in Moscow", "Distributed by Example Wire."),
    }
    names = sorted(articles)
    one = tmp_path / "one"
    run_stages(write_articles(tmp_path / "all", articles), one, FIRST_RUN)
    two = tmp_path / "two"
    run_stages(write_articles(tmp_path / "grow", {name: articles[name] for name in names[1::2]}), two, FIRST_RUN)
    run_stages(write_articles(tmp_path / "grow", {name: articles[name] for name in names[0::2]}), two, SECOND_RUN)

    def pairs(output):
        return {frozenset(pair) for pair in read_table(output, "duplicates").select("doc_id", "other_doc_id").rows()}

    def stories(output):
        return {frozenset(doc_ids) for doc_ids in read_table(output, "stories")["doc_ids"]}

    assert len(pairs(one)) == 4  # 004 and its mirror; 002 and its two republications, three pairs
    assert pairs(two) == pairs(one)
    assert read_table(two, "duplicates").height == len(pairs(one))  # no pair is reported twice
    assert stories(two) == stories(one) == {frozenset(map(doc_id_for, names))}
