"""stories: articles reporting the same event in different words share a story_id (the groups stage clusters them)."""

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from conftest import CORPORA, SEEDS, read_table, run_stages, seed_texts, updates_by_doc, write_articles

from newsflow.analysis import stories
from newsflow.analysis.stories import linked_groups, story_terms, term_vectors, term_weight, weighted_terms
from newsflow.sources.files import doc_id_for

FIRST_RUN = datetime(2026, 3, 20, 8, 0, tzinfo=UTC)
SECOND_RUN = FIRST_RUN + timedelta(hours=1)
SEED_IDS = sorted(doc_id_for(path.name) for path in SEEDS.glob("*.txt"))
BBC = CORPORA / "bbc-news"


def bbc_articles(paths: list) -> dict[str, bytes]:
    return {f"bbc/{path.parent.name}/{path.name}": path.read_bytes() for path in paths}


def test_story_terms_are_names_pairs_of_names_and_numbers():
    text = "However, Xi Jinping met Putin’s ally in Moscow. The talks were cordial.\n\nPutin said 30,000 troops and 8.1% growth."
    assert story_terms(text) == [
        "xi", "jinping", "xi jinping", "putin", "moscow", "putin", "30000", "8.1",
    ]  # fmt: skip


def test_story_terms_of_a_seed_keep_its_people_places_and_figures():
    terms = set(story_terms(seed_texts()["000_d90335feb4c6e67b.txt"]))
    assert {"xi jinping", "vladimir putin", "bakhmut", "international criminal", "criminal court", "icc", "155", "30000"} <= terms
    assert not {"the", "however", "on", "president"} & terms  # president is also written in lower case there


def test_the_five_seeds_are_one_story_named_after_the_earliest(tmp_path):
    batch = run_stages(SEEDS, tmp_path, FIRST_RUN)
    assert batch.documents["story_id"].unique().to_list() == [SEED_IDS[0]]
    story = read_table(tmp_path, "stories").row(0, named=True)
    assert read_table(tmp_path, "stories").height == 1
    assert (story["story_id"], sorted(story["doc_ids"]), story["n_docs"]) == (SEED_IDS[0], SEED_IDS, 5)
    assert story["title"] == batch.documents.filter(pl.col("doc_id") == SEED_IDS[0])["title"].item()
    assert story["first_seen_at"] == FIRST_RUN


@pytest.mark.skipif(not BBC.is_dir(), reason=f"the BBC corpus is not at {BBC} (set NEWSFLOW_CORPORA)")
def test_the_seeds_among_200_bbc_articles_are_a_story_of_exactly_the_five_seeds(tmp_path):
    source = write_articles(tmp_path / "source", {**seed_texts(), **bbc_articles(sorted(BBC.glob("*/*.txt"))[::11][:200])})
    batch = run_stages(source, tmp_path / "out", FIRST_RUN)

    seeds_story = batch.documents.filter(pl.col("doc_id") == SEED_IDS[0])["story_id"].item()
    assert sorted(batch.documents.filter(pl.col("story_id") == seeds_story)["doc_id"]) == SEED_IDS
    assert batch.documents.height == 205 and batch.stories["n_docs"].sum() == 205


@pytest.mark.skipif(not BBC.is_dir(), reason=f"the BBC corpus is not at {BBC} (set NEWSFLOW_CORPORA)")
def test_two_runs_over_seeds_and_bbc_articles_give_the_pairs_and_stories_of_one(tmp_path):
    copies = ["politics/021", "politics/356", "tech/211", "tech/226", "politics/223", "politics/341", "sport/050", "sport/051"]
    files = sorted(BBC.glob("*/*.txt"))[::20] + [BBC / f"{name}.txt" for name in copies]
    articles = {**seed_texts(), **bbc_articles(files)}
    names = sorted(articles)
    run_stages(write_articles(tmp_path / "all", articles), tmp_path / "one", FIRST_RUN)
    run_stages(write_articles(tmp_path / "grow", {n: articles[n] for n in names[0::2]}), tmp_path / "two", FIRST_RUN)
    run_stages(write_articles(tmp_path / "grow", {n: articles[n] for n in names[1::2]}), tmp_path / "two", SECOND_RUN)

    def pairs(output):
        return {frozenset(pair) for pair in read_table(output, "duplicates").select("doc_id", "other_doc_id").rows()}

    def groups(output):
        return {frozenset(doc_ids) for doc_ids in read_table(output, "stories")["doc_ids"]}

    assert len(pairs(tmp_path / "one")) >= 3 and pairs(tmp_path / "two") == pairs(tmp_path / "one")
    assert max(map(len, groups(tmp_path / "one"))) >= 5 and groups(tmp_path / "two") == groups(tmp_path / "one")


def test_story_ids_survive_a_later_run_that_adds_to_the_story(tmp_path):
    seeds = seed_texts()
    names = sorted(seeds)
    first = run_stages(write_articles(tmp_path / "source", {n: seeds[n] for n in names[:3]}), tmp_path, FIRST_RUN)
    second = run_stages(write_articles(tmp_path / "source", {n: seeds[n] for n in names[3:]}), tmp_path, SECOND_RUN)

    story_id = first.documents["story_id"].unique().item()
    assert second.documents["story_id"].unique().to_list() == [story_id]
    assert updates_by_doc(second).keys() == set(second.documents["doc_id"])  # nothing published earlier changes
    story = read_table(tmp_path, "stories").row(0, named=True)
    assert (story["story_id"], sorted(story["doc_ids"]), story["first_seen_at"]) == (story_id, SEED_IDS, FIRST_RUN)


def test_a_story_that_two_runs_split_is_the_story_of_one_run(tmp_path):
    seeds = seed_texts()
    names = sorted(seeds)
    run_stages(write_articles(tmp_path / "source", {n: seeds[n] for n in names[1::2]}), tmp_path, FIRST_RUN)
    second = run_stages(write_articles(tmp_path / "source", {n: seeds[n] for n in names[0::2]}), tmp_path, SECOND_RUN)

    story_id = min(doc_id_for(n) for n in names[1::2])
    assert second.documents["story_id"].unique().to_list() == [story_id]
    assert [sorted(doc_ids) for doc_ids in read_table(tmp_path, "stories")["doc_ids"]] == [SEED_IDS]


def test_a_documents_term_weights_do_not_depend_on_the_other_documents():
    terms = [story_terms(text) for text in seed_texts().values()]

    def weights(documents):
        vectors, vocabulary = weighted_terms(pl.Series(documents))
        row = vectors[0]
        return {vocabulary[column]: value for column, value in zip(row.indices, row.data)}

    alone, among_others = weights(terms[:1]), weights(terms)
    assert alone.keys() == among_others.keys() and all(alone[t] == pytest.approx(among_others[t]) for t in alone)
    # a word as common as "the" weighs nothing; a name wordfreq never saw weighs most
    assert term_weight("the") == 0 and term_weight("mr") < term_weight("putin") < term_weight("bakhmut")


def test_documents_weighted_apart_in_the_columns_of_others_have_the_cosines_of_documents_weighted_together():
    terms = [story_terms(text) for text in seed_texts().values()]
    together = term_vectors(pl.Series(terms))
    run, vocabulary = weighted_terms(pl.Series(terms[:2]))
    others = stories.vectors_in(pl.Series(terms[2:]), vocabulary)
    assert others.shape == (3, len(vocabulary)) and others.nnz < together[2:].nnz  # terms of their own take no column
    assert np.allclose((run @ others.T).toarray(), (together[:2] @ together[2:].T).toarray())
    assert (together[:2] @ together[2:].T).toarray().min() > 0.1


def test_similar_pairs_are_every_pair_at_the_threshold_though_the_common_terms_are_not_searched():
    terms = [story_terms(text) for text in seed_texts().values()] * 2  # each seed twice: cosine 1
    vectors = term_vectors(pl.Series(terms))
    full = (vectors @ vectors.T).toarray()
    for threshold in (0.3, 0.45, 0.6):
        expected = {(i, j) for i, j in zip(*np.triu_indices(len(terms), 1)) if full[i, j] >= threshold}
        firsts, seconds, similarity = stories.similar_pairs(vectors, threshold)
        assert set(zip(firsts.tolist(), seconds.tolist())) == expected and np.allclose(similarity, full[firsts, seconds])
        assert stories.indexed_part(vectors, threshold).nnz < vectors.nnz  # the commonest terms of each row are left out


def test_a_group_too_large_to_cluster_at_once_is_split_at_a_stricter_similarity(monkeypatch):
    monkeypatch.setattr(stories, "MAX_GROUP", 3)
    # Five documents in a chain, 0-1 and 2-3-4 close, 1-2 barely similar; a sixth alone.
    pairs = (np.array([0, 1, 2, 3]), np.array([1, 2, 3, 4]), np.array([0.9, 0.42, 0.8, 0.58]))
    assert [group.tolist() for group in linked_groups(6, pairs, 0.4)] == [[0, 1], [2, 3, 4]]
    monkeypatch.setattr(stories, "MAX_GROUP", 2)  # 2-3-4 is split again, step by step, until 3-4 (0.58) falls away
    assert [group.tolist() for group in linked_groups(6, pairs, 0.4)] == [[0, 1], [2, 3]]


def test_pipeline_publishes_the_seeds_as_one_story_without_duplicates(seeds_run):
    output, record = seeds_run
    documents = read_table(output, "documents")
    assert documents["story_id"].unique().to_list() == [SEED_IDS[0]]
    assert documents.select("exact_dup_of", "near_dup_of").null_count().row(0) == (5, 5)
    assert read_table(output, "stories")["n_docs"].to_list() == [5]
    assert read_table(output, "duplicates").height == 0
    assert sorted(read_table(output, "signatures")["doc_id"]) == SEED_IDS
    assert record.counts["stories"] == 1 and record.counts["duplicate_pairs"] == 0


def test_a_run_with_nothing_new_keeps_the_stories_and_changes_nothing(tmp_path):
    run_stages(SEEDS, tmp_path, FIRST_RUN)
    batch = run_stages(SEEDS, tmp_path, SECOND_RUN)
    assert batch.documents.height == 0 and updates_by_doc(batch) == {} and batch.duplicates is None
    assert [sorted(doc_ids) for doc_ids in read_table(tmp_path, "stories")["doc_ids"]] == [SEED_IDS]
    assert read_table(tmp_path, "signatures").height == 5
