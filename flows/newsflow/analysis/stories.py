"""stories: what tells that articles report the same event in different words, and how they are grouped.

Rewrites of one wire story share few phrases but the same names and numbers: people,
places, organisations, figures. Each article is described by those terms (capitalised words
that the article never writes in lower case, pairs of adjacent ones, and numbers), each weighted
by how rare it is in the language (wordfreq's English frequencies; a weight that depends on the
term alone, so an article's description, and its similarity to another, never changes as the
corpus grows), and compared by cosine similarity. Stories are average-linkage clusters cut at a
threshold (a setting, calibrated in bench/bench_stories.py).

The signatures stage takes each article's terms (story_terms) as it reads it; the groups stage
clusters the documents with the functions here. Similar pairs come from a sparse product computed
a block of rows at a time and thresholded at once, so no N x N matrix is ever held; clustering then
runs inside each connected group of similar articles, so the stories of a group depend on its
documents alone (the groups stage recomputes only the groups a run's documents join).
"""

import re
from functools import cache

import numpy as np
import polars as pl
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial.distance import squareform
from wordfreq import word_frequency

# A term's weight is ln(COMMON / its frequency in English): a term as frequent as one word in a hundred ("the" is
# 0.054, "mr" 0.00049) weighs nothing; a name wordfreq has never seen weighs as one of frequency RARE (1e-8, the end
# of its lists). On bbc-news with the seeds (bench/bench_stories.py): COMMON 0.01 keeps the seeds one story up to a
# threshold of 0.48 (0.001: 0.41; 0.0001: 0.26) while no seed-BBC pair passes 0.21.
COMMON = 0.01
RARE = 1e-8
# Products of the similarity product computed at once (a block of rows): bounds its memory to about 50 MB.
BLOCK_PRODUCTS = 4_000_000
# Documents clustered at once: their dense similarities take MAX_GROUP**2 * 8 bytes (32 MB). The largest group
# of bbc-news holds 82 documents; larger groups are split at a stricter similarity, SPLIT_STEP at a time.
MAX_GROUP = 2000
SPLIT_STEP = 0.05
# Putin’s is the name Putin; 30,000 and 8.1 are one number each.
_NUMBER = r"\d+(?:[.,]\d+)*"
_CAPITALISED = r"[^\W\d_a-z][^\W_]*(?:[’'-](?!s\b)[^\W_]+)*"
_WORD = re.compile(r"[^\W\d_]+(?:[’'-](?!s\b)[^\W\d_]+)*")
_NAMES_OR_NUMBER = re.compile(rf"{_NUMBER}|{_CAPITALISED}(?: {_CAPITALISED})*")
# A capitalised word after a word, a comma or a parenthesis: not the first word of a sentence.
_INSIDE_SENTENCE = re.compile(rf"(?: (?<=[\w,;] )|\()({_CAPITALISED})")


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


@cache
def term_weight(term: str) -> float:
    """How rare a story term is in English (see COMMON): 0 for the commonest words."""
    return max(0.0, float(np.log(COMMON / max(word_frequency(term, "en"), RARE))))


def weighted_terms(terms: pl.Series) -> tuple[csr_matrix, list[str]]:
    """Each document's story terms weighted (1 + ln tf) x term_weight, as a row of unit length, and the term of each
    column. Columns run from the commonest term to the rarest (ties by term), so each row's entries do too."""
    lengths = terms.list.len().fill_null(0).to_numpy()
    counted = (
        pl.DataFrame({"doc": np.repeat(np.arange(len(terms), dtype=np.int64), lengths), "term": terms.explode(empty_as_null=False).drop_nulls()})
        .group_by("doc", "term")
        .agg(tf=pl.len())
    )
    vocabulary = pl.DataFrame({"term": counted["term"].unique()}).with_columns(
        weight=pl.col("term").map_elements(term_weight, return_dtype=pl.Float64)
    )
    vocabulary = vocabulary.filter(pl.col("weight") > 0).sort("weight", "term").with_row_index("column")
    entries = counted.join(vocabulary, on="term")
    weights = (1 + np.log(entries["tf"].to_numpy())) * entries["weight"].to_numpy()
    docs = entries["doc"].to_numpy()
    norms = np.sqrt(np.bincount(docs, weights=weights**2, minlength=len(terms)))
    vectors = csr_matrix((weights / norms[docs], (docs, entries["column"].to_numpy())), shape=(len(terms), vocabulary.height))
    vectors.sort_indices()
    return vectors, vocabulary["term"].to_list()


def term_vectors(terms: pl.Series) -> csr_matrix:
    """Each document's weighted story terms as a row of unit length (see weighted_terms)."""
    return weighted_terms(terms)[0]


def indexed_part(vectors: csr_matrix, threshold: float) -> csr_matrix:
    """The entries of each row but its commonest ones whose squared weights sum below threshold**2.

    Two unit rows at cosine `threshold` or more share a term of either one's indexed part: what the rest of a
    row can add is below its length, below `threshold` (prefix filtering, Bayardo et al. 2007). The common
    terms, in many documents, are then left out of the search for pairs, and no similar pair is missed.
    """
    squares = np.cumsum(vectors.data**2)
    before_row = np.repeat(np.concatenate(([0.0], squares))[vectors.indptr[:-1]], np.diff(vectors.indptr))
    # a little less is left out than the bound allows, for the rounding of the sums
    indexed = csr_matrix((np.where(squares - before_row < threshold**2 - 1e-9, 0, vectors.data), vectors.indices.copy(), vectors.indptr.copy()), shape=vectors.shape)
    indexed.eliminate_zeros()
    return indexed


def indexed_terms(vectors: csr_matrix, vocabulary: list[str], threshold: float) -> list[str]:
    """The terms of the documents' indexed parts (indexed_part; `vectors` and `vocabulary` from weighted_terms): any
    document at cosine `threshold` or more from one of them holds one of these terms."""
    return [vocabulary[column] for column in np.unique(indexed_part(vectors, threshold).indices)]


def vectors_in(terms: pl.Series, vocabulary: list[str]) -> csr_matrix:
    """Documents' weighted story terms as unit rows (weighted_terms) in the columns of `vocabulary`, the terms of
    other documents: a term outside it counts in a row's length but takes no column, so the product of these rows
    with the other documents' is their cosine (a term's weight depends on the term alone)."""
    vectors, own = weighted_terms(terms)
    columns = pl.DataFrame({"term": own}).join(
        pl.DataFrame({"term": vocabulary, "column": np.arange(len(vocabulary))}, schema={"term": pl.String, "column": pl.Int64}),
        on="term", how="left", maintain_order="left",
    )["column"].fill_null(-1).to_numpy()
    entries = vectors.tocoo()
    mapped = columns[entries.col]
    kept = mapped >= 0
    return csr_matrix((entries.data[kept], (entries.row[kept], mapped[kept])), shape=(vectors.shape[0], len(vocabulary)))


def cosines(vectors: csr_matrix, others: csr_matrix, firsts: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    """The cosine of each pair (vectors[firsts[k]], others[seconds[k]]), computed a block of pairs at a time."""
    step = max(1, BLOCK_PRODUCTS // max(1, int(vectors.getnnz(axis=1).max(initial=1))))
    return np.concatenate(
        [np.empty(0)]
        + [np.asarray(vectors[firsts[i : i + step]].multiply(others[seconds[i : i + step]]).sum(axis=1)).ravel() for i in range(0, len(firsts), step)]
    )


def similar_pairs(vectors: csr_matrix, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index pairs (i < j) of documents whose cosine similarity is at or above `threshold`, and that similarity.

    Candidates share a term of one's indexed part (indexed_part); the product is computed a block of rows at a
    time, each block holding at most BLOCK_PRODUCTS products, and each candidate's cosine is then computed.
    """
    found = [np.empty((3, 0))]
    indexed = indexed_part(vectors, threshold)
    transposed = vectors.T.tocsr()
    products = np.cumsum(indexed.astype(bool) @ np.diff(transposed.indptr))  # of the rows up to each one
    start = 0
    while start < vectors.shape[0]:
        done = products[start - 1] if start else 0
        end = max(start + 1, np.searchsorted(products, done + BLOCK_PRODUCTS, "right"))
        block = (indexed[start:end] @ transposed).tocoo()
        rows, columns = block.row.astype(np.int64) + start, block.col.astype(np.int64)
        rows, columns = np.minimum(rows, columns)[rows != columns], np.maximum(rows, columns)[rows != columns]
        similarity = cosines(vectors, vectors, rows, columns)
        kept = similarity >= threshold
        found.append(np.stack([rows[kept], columns[kept], similarity[kept]]))
        start = end
    # a pair found from both of its rows is kept once
    found = np.unique(np.concatenate(found, axis=1), axis=1)
    return found[0].astype(np.int32), found[1].astype(np.int32), found[2]


def linked_groups(count: int, pairs: tuple[np.ndarray, np.ndarray, np.ndarray], level: float) -> list[np.ndarray]:
    """The groups of two or more documents (of `count`) that pairs at or above `level` link together.

    A group too large to cluster at once is split by its pairs at a stricter level, step by step:
    the large groups are chains of related events (a campaign, a market), not one story.
    """
    firsts, seconds, similarities = pairs
    graph = coo_matrix((np.ones(len(firsts), np.int8), (firsts, seconds)), shape=(count, count))
    _, labels = connected_components(graph, directed=False)
    sizes = np.bincount(labels)
    grouped = np.flatnonzero((sizes[labels] >= 2) & (sizes[labels] <= MAX_GROUP))
    grouped = grouped[np.argsort(labels[grouped], kind="stable")]
    groups = np.split(grouped, np.flatnonzero(np.diff(labels[grouped])) + 1) if len(grouped) else []
    for label in np.flatnonzero(sizes > MAX_GROUP):
        inside = (labels[firsts] == label) & (similarities >= level + SPLIT_STEP)
        groups += linked_groups(count, (firsts[inside], seconds[inside], similarities[inside]), level + SPLIT_STEP)
    return groups


def story_edges(vectors: csr_matrix, doc_ids: list[str], threshold: float) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Pairs (first of its story, document) of documents in the same average-linkage cluster cut at `threshold`,
    and every similar pair (at or above `threshold`), which links the documents whose clusters depend on each other.

    Average linkage (a cluster joins another when their documents are, on average, at least
    `threshold` similar) keeps a chain of related articles (one campaign, day after day) from
    becoming one story, as single linkage would. Only documents linked by some pair at or above
    the threshold can meet, so the clustering runs inside those groups, each in doc_id order:
    the result depends on the documents, not on the order they arrived in.
    """
    heads, members_of = [np.empty(0, np.int64)], [np.empty(0, np.int64)]
    pairs = similar_pairs(vectors, threshold)
    for members in linked_groups(len(doc_ids), pairs, threshold):
        members = np.array(sorted(members.tolist(), key=doc_ids.__getitem__))
        group = vectors[members]
        distances = np.clip(1 - (group @ group.T).toarray(), 0, None)
        np.fill_diagonal(distances, 0)
        clusters = fcluster(linkage(squareform(distances, checks=False), method="average"), 1 - threshold, criterion="distance")
        _, first, cluster_of = np.unique(clusters, return_index=True, return_inverse=True)
        heads.append(members[first][cluster_of])
        members_of.append(members)
    return np.concatenate(heads), np.concatenate(members_of), pairs[:2]


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
