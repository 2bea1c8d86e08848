"""What the benchmarks share: where the corpora are, the stages that read a corpus, exact Jaccard, bare spaCy NER."""

import math
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from newsflow.analysis.extraction.entities import NOT_NER_PIPES, load_model
from newsflow.analysis.shingles import SHINGLE_WORDS, normalised_words
from newsflow.batch import Batch
from newsflow.settings import PROJECT_ROOT, Settings
from newsflow.stages import clean, ingest, plan

# Measuring corpora live beside the project, never inside it.
CORPORA = PROJECT_ROOT.parent / "shared" / "corpora"
BBC_NEWS = CORPORA / "bbc-news"

Shingles = frozenset[tuple[str, ...]]


def corpus_missing(corpus: Path) -> bool:
    """True, with a message saying what to pass, when the corpus folder is absent (the benchmark then skips it)."""
    if corpus.is_dir():
        return False
    print(f"corpus not found at {corpus}: pass the folder of articles (see ../shared/corpora/bbc-news); skipped")
    return True


def published_groups(output: Path) -> dict[str, object]:
    """What must not depend on how a corpus arrived, from its published tables: which live documents share a story,
    a text, a near-copy group; the stories; the pairs (with kind and similarity); the documents of the index."""
    documents = pl.read_delta(str(output / "documents")).filter(~pl.col("is_deleted"))

    def partition(column: str) -> set[frozenset[str]]:
        keyed = documents.select("doc_id", group=pl.coalesce(column, "doc_id"))
        return {frozenset(ids) for ids in keyed.group_by("group").agg("doc_id")["doc_id"].to_list()}

    pairs = pl.read_delta(str(output / "duplicates")).select("doc_id", "other_doc_id", "kind", "similarity")
    return {
        "stories": {frozenset(ids) for ids in pl.read_delta(str(output / "stories"))["doc_ids"].to_list()},
        "story_ids": partition("story_id"),
        "exact": partition("exact_dup_of"),
        "near": partition("near_dup_of"),
        "pairs": {(frozenset((a, b)), kind, round(similarity, 12)) for a, b, kind, similarity in pairs.rows()},
        "pair_rows": pairs.height,
        "index": sorted(pl.read_delta(str(output / "signatures"))["doc_id"]),
        "documents": sorted(documents["doc_id"]),
    }


def cleaned_batch(settings: Settings) -> Batch:
    """The articles of settings.source_dir as the pipeline's ingest and clean stages leave them."""
    return clean.run(ingest.run(plan.run(Batch("bench", datetime.now(UTC)), settings), settings), settings)


def shingle_set(text: str) -> Shingles:
    """Word 5-grams of the duplicates stage's normalised words, as plain tuples (a shorter text is one shingle)."""
    words = normalised_words(text)
    return frozenset(tuple(words[i : i + SHINGLE_WORDS]) for i in range(max(len(words) - SHINGLE_WORDS + 1, 1))) if words else frozenset()


def jaccard(a: Shingles, b: Shingles) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 1.0


def similar_pairs(sets: list[Shingles], threshold: float) -> dict[tuple[int, int], float]:
    """Every pair (i < j) with Jaccard >= threshold, exactly, by prefix filtering then verification.

    With shingles in a global order (rarest first), two sets with Jaccard >= t must share a shingle
    among the first |S| - ceil(t |S|) + 1 of each, so only pairs sharing such a prefix shingle are compared.
    """
    frequency = Counter(shingle for shingles in sets for shingle in shingles)
    index, candidates = defaultdict(list), set()
    for doc, shingles in enumerate(sets):
        ordered = sorted(shingles, key=lambda shingle: (frequency[shingle], shingle))
        for shingle in ordered[: len(ordered) - math.ceil(threshold * len(ordered)) + 1]:
            candidates.update((other, doc) for other in index[shingle])
            index[shingle].append(doc)
    pairs = {}
    for a, b in candidates:
        similarity = jaccard(sets[a], sets[b])
        if similarity >= threshold:
            pairs[(a, b)] = similarity
    return pairs


def bare_ner(texts: list[str], model: str, processes: int) -> tuple[float, int]:
    """Seconds that spaCy's NER alone takes over `texts` (the model loaded beforehand, not timed), and the entities found.

    The same model, with only the components NER needs, and the same process count as the extract stage.
    """
    nlp = load_model(model)
    started = time.perf_counter()
    n_entities = sum(len(doc.ents) for doc in nlp.pipe(texts, disable=NOT_NER_PIPES, n_process=processes))
    return time.perf_counter() - started, n_entities
