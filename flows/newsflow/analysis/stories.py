"""stories: what tells that articles report the same event in different words, and how they are grouped.

Rewrites of one wire story share few phrases but the same names and numbers: people,
places, organisations, figures. Each article is described by those terms (capitalised words
that the article never writes in lower case, pairs of adjacent ones, and numbers), weighted
by TF-IDF over every current document and compared by cosine similarity. Stories are
average-linkage clusters cut at a threshold (a setting, calibrated in bench/bench_stories.py).

The duplicates stage takes each article's terms (story_terms) as it reads it; the groups stage
clusters all current documents once per run with the functions here. Similar pairs come from a
sparse product computed a block of rows at a time and thresholded at once, so no N x N matrix is
ever held; clustering then runs inside each connected group of similar articles.
"""

import re

import numpy as np
import polars as pl
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.sparse import coo_matrix, csc_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial.distance import squareform

# Document frequencies are smoothed as if the corpus also held this many articles without the term, so a
# small corpus does not make every shared name look common (seeds alone vs. among 2,225 BBC articles).
BACKGROUND_DOCUMENTS = 200
# Pairs of articles compared through a shared term, per article. A term in df articles costs df**2 comparisons,
# so the most frequent terms are left out until the total fits: bbc-news needs 2,500 per article (nothing is
# left out); 100,000 articles made from it by copying each one 45 times with edits would need 133,000, and leave
# out the 629 terms (of 237,195) found in over 791 articles (Mr, UK, Blair), which alone never make a story.
COMPARISONS_PER_DOCUMENT = 5000
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


def term_vectors(terms: pl.Series) -> csr_matrix:
    """Each document's TF-IDF weighted story terms as a row of unit length, the too frequent terms left out.

    Terms are told apart by a 64-bit hash; only equal terms must meet, within one call.
    """
    count = len(terms)
    hashes = terms.list.eval(pl.element().hash())
    docs = np.repeat(np.arange(count, dtype=np.int32), hashes.list.len().fill_null(0).to_numpy())
    hashes = hashes.explode(empty_as_null=False).drop_nulls().to_numpy()
    order = np.argsort(hashes, kind="stable")  # by term, each term's documents in order
    hashes, docs = hashes[order], docs[order]
    del order
    new_term = np.concatenate(([True], hashes[1:] != hashes[:-1])) if len(hashes) else np.zeros(0, bool)
    del hashes
    entries = np.flatnonzero(new_term | np.concatenate(([True], docs[1:] != docs[:-1])))  # a term's first time in a document
    tf = np.diff(entries, append=len(docs))
    docs, new_term = docs[entries], new_term[entries]
    del entries
    df = np.diff(np.flatnonzero(new_term), append=len(docs))
    kept = np.repeat(df <= comparable_frequency(df, count), df)
    weights = np.where(kept, (1 + np.log(tf)) * np.repeat(np.log((1 + count + BACKGROUND_DOCUMENTS) / (1 + df)), df), 0)
    norms = np.sqrt(np.bincount(docs, weights=weights**2, minlength=count))
    vectors = csc_matrix((weights / np.where(norms[docs] > 0, norms[docs], 1), docs, np.append(0, np.cumsum(df))), shape=(count, len(df)))
    vectors.eliminate_zeros()
    return vectors.tocsr()


def comparable_frequency(df: np.ndarray, count: int) -> int:
    """The highest document frequency a term may have to be compared on (see COMPARISONS_PER_DOCUMENT)."""
    frequencies, terms = np.unique(df, return_counts=True)
    comparisons = np.cumsum(terms * frequencies.astype(np.float64) ** 2)
    within = frequencies[comparisons <= COMPARISONS_PER_DOCUMENT * count]
    return int(within[-1]) if len(within) else 0


def similar_pairs(vectors: csr_matrix, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index pairs (i < j) of documents whose cosine similarity is at or above `threshold`, and that similarity.

    The product is computed a block of rows at a time, each block holding at most BLOCK_PRODUCTS products.
    """
    firsts, seconds, similarities = [np.empty(0, np.int32)], [np.empty(0, np.int32)], [np.empty(0)]
    transposed = vectors.T.tocsr()
    products = np.cumsum(vectors.astype(bool) @ np.diff(transposed.indptr))  # of the rows up to each one
    start = 0
    while start < vectors.shape[0]:
        done = products[start - 1] if start else 0
        end = max(start + 1, np.searchsorted(products, done + BLOCK_PRODUCTS, "right"))
        block = vectors[start:end] @ transposed
        kept = np.flatnonzero(block.data >= threshold)
        rows = (np.searchsorted(block.indptr, kept, "right") - 1 + start).astype(np.int32)
        upper = block.indices[kept] > rows
        firsts.append(rows[upper])
        seconds.append(block.indices[kept][upper].astype(np.int32))
        similarities.append(block.data[kept][upper])
        start = end
    return np.concatenate(firsts), np.concatenate(seconds), np.concatenate(similarities)


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


def story_edges(vectors: csr_matrix, doc_ids: list[str], threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (first of its story, document) of documents in the same average-linkage cluster cut at `threshold`.

    Average linkage (a cluster joins another when their documents are, on average, at least
    `threshold` similar) keeps a chain of related articles (one campaign, day after day) from
    becoming one story, as single linkage would. Only documents linked by some pair at or above
    the threshold can meet, so the clustering runs inside those groups, each in doc_id order:
    the result depends on the documents, not on the order they arrived in.
    """
    heads, members_of = [np.empty(0, np.int64)], [np.empty(0, np.int64)]
    for members in linked_groups(len(doc_ids), similar_pairs(vectors, threshold), threshold):
        members = np.array(sorted(members.tolist(), key=doc_ids.__getitem__))
        group = vectors[members]
        distances = np.clip(1 - (group @ group.T).toarray(), 0, None)
        np.fill_diagonal(distances, 0)
        clusters = fcluster(linkage(squareform(distances, checks=False), method="average"), 1 - threshold, criterion="distance")
        _, first, cluster_of = np.unique(clusters, return_index=True, return_inverse=True)
        heads.append(members[first][cluster_of])
        members_of.append(members)
    return np.concatenate(heads), np.concatenate(members_of)


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
