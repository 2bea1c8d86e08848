"""bench/synthetic_corpus.py: the planted copies are what the manifest says they are."""

import re
import sys
from pathlib import Path

import pytest

from conftest import PROJECT_ROOT, seed_texts, write_articles

from newsflow.analysis.shingles import normalised_words
from newsflow.sources.files import doc_id_for

sys.path.insert(0, str(PROJECT_ROOT / "bench"))
import synthetic_corpus  # noqa: E402

ARTICLES = 40


def word_5gram_jaccard(a: str, b: str) -> float:
    """Jaccard of word 5-gram sets, on plain tuples: an independent check of the generator's figures."""
    shingles = [{tuple(words[i : i + 5]) for i in range(len(words) - 4)} for words in map(normalised_words, (a, b))]
    return len(shingles[0] & shingles[1]) / len(shingles[0] | shingles[1])


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """The five seeds, one of them twice (a natural copy), written as a small source corpus."""
    texts = seed_texts()
    first = next(iter(texts))
    return write_articles(tmp_path_factory.mktemp("source"), {**texts, f"copy_of_{first}": texts[first]})


@pytest.fixture(scope="module")
def built(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("synthetic")
    summary = synthetic_corpus.build(corpus, out, ARTICLES, seed=7, exact_share=0.2, near_share=0.2)
    return out, summary, synthetic_corpus.read_manifest(out / "manifest.csv")


def read(out: Path, path: str) -> bytes:
    return (out / "articles" / path).read_bytes()


def test_the_corpus_has_the_requested_number_of_articles_and_copies(built):
    out, summary, manifest = built
    assert len([p for p in (out / "articles").rglob("*.txt")]) == ARTICLES
    assert summary.counts == {"originals": 6, "variant": 18, "exact_bytes": 4, "exact_format": 4, "near": 8, "natural": 1}
    assert sum(row["kind"] != "natural" for row in manifest) == ARTICLES - 6


def test_byte_copies_are_identical_and_format_copies_have_the_same_words(built):
    out, _, manifest = built
    for row in manifest:
        copy, source = read(out, row["path"]), read(out, row["source_path"])
        if row["kind"] == "exact_bytes":
            assert copy == source
        elif row["kind"] == "exact_format":
            assert copy != source
            assert normalised_words(copy.decode()) == normalised_words(source.decode())
            assert row["jaccard"] == 1.0 and row["edits"]


def test_near_copies_are_at_or_above_the_threshold_and_distinct_variants_well_below(built):
    out, _, manifest = built
    for row in manifest:
        if row["kind"] in ("near", "variant"):
            similarity = word_5gram_jaccard(read(out, row["path"]).decode(), read(out, row["source_path"]).decode())
            assert row["jaccard"] == pytest.approx(similarity)
            if row["kind"] == "near":
                assert 0.8 <= similarity < 1 and row["edits"]
            else:
                assert similarity <= 0.5


def test_variants_keep_no_name_of_the_corpus(corpus, built):
    """A variant is another event: every name the corpus never writes in lower case is replaced, so variants of one
    article, and the paragraphs drawn from others, do not link them all into one story group."""
    out, _, manifest = built
    words = [re.findall(r"[^\W\d_]+", path.read_text()) for path in corpus.iterdir()]
    lower_case = {word for text in words for word in text if word.islower()}
    names = {word for text in words for word in text if word[0].isupper() and word.lower() not in lower_case}
    assert {"Putin", "Blinken"} <= names
    for row in manifest:
        if row["kind"] == "variant":
            variant = set(re.findall(r"[^\W\d_]+", read(out, row["path"]).decode()))
            assert not variant & names
            assert any(word[0].isupper() and word.lower() not in lower_case for word in variant)  # names of its own


def test_natural_copies_of_the_source_corpus_are_listed(built):
    _, _, manifest = built
    first = next(iter(seed_texts()))
    natural = [(row["source_path"], row["path"], row["jaccard"]) for row in manifest if row["kind"] == "natural"]
    assert natural == [(f"originals/{first}", f"originals/copy_of_{first}", 1.0)]


def test_manifest_doc_ids_are_the_pipeline_doc_ids_of_the_files(built):
    _, _, manifest = built
    assert all(row["doc_id"] == doc_id_for(row["path"]) and row["source_doc_id"] == doc_id_for(row["source_path"]) for row in manifest)


def test_the_same_seed_builds_the_same_corpus(corpus, built, tmp_path):
    out, _, manifest = built
    synthetic_corpus.build(corpus, tmp_path, ARTICLES, seed=7, exact_share=0.2, near_share=0.2)
    assert synthetic_corpus.read_manifest(tmp_path / "manifest.csv") == manifest
    assert all(read(tmp_path, row["path"]) == read(out, row["path"]) for row in manifest)


def test_the_corpus_is_never_written_into_the_repository(corpus):
    with pytest.raises(ValueError, match="inside the repository"):
        synthetic_corpus.build(corpus, PROJECT_ROOT / "synthetic", ARTICLES)
    assert not (PROJECT_ROOT / "synthetic").exists()
