"""duplicates: flag exact copies and near copies, against this run and every earlier one.

Exact copies have the same normalised text (case, whitespace, punctuation and Unicode forms
removed). Near copies have a word 5-gram Jaccard similarity at or above a threshold: MinHash
signatures (rensa) put candidate pairs in the same LSH bucket, and each candidate's exact
Jaccard is computed before it is kept, so no estimate is ever published. Copies are joined
transitively into groups; every member points to the group's earliest document (first
ingested, ties by doc_id), so the answer never depends on the order documents were read in.

Across runs: the `signatures` table keeps each current document's shingle hashes and text hash.
A run merges its new and changed documents into that state and recomputes the groups over all
of it, so publishing a corpus in two runs gives the same groups as publishing it in one.
Earlier documents whose fields change (a new article bridges two groups) go to
batch.document_updates.
"""

import hashlib
import re
import unicodedata

import numpy as np
import polars as pl
from rensa import RMinHash, RMinHashLSH
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from newsflow.batch import Batch
from newsflow.catalog import conform, load_contract, read_published
from newsflow.progress import track
from newsflow.settings import Settings

SHINGLE_WORDS = 5
DUPLICATE_FIELDS = ("exact_dup_of", "near_dup_of", "near_dup_similarity")
# 32 bands of 4 rows: a pair at Jaccard 0.8 shares a band with probability 1 - (1 - 0.8**4)**32 > 0.9999999;
# the extra candidates this lets in (about 87% of pairs at 0.5, almost none below 0.3) are verified away.
MINHASH_PERMUTATIONS = 128
LSH_BANDS = 32
MINHASH_SEED = 20230320
_WORD = re.compile(r"[^\W_]+")
# Multiplier of the polynomial that folds five word hashes into one shingle hash (an odd 64-bit constant).
_FOLD = np.uint64(0x9E3779B97F4A7C15)


def run(batch: Batch, settings: Settings) -> Batch:
    documents = batch.documents
    if documents.is_empty():  # nothing new: the published groups stand
        return batch
    state = merged_state(read_published(settings.output_dir, "signatures"), fingerprints(documents), settings)
    shingles = shingle_arrays(state)
    pairs = duplicate_pairs(state, shingles, settings.near_duplicate_jaccard)
    fields = duplicate_fields(state, shingles, pairs)
    updated_state = state.drop(DUPLICATE_FIELDS).join(fields, on="doc_id", how="left", maintain_order="left")

    batch_ids = documents["doc_id"].implode()
    in_batch = pl.col("doc_id").is_in(batch_ids)
    found = pairs.filter(in_batch | pl.col("other_doc_id").is_in(batch_ids))
    updates = changed_fields(state.filter(~in_batch), updated_state.filter(~in_batch), DUPLICATE_FIELDS)
    documents = documents.drop(DUPLICATE_FIELDS, strict=False).join(fields, on="doc_id", how="left", maintain_order="left")
    counts = {
        "exact_duplicates": documents["exact_dup_of"].is_not_null().sum(),
        "near_duplicates": documents["near_dup_of"].is_not_null().sum(),
        "duplicate_pairs": found.height,
        "earlier_documents_regrouped": updates.height,
    }
    return batch.updated(
        documents=documents,
        duplicates=found.with_columns(run_id=pl.lit(batch.run_id)),
        signatures=updated_state,
        document_updates=updates,
        counts=counts,
    )


def normalised_words(text: str) -> list[str]:
    """The words of a text for hashing: Unicode compatibility forms folded, case folded, punctuation dropped."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def merged_state(prior: pl.DataFrame | None, fresh: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """The earlier runs' state with this run's documents added or replaced (a changed file), earliest first."""
    if prior is not None:
        first_seen = prior.select("doc_id", seen=pl.coalesce("first_seen_at", "ingested_at"))
        fresh = fresh.join(first_seen, on="doc_id", how="left").with_columns(
            first_seen_at=pl.coalesce("seen", "first_seen_at")
        ).drop("seen")
        fresh = pl.concat([prior.filter(~pl.col("doc_id").is_in(fresh["doc_id"].implode())), fresh], how="diagonal_relaxed")
    state = pl.from_arrow(conform("signatures", fresh, load_contract(settings.contracts_dir, "signatures")))
    return state.sort("ingested_at", "doc_id")


def fingerprints(documents: pl.DataFrame) -> pl.DataFrame:
    """Per document: the hash of its normalised text and the sorted hashes of its word 5-grams."""
    words = [normalised_words(text) for text in track(documents["text"].to_list(), "duplicates")]
    vocabulary = {word: index for index, word in enumerate(set().union(*words))}
    word_hashes = np.fromiter((_stable_hash(word) for word in vocabulary), np.uint64, len(vocabulary))
    shingles = [
        shingle_hashes(word_hashes[np.fromiter(map(vocabulary.__getitem__, doc_words), np.int64, len(doc_words))])
        for doc_words in words
    ]
    return documents.select("doc_id", "ingested_at", "title", first_seen_at="ingested_at").with_columns(
        text_sha256=pl.Series(
            [hashlib.sha256(" ".join(doc_words).encode()).hexdigest() if doc_words else None for doc_words in words],
            dtype=pl.String,
        ),
        shingles=pl.Series([hashes.view(np.int64) for hashes in shingles], dtype=pl.List(pl.Int64)),
    )


def shingle_hashes(word_hashes: np.ndarray) -> np.ndarray:
    """Sorted distinct hashes of the word 5-grams (a shorter text is one shingle of all its words)."""
    if not len(word_hashes):
        return word_hashes
    if len(word_hashes) < SHINGLE_WORDS:
        word_hashes = np.pad(word_hashes, (0, SHINGLE_WORDS - len(word_hashes)))
    count = len(word_hashes) - SHINGLE_WORDS + 1
    folded = np.zeros(count, np.uint64)
    with np.errstate(over="ignore"):  # arithmetic modulo 2**64 is the point
        for offset in range(SHINGLE_WORDS):
            folded = folded * _FOLD + word_hashes[offset : offset + count]
    hashes = np.sort(_mix(folded))
    return hashes[np.concatenate(([True], hashes[1:] != hashes[:-1]))]  # np.unique is five times slower here


def duplicate_pairs(state: pl.DataFrame, shingles: list[np.ndarray], threshold: float) -> pl.DataFrame:
    """Every exact and near duplicate pair among the documents of `state` (sorted earliest first).

    doc_id is the later document of the pair and other_doc_id the earlier one.
    """
    text_hashes = state["text_sha256"].to_list()
    pairs = {}
    groups = state.with_row_index().drop_nulls("text_sha256").group_by("text_sha256").agg("index")["index"]
    for rows in groups.filter(groups.list.len() > 1):
        rows = sorted(rows)
        pairs.update({(a, b): ("exact", 1.0) for i, a in enumerate(rows) for b in rows[i + 1 :]})
    for a, b in candidate_pairs(shingles, threshold):
        if (a, b) not in pairs and text_hashes[a] != text_hashes[b]:
            similarity = jaccard(shingles[a], shingles[b])
            if similarity >= threshold:
                pairs[(a, b)] = ("near", similarity)
    doc_ids = state["doc_id"].to_list()
    return pl.DataFrame(
        [(doc_ids[b], doc_ids[a], kind, similarity) for (a, b), (kind, similarity) in sorted(pairs.items())],
        schema={"doc_id": pl.String, "other_doc_id": pl.String, "kind": pl.String, "similarity": pl.Float64},
        orient="row",
    )


def candidate_pairs(shingles: list[np.ndarray], threshold: float) -> set[tuple[int, int]]:
    """Index pairs (earlier, later) whose MinHash signatures share an LSH band (the bands, not `threshold`, decide)."""
    # S8 drops trailing NUL bytes, which keeps distinct hashes distinct, and is far faster than int.to_bytes.
    tokens = [row.view("S8").tolist() for row in shingles]
    minhashes = RMinHash.from_token_sets(tokens, num_perm=MINHASH_PERMUTATIONS, seed=MINHASH_SEED)
    lsh = RMinHashLSH(threshold=threshold, num_perm=MINHASH_PERMUTATIONS, num_bands=LSH_BANDS)
    with_words = [index for index, row in enumerate(shingles) if len(row)]  # an empty set would match every other
    lsh.insert_pairs((index, minhashes[index]) for index in with_words)
    candidates = lsh.query_all([minhashes[index] for index in with_words])
    return {(min(a, b), max(a, b)) for a, keys in zip(with_words, candidates) for b in keys if a != b}


def duplicate_fields(state: pl.DataFrame, shingles: list[np.ndarray], pairs: pl.DataFrame) -> pl.DataFrame:
    """exact_dup_of, near_dup_of and near_dup_similarity of every document of `state` (sorted earliest first)."""
    doc_ids = state["doc_id"].to_list()
    position = {doc_id: index for index, doc_id in enumerate(doc_ids)}
    exact_of = _earliest_in_groups(len(doc_ids), pairs.filter(pl.col("kind") == "exact"), position)
    near_of = _earliest_in_groups(len(doc_ids), pairs, position)
    return pl.DataFrame(
        {
            "doc_id": doc_ids,
            "exact_dup_of": [doc_ids[e] if e != i else None for i, e in enumerate(exact_of)],
            "near_dup_of": [doc_ids[n] if n != i else None for i, n in enumerate(near_of)],
            "near_dup_similarity": [jaccard(shingles[i], shingles[n]) if n != i else None for i, n in enumerate(near_of)],
        },
        schema={"doc_id": pl.String, "exact_dup_of": pl.String, "near_dup_of": pl.String, "near_dup_similarity": pl.Float64},
    )


def changed_fields(before: pl.DataFrame, after: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    """doc_id and `columns` (their new values) of the rows of `after` where any of them differs from `before`."""
    joined = after.select("doc_id", *columns).join(
        before.select("doc_id", *columns), on="doc_id", how="left", suffix="_before"
    )
    differs = pl.any_horizontal(pl.col(c).ne_missing(pl.col(f"{c}_before")) for c in columns)
    return joined.filter(differs).select("doc_id", *columns)


def earliest_of_components(count: int, edges: list[tuple[int, int]]) -> np.ndarray:
    """For each of `count` nodes (numbered earliest first), the lowest-numbered node of its connected component."""
    if not edges:
        return np.arange(count)
    a, b = np.array(edges).T
    _, labels = connected_components(coo_matrix((np.ones(len(a)), (a, b)), shape=(count, count)), directed=False)
    earliest = np.full(labels.max() + 1, count)
    np.minimum.at(earliest, labels, np.arange(count))
    return earliest[labels]


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    shared = np.intersect1d(a, b, assume_unique=True).size
    return shared / (a.size + b.size - shared)


def _earliest_in_groups(count: int, pairs: pl.DataFrame, position: dict[str, int]) -> np.ndarray:
    edges = [(position[a], position[b]) for a, b in pairs.select("doc_id", "other_doc_id").iter_rows()]
    return earliest_of_components(count, edges)


def shingle_arrays(state: pl.DataFrame) -> list[np.ndarray]:
    """The shingles column as one unsigned array per document."""
    flat = state["shingles"].explode(empty_as_null=False).to_numpy().view(np.uint64)
    return np.split(flat, np.cumsum(state["shingles"].list.len().to_numpy())[:-1])


def _stable_hash(word: str) -> int:
    """A 64-bit hash that stays the same across processes and versions (Python's hash() does not)."""
    return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")


def _mix(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: spreads the folded hashes over all 64 bits."""
    with np.errstate(over="ignore"):
        values = (values ^ (values >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        values = (values ^ (values >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return values ^ (values >> np.uint64(31))
