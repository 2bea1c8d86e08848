"""Copies of a text: its normalised words, the hashes of its word 5-grams (shingles), MinHash and LSH.

Near copies have a word 5-gram Jaccard similarity at or above a threshold: MinHash signatures
(rensa) of the shingles of distinct texts meet in LSH buckets, and each candidate's exact Jaccard
is computed before it is kept, so no estimate is ever published. Copies are joined transitively into groups; every
member points to the group's earliest document (first ingested, ties by doc_id), so the answer
never depends on the order documents were read in.
"""

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator

import numpy as np
import polars as pl
from rensa import RMinHash
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from newsflow.runtime.progress import track

SHINGLE_WORDS = 5
# 32 bands of 4 rows: a pair at Jaccard 0.8 shares a band with probability 1 - (1 - 0.8**4)**32 > 0.9999999;
# the extra candidates this lets in (about 87% of pairs at 0.5, almost none below 0.3) are verified away.
MINHASH_PERMUTATIONS = 128
LSH_BANDS = 32
MINHASH_SEED = 20230320
# Documents (or candidate pairs) whose MinHash signatures are computed (compared) at once: bounds their memory.
MINHASH_ROWS = 10_000
# A candidate whose MinHash estimate is this far below the threshold is not verified: with 128 permutations the
# estimate of a pair at Jaccard 0.8 has a standard deviation of about 0.035, and 0.25 is seven of them.
ESTIMATE_MARGIN = 0.25
_WORD = re.compile(r"[^\W_]+")
# Multiplier of the polynomial that folds five word hashes into one shingle hash (an odd 64-bit constant).
_FOLD = np.uint64(0x9E3779B97F4A7C15)


def text_hashes(texts: list[str]) -> tuple[list[str | None], list[np.ndarray]]:
    """Per text: the SHA-256 of its normalised words (None when it has none), and the sorted distinct hashes
    of its word 5-grams (unsigned 64-bit)."""
    words = [normalised_words(text) for text in track(texts, "signatures")]
    vocabulary = {word: index for index, word in enumerate(set().union(*words))}
    word_hashes = np.fromiter((_stable_hash(word) for word in vocabulary), np.uint64, len(vocabulary))
    shingles = [
        shingle_hashes(word_hashes[np.fromiter(map(vocabulary.__getitem__, doc_words), np.int64, len(doc_words))])
        for doc_words in words
    ]
    return [hashlib.sha256(" ".join(doc_words).encode()).hexdigest() if doc_words else None for doc_words in words], shingles


def normalised_words(text: str) -> list[str]:
    """The words of a text for hashing: Unicode compatibility forms folded, case folded, punctuation dropped."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


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


class Shingles:
    """The shingles of a set of documents, read part by part and never held whole (on 100,000 documents
    they take ~300 MB, more than all else the groups stage holds).

    Row k is the document doc_ids[k]; `parts()` yields frames of doc_id and shingles, each document once,
    in any order.
    """

    def __init__(self, doc_ids: pl.Series, parts: Callable[[], Iterable[pl.DataFrame]]):
        self.rows_of = pl.DataFrame({"doc_id": doc_ids, "row": np.arange(len(doc_ids))})
        self.parts = parts

    def _read(self) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per part: its documents' rows, and its shingles as one unsigned array and offsets into it (not copied)."""
        for part in self.parts():
            rows = part.select("doc_id").join(self.rows_of, on="doc_id", how="left", maintain_order="left")["row"]
            if rows.null_count():
                raise ValueError("shingles of a document outside the set were read")
            array = part["shingles"].rechunk().to_arrow()
            yield rows.to_numpy(), array.values.to_numpy(zero_copy_only=True).view(np.uint64), array.offsets.to_numpy()

    def minhashes(self, wanted: np.ndarray) -> np.ndarray:
        """The MinHash signature of the `wanted` rows (zeros elsewhere), one row of MINHASH_PERMUTATIONS unsigned 32-bit values."""
        minhashes = np.zeros((self.rows_of.height, MINHASH_PERMUTATIONS), np.uint32)
        is_wanted = np.zeros(self.rows_of.height, bool)
        is_wanted[wanted] = True
        for rows, values, offsets in self._read():
            picked = np.flatnonzero(is_wanted[rows])
            if len(picked):
                parts = [values[offsets[i] : offsets[i + 1]] for i in picked]
                bounds = np.cumsum([0, *map(len, parts)])
                minhashes[rows[picked]] = minhash_rows(np.concatenate([np.empty(0, np.uint64), *parts]), bounds)
        return minhashes

    def of_rows(self, wanted: np.ndarray) -> dict[int, np.ndarray]:
        """The shingles of the `wanted` rows, by row (copied: a view would keep its whole part in memory)."""
        is_wanted = np.zeros(self.rows_of.height, bool)
        is_wanted[wanted] = True
        found = {}
        for rows, values, offsets in self._read():
            for i in np.flatnonzero(is_wanted[rows]):
                found[int(rows[i])] = values[offsets[i] : offsets[i + 1]].copy()
        return found


def minhash_rows(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The MinHash signatures of documents whose shingles are values[offsets[k]:offsets[k + 1]], MINHASH_ROWS at a time."""
    minhashes = np.zeros((len(offsets) - 1, MINHASH_PERMUTATIONS), np.uint32)
    for start in range(0, len(offsets) - 1, MINHASH_ROWS):
        bounds = offsets[start : start + MINHASH_ROWS + 1]
        digests = RMinHash.digest_matrix_from_flat_token_hashes(
            values[bounds[0] : bounds[-1]], (bounds - bounds[0]).astype(np.uint64), MINHASH_PERMUTATIONS, MINHASH_SEED
        )
        minhashes[start : start + len(bounds) - 1] = np.array(digests.to_rows(), np.uint32).reshape(-1, MINHASH_PERMUTATIONS)
    return minhashes


def jaccard(first: np.ndarray, second: np.ndarray) -> float:
    """The Jaccard similarity of two sorted arrays of distinct shingles."""
    if len(first) > len(second):
        first, second = second, first
    found = np.searchsorted(second, first)
    shared = np.count_nonzero(second[np.minimum(found, len(second) - 1)] == first)
    return shared / (len(first) + len(second) - shared)


def band_keys(minhashes: np.ndarray) -> np.ndarray:
    """Each signature's LSH_BANDS band keys (unsigned 64-bit): a band's values and its number, hashed. Two
    documents share a key when their signatures agree on every value of one band (the groups stage keeps the
    keys of every published document to find the candidates of a run's documents)."""
    per_band = MINHASH_PERMUTATIONS // LSH_BANDS
    keys = np.empty((len(minhashes), LSH_BANDS), np.uint64)
    with np.errstate(over="ignore"):
        for band in range(LSH_BANDS):
            key = np.full(len(minhashes), band, np.uint64)
            for value in minhashes[:, band * per_band : (band + 1) * per_band].T.astype(np.uint64):
                key = _mix(key * _FOLD + value)
            keys[:, band] = key
    return keys


def candidate_pairs(keys: np.ndarray, rows: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (a < b) of `rows` (of `count`) that share a band key (`keys`: the LSH_BANDS band keys of each of `rows`).

    The keys are sorted here: rensa's LSH index answers one sketch object at a time, and building one per
    document costs more than the whole grouping on 100,000 documents.
    """
    keys = keys.ravel()
    owners = np.repeat(rows, LSH_BANDS)
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    firsts, seconds = owners[pairs_within_runs(order, np.flatnonzero(np.diff(keys, prepend=~keys[:1])))]
    found = np.minimum(firsts, seconds) * count + np.maximum(firsts, seconds)
    found.sort()  # bands find the same pairs again (np.unique is slower here)
    distinct = np.ones(len(found), bool)
    distinct[1:] = found[1:] != found[:-1]
    return np.divmod(found[distinct], max(count, 1))


def near_pairs(shingles: Shingles, rows: np.ndarray, keys: np.ndarray, threshold: float) -> pl.DataFrame:
    """The pairs of `rows` (row numbers of distinct, non-empty texts, with their band keys `keys`, as the signatures
    stage computed them) with exact Jaccard at or above `threshold`. Only the candidates' MinHash signatures are
    computed again, for their estimate (most documents share no band with another)."""
    firsts, seconds = candidate_pairs(keys, rows, shingles.rows_of.height)
    minhashes = shingles.minhashes(np.union1d(firsts, seconds))
    estimates = np.concatenate(
        [np.empty(0)]
        + [
            (minhashes[firsts[i : i + MINHASH_ROWS]] == minhashes[seconds[i : i + MINHASH_ROWS]]).mean(axis=1)
            for i in range(0, len(firsts), MINHASH_ROWS)
        ]
    )
    likely = estimates >= threshold - ESTIMATE_MARGIN
    firsts, seconds = firsts[likely], seconds[likely]
    sets = shingles.of_rows(np.union1d(firsts, seconds))
    similarity = np.fromiter((jaccard(sets[a], sets[b]) for a, b in zip(firsts, seconds)), np.float64, len(firsts))
    kept = similarity >= threshold
    return pl.DataFrame({"first": firsts[kept], "second": seconds[kept], "similarity": similarity[kept]})


def earliest_of_components(rank: np.ndarray, firsts: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    """For each node, the node of lowest `rank` in its connected component (edges firsts[k] -- seconds[k])."""
    count = len(rank)
    graph = coo_matrix((np.ones(len(firsts), np.int8), (firsts, seconds)), shape=(count, count))
    _, labels = connected_components(graph, directed=False)
    by_rank = np.argsort(rank, kind="stable")
    _, first_of_label = np.unique(labels[by_rank], return_index=True)
    return by_rank[first_of_label][labels]


def pairs_within_runs(order: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Every pair inside each run of equal keys, as two rows of `order`'s values (order[starts[k]:starts[k+1]] is a run)."""
    if not len(order):
        return np.empty((2, 0), order.dtype)
    ends = np.repeat(np.append(starts[1:], len(order)), np.diff(np.append(starts, len(order))))
    later = ends - np.arange(len(order)) - 1  # members after each one in its run
    first = np.repeat(np.arange(len(order)), later)
    offset = np.arange(len(first)) - np.repeat(np.cumsum(later) - later, later)
    return np.stack([order[first], order[first + 1 + offset]])


def _stable_hash(word: str) -> int:
    """A 64-bit hash that stays the same across processes and versions (Python's hash() does not)."""
    return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")


def _mix(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: spreads the folded hashes over all 64 bits."""
    with np.errstate(over="ignore"):
        values = (values ^ (values >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        values = (values ^ (values >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return values ^ (values >> np.uint64(31))
