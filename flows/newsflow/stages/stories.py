"""stories: give articles that report the same event, in different words, the same story_id.

Rewrites of one wire story share few phrases but the same names and numbers: people,
places, organisations, figures. Each article is described by those terms (capitalised words
that the article never writes in lower case, pairs of adjacent ones, and numbers), weighted
by TF-IDF over every current document and compared by cosine similarity. Stories are
average-linkage clusters cut at a threshold (a setting, calibrated in bench/bench_stories.py),
with near and exact copies always together; a story's id is the doc_id of its earliest
document, so it survives later runs unless an earlier article joins it.

Like duplicates, the stage recomputes the grouping over the whole state (signatures table),
so two runs give the stories of one; earlier documents whose story changes go to
batch.document_updates.
"""

import re

import numpy as np
import polars as pl
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial.distance import squareform

from newsflow.batch import Batch
from newsflow.progress import track
from newsflow.settings import Settings
from newsflow.stages.duplicates import changed_fields, earliest_of_components

# Document frequencies are smoothed as if the corpus also held this many articles without the term, so a
# small corpus does not make every shared name look common (seeds alone vs. among 2,225 BBC articles).
BACKGROUND_DOCUMENTS = 200
# Putin’s is the name Putin; 30,000 and 8.1 are one number each.
_NUMBER = r"\d+(?:[.,]\d+)*"
_CAPITALISED = r"[^\W\d_a-z][^\W_]*(?:[’'-](?!s\b)[^\W_]+)*"
_WORD = re.compile(r"[^\W\d_]+(?:[’'-](?!s\b)[^\W\d_]+)*")
_NAMES_OR_NUMBER = re.compile(rf"{_NUMBER}|{_CAPITALISED}(?: {_CAPITALISED})*")
# A capitalised word after a word, a comma or a parenthesis: not the first word of a sentence.
_INSIDE_SENTENCE = re.compile(rf"(?: (?<=[\w,;] )|\()({_CAPITALISED})")


def run(batch: Batch, settings: Settings) -> Batch:
    documents = batch.documents
    if documents.is_empty():  # nothing new: the published stories stand
        return batch
    if batch.signatures is None:
        raise ValueError("the stories stage needs the signatures the duplicates stage builds: run duplicates first")
    terms = pl.DataFrame(
        {
            "doc_id": documents["doc_id"],
            "story_terms": [story_terms(text) for text in track(documents["text"].to_list(), "stories")],
        },
        schema={"doc_id": pl.String, "story_terms": pl.List(pl.String)},
    )
    state = batch.signatures.update(terms, on="doc_id")  # the duplicates stage has added this run's rows
    story_ids = assign_stories(state, settings.story_similarity)
    updated_state = state.drop("story_id").join(story_ids, on="doc_id", how="left", maintain_order="left")

    in_batch = pl.col("doc_id").is_in(documents["doc_id"].implode())
    moved = changed_fields(state.filter(~in_batch), updated_state.filter(~in_batch), ("story_id",))
    stories = story_rows(updated_state)
    return batch.updated(
        documents=documents.drop("story_id", strict=False).join(story_ids, on="doc_id", how="left", maintain_order="left"),
        signatures=updated_state,
        stories=stories,
        document_updates=moved,
        counts={"stories": stories.height, "earlier_documents_moved_story": moved.height},
    )


def story_terms(text: str) -> list[str]:
    """The names and numbers of a text, lower-cased, as often as they occur, with pairs of adjacent names.

    A name is a capitalised word that the text never writes in lower case and uses at least once
    inside a sentence (so a sentence-opening "However" is not one).
    """
    lower_case = {word for word in set(_WORD.findall(text)) if word.islower()}
    inside = set(_INSIDE_SENTENCE.findall(text))
    terms = []
    for run in _NAMES_OR_NUMBER.findall(text):
        if run[0].isdigit():
            terms.append(run.replace(",", ""))
            continue
        previous = None
        for word in run.split(" "):
            if word in inside and word[0].isupper() and len(word) > 1 and word.lower() not in lower_case:
                name = word.lower()
                terms.extend((name, f"{previous} {name}") if previous else (name,))
                previous = name
            else:
                previous = None
    return terms


def similarity_matrix(terms: list[list[str]]) -> csr_matrix:
    """Cosine similarities between documents' TF-IDF weighted story terms (sparse, diagonal included)."""
    counts = (
        pl.DataFrame({"doc": np.arange(len(terms)), "term": terms}, schema={"doc": pl.Int64, "term": pl.List(pl.String)})
        .explode("term", empty_as_null=False)
        .group_by("doc", "term")
        .len()
    )
    corpus_size = len(terms) + BACKGROUND_DOCUMENTS
    weights = counts.with_columns(
        column=pl.col("term").rank("dense").cast(pl.Int64) - 1,
        weight=(1 + pl.col("len").log()) * ((1 + corpus_size) / (1 + pl.len().over("term"))).log(),
    ).with_columns(weight=pl.col("weight") / (pl.col("weight") ** 2).sum().sqrt().over("doc"))
    vectors = csr_matrix(
        (weights["weight"].to_numpy(), (weights["doc"].to_numpy(), weights["column"].to_numpy())),
        shape=(len(terms), max(weights["column"].max() or 0, 0) + 1),
    )
    return vectors @ vectors.T


def assign_stories(state: pl.DataFrame, threshold: float) -> pl.DataFrame:
    """story_id of every document of `state`: the doc_id of its story's first-seen document."""
    state = state.sort("first_seen_at", "doc_id")
    doc_ids = state["doc_id"].to_list()
    similarity = similarity_matrix(state["story_terms"].fill_null([]).to_list())
    position = {doc_id: index for index, doc_id in enumerate(doc_ids)}
    copies = state.drop_nulls("near_dup_of").select("doc_id", "near_dup_of").iter_rows()
    edges = story_edges(similarity, doc_ids, threshold) + [(position[copy], position[original]) for copy, original in copies]
    earliest = earliest_of_components(len(doc_ids), edges)
    return pl.DataFrame(
        {"doc_id": doc_ids, "story_id": [doc_ids[e] for e in earliest]}, schema={"doc_id": pl.String, "story_id": pl.String}
    )


def story_edges(similarity: csr_matrix, doc_ids: list[str], threshold: float) -> list[tuple[int, int]]:
    """Pairs of documents that end up in the same average-linkage cluster cut at `threshold`.

    Average linkage (a cluster joins another when their documents are, on average, at least
    `threshold` similar) keeps a chain of related articles (one campaign, day after day) from
    becoming one story, as single linkage would. Only documents linked by some pair at or above
    the threshold can meet, so the clustering runs inside those small groups, each in doc_id
    order: the result depends on the documents, not on the order they arrived in.
    """
    _, groups = connected_components(similarity >= threshold, directed=False)
    order = np.argsort(groups, kind="stable")
    edges = []
    for members in np.split(order, np.cumsum(np.bincount(groups))[:-1]):
        if len(members) < 2:
            continue
        members = sorted(members.tolist(), key=doc_ids.__getitem__)
        distances = np.clip(1 - similarity[members][:, members].toarray(), 0, None)
        np.fill_diagonal(distances, 0)
        tree = linkage(squareform(distances, checks=False), method="average")
        clusters = fcluster(tree, 1 - threshold, criterion="distance")
        first = {}
        edges += [(first.setdefault(cluster, member), member) for member, cluster in zip(members, clusters)]
    return edges


def story_rows(state: pl.DataFrame) -> pl.DataFrame:
    """One row per story: its documents first seen first, their count, the first one's headline and time."""
    return (
        state.sort("first_seen_at", "doc_id")
        .group_by("story_id", maintain_order=True)
        .agg(
            doc_ids=pl.col("doc_id"),
            n_docs=pl.len().cast(pl.Int64),
            title=pl.col("title").first(),
            first_seen_at=pl.col("first_seen_at").first(),
        )
        .sort("first_seen_at", "story_id")
    )
