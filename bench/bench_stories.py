"""Calibrate and time the stories stage: the five seeds (one story) among the BBC articles (other stories).

    .venv/bin/python bench/bench_stories.py [CORPUS]    # default ../shared/corpora/bbc-news

Prints the story similarity of seed pairs, seed-BBC pairs and BBC pairs (near copies left out),
the level up to which the seeds stay one story, how they fare alone and among 200 BBC articles
(a small corpus weighs names differently), the largest BBC stories at the threshold, and the
stage's wall time.
"""

import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl
from scipy.cluster.hierarchy import linkage
from scipy.spatial.distance import squareform

from benchlib import BBC_NEWS, cleaned_batch, corpus_missing

from newsflow.analysis import stories
from newsflow.analysis.shingles import earliest_of_components
from newsflow.settings import PROJECT_ROOT, Settings
from newsflow.stages import groups, signatures

SAMPLE = 200


def vectors_of(terms: list[list[str]]):
    return stories.term_vectors(pl.Series(terms, dtype=pl.List(pl.String)))


def similarity_matrix(terms: list[list[str]]) -> np.ndarray:
    vectors = vectors_of(terms)
    return (vectors @ vectors.T).toarray()


def story_of_each(terms: list[list[str]], threshold: float) -> np.ndarray:
    """The stage's grouping (without copies): the index of each document's story's first document."""
    keys = [f"{i:06d}" for i in range(len(terms))]
    return earliest_of_components(np.arange(len(terms)), *stories.story_edges(vectors_of(terms), keys, threshold)[:2])


def main(corpus: Path) -> None:
    if corpus_missing(corpus):
        return
    threshold = Settings().story_similarity
    output = Path(tempfile.mkdtemp(prefix="bench-stories-"))
    seeds = cleaned_batch(Settings(source_dir=PROJECT_ROOT / "seeds", output_dir=output))
    bbc = cleaned_batch(Settings(source_dir=corpus, output_dir=output))
    documents = pl.concat([seeds.documents, bbc.documents])
    terms = [stories.story_terms(text) for text in documents["text"]]
    n_seeds = seeds.documents.height
    similarity = similarity_matrix(terms)

    seed_matrix = similarity[:n_seeds, :n_seeds]
    seed_pairs = seed_matrix[np.triu_indices(n_seeds, 1)]
    join_level = 1 - linkage(squareform(1 - seed_matrix, checks=False), method="average")[-1, 2]
    seed_bbc = similarity[:n_seeds, n_seeds:]
    bbc_matrix = similarity[n_seeds:, n_seeds:]
    position = {doc_id: i for i, doc_id in enumerate(bbc.documents["doc_id"])}
    signed = signatures.run(bbc, Settings(output_dir=output))
    for a, b in groups.run(signed, Settings(output_dir=output)).duplicates.select("doc_id", "other_doc_id").iter_rows():
        bbc_matrix[position[a], position[b]] = bbc_matrix[position[b], position[a]] = np.nan  # copies, not rewrites
    bbc_pairs = bbc_matrix[np.triu_indices(len(bbc_matrix), 1)]
    bbc_pairs = bbc_pairs[~np.isnan(bbc_pairs)]
    quantiles = np.quantile(bbc_pairs, [0.5, 0.99, 0.999])

    print(f"story similarity threshold (NEWSFLOW_STORY_SIMILARITY): {threshold}")
    print(f"seed pairs ({len(seed_pairs)}): min {seed_pairs.min():.3f}  median {np.median(seed_pairs):.3f}  max {seed_pairs.max():.3f}")
    print(f"  average linkage keeps the five seeds one story up to a threshold of {join_level:.3f}")
    print(f"seed-BBC pairs ({seed_bbc.size:,}): max {seed_bbc.max():.3f}  99.9th percentile {np.quantile(seed_bbc, 0.999):.3f}")
    print(
        f"BBC pairs, copies left out ({len(bbc_pairs):,}): median {quantiles[0]:.3f}  99th {quantiles[1]:.3f}  "
        f"99.9th {quantiles[2]:.3f}  at or above the threshold: {int((bbc_pairs >= threshold).sum())}"
    )
    random.seed(0)
    for label, members in (("seeds alone", []), (f"seeds + {SAMPLE} BBC", random.sample(range(bbc.documents.height), SAMPLE))):
        subset = terms[:n_seeds] + [terms[n_seeds + i] for i in members]
        matrix = similarity_matrix(subset)[:n_seeds, :n_seeds]
        story = story_of_each(subset, threshold)
        print(
            f"{label}: seed pairs min {matrix[np.triu_indices(n_seeds, 1)].min():.3f}; "
            f"the seeds' story holds {int((story == story[0]).sum())} documents, {int((story[:n_seeds] == story[0]).sum())} of them seeds"
        )
    story = story_of_each(terms, threshold)
    sizes = np.bincount(story, minlength=len(story))
    print(
        f"seeds + all BBC: the seeds' story holds {sizes[story[0]]} documents; "
        f"{int((sizes > 1).sum())} stories of several documents hold {int(sizes[sizes > 1].sum())} documents; the largest:"
    )
    titles = documents["title"].to_list()
    for first in np.argsort(-sizes, kind="stable")[:5]:
        members = np.flatnonzero(story == first)
        print(f"  {len(members):3d}: " + " | ".join(titles[i][:38] for i in members[:4]))

    texts = bbc.documents["text"].to_list()
    term_seconds, group_seconds = [], []
    for _ in range(3):
        started = time.perf_counter()
        [stories.story_terms(text) for text in texts]
        term_seconds.append(time.perf_counter() - started)
        started = time.perf_counter()
        groups.run(signed, Settings(output_dir=output))
        group_seconds.append(time.perf_counter() - started)
    print(
        f"on {bbc.documents.height:,} articles, best of 3: story terms (in signatures.run) {min(term_seconds):.2f} s, "
        f"groups.run (copies and stories) {min(group_seconds):.2f} s (anchor: seconds)"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else BBC_NEWS)
