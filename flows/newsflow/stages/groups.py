"""groups: find the copies and the stories among every current document, once per run.

The duplicates stage leaves, batch after batch, the signature rows of the run's documents (staged
on disk in a flow run); this stage takes all of them (batch.signatures) after the last batch. It merges them into the
published `signatures` table (a doc_id already there is a changed file: its row is replaced, and
it keeps the time it was first seen), then recomputes the groups over the whole state, so that
publishing a corpus in two runs, or one run in several batches, gives the groups of one:

- exact copies share a normalised-text hash; exact_dup_of is the earliest (first ingested, ties
  by doc_id) document of that hash;
- near copies are pairs at word 5-gram Jaccard at or above the threshold, found among distinct
  texts (duplicates.near_pairs) and joined transitively with the exact copies; near_dup_of is
  the group's earliest document;
- stories are average-linkage clusters of similar story terms (see stories.py), with copies
  always together; story_id is the story's first-seen document (ties by doc_id).

It returns the duplicate pairs that involve the run's documents, every current story, the whole
new state, and one document_updates frame setting the four fields of every document of the run
and of every earlier document whose fields changed (a null sets the field to null).

The shingles, ~3 KB a document, are not held with the state: they are read part by part, from the
published table and the run's signature rows, to compute the MinHash signatures, then again for
the few documents whose exact Jaccard is needed; publish reads them once more to write the table.
"""

from collections.abc import Callable, Iterator
from functools import reduce
from itertools import chain
from operator import or_

import numpy as np
import polars as pl
import pyarrow.compute as pc
import pyarrow.dataset as ds

from newsflow.analysis.shingles import Shingles, earliest_of_components, jaccard, near_pairs, pairs_within_runs
from newsflow.analysis.stories import story_edges, story_rows, term_vectors
from newsflow.batch import Batch
from newsflow.contracts import load_contract
from newsflow.settings import Settings
from newsflow.stages.signatures import SIGNATURE_COLUMNS
from newsflow.storage.tables import exists, published_files, read_batches, read_published, table_path

DUPLICATE_FIELDS = ("exact_dup_of", "near_dup_of", "near_dup_similarity")
GROUP_FIELDS = (*DUPLICATE_FIELDS, "story_id")
STATE_COLUMNS = tuple(column for column in SIGNATURE_COLUMNS if column != "shingles")


def run(batch: Batch, settings: Settings) -> Batch:
    fresh = batch.signatures
    if fresh is None and (batch.sources or batch.documents is not None):  # documents came, unsigned
        raise ValueError("the groups stage needs the signatures the duplicates stage builds: run duplicates first")
    rows = state_rows(fresh) if fresh is not None else None
    if rows is None or rows.is_empty():  # nothing new: the published groups stand
        return batch.updated(signatures=None)
    state = merged_state(settings, rows)
    in_run = state["doc_id"].is_in(rows["doc_id"].implode())
    shingles = state_shingles(settings, fresh, rows["doc_id"])
    fields, pairs = group_fields(state, Shingles(state["doc_id"], shingles), in_run.to_numpy(), settings)
    regrouped = _changed(state, fields, DUPLICATE_FIELDS) & ~in_run
    moved = _changed(state, fields, ("story_id",)) & ~in_run
    updates = fields.filter(in_run | regrouped | moved)
    signatures = state.with_columns(fields.drop("doc_id"))
    stories = story_rows(signatures.select("title", "first_seen_at", "doc_id", "story_id"))
    documents = batch.documents
    if documents is not None and not documents.is_empty():  # when the run is one batch, its documents get their fields now
        documents = documents.drop(GROUP_FIELDS, strict=False).join(updates, on="doc_id", how="left", maintain_order="left")
    return batch.updated(
        documents=documents,
        duplicates=pairs.with_columns(run_id=pl.lit(batch.run_id)),
        stories=stories,
        signatures=signatures,
        shingles=shingles,
        document_updates=updates,
        counts={
            "exact_duplicates": fields.filter(in_run)["exact_dup_of"].is_not_null().sum(),
            "near_duplicates": fields.filter(in_run & pl.col("exact_dup_of").is_null())["near_dup_of"].is_not_null().sum(),
            "duplicate_pairs": pairs.height,
            "earlier_documents_regrouped": regrouped.sum(),
            "stories": stories.height,
            "earlier_documents_moved_story": moved.sum(),
        },
    )


def merged_state(settings: Settings, rows: pl.DataFrame) -> pl.DataFrame:
    """The published signatures (none on a full refresh) with the run's rows (state_rows) added, or replacing those
    of the same doc_id (a changed file), all without their shingles (state_shingles reads them).

    A replaced document keeps the time it was first seen; rows of the run have null group fields.
    """
    replaced = pl.col("doc_id").is_in(rows["doc_id"].implode())
    seen = read_published(settings.output_dir, "signatures", ["doc_id", "first_seen_at"], where=replaced)
    if seen is not None and not seen.is_empty():
        first_seen = rows.select("doc_id").join(seen, on="doc_id", how="left", maintain_order="left")["first_seen_at"]
        rows = rows.with_columns(first_seen_at=pl.coalesce(first_seen, "first_seen_at"))
    contract = load_contract(settings.contracts_dir, "signatures")
    columns = [column.name for column in contract.columns if column.name != "shingles"]
    # a full refresh rebuilds the state from the run's documents alone: the files it no longer has leave no row
    prior = None if settings.full_refresh else read_published(settings.output_dir, "signatures", columns, where=~replaced)
    if prior is None:
        prior = pl.DataFrame(schema=contract.polars_schema(*columns))
    return pl.concat([prior, rows], how="diagonal_relaxed")


def state_rows(fresh: pl.DataFrame | ds.Dataset) -> pl.DataFrame:
    """The run's signature rows (in memory, or the staged parts) without their shingles."""
    if isinstance(fresh, ds.Dataset):
        return pl.from_arrow(fresh.to_table(columns=list(STATE_COLUMNS)))
    return fresh.select(STATE_COLUMNS)


def state_shingles(settings: Settings, fresh: pl.DataFrame | ds.Dataset, run_ids: pl.Series) -> Callable[[], Iterator[pl.DataFrame]]:
    """The shingles of merged_state's documents, read part by part as doc_id and shingles frames: the published
    table's but for the run's doc_ids (none on a full refresh), then the run's.

    The published ones come from the files of the table's current version, which stay readable while
    publish overwrites the table with them.
    """
    sources = [(fresh, None)]
    if exists(settings.output_dir, "signatures") and not settings.full_refresh:
        sources.insert(0, (published_files(table_path(settings.output_dir, "signatures")), ~pc.field("doc_id").isin(run_ids.to_arrow())))
    return lambda: chain.from_iterable(_shingle_parts(data, where) for data, where in sources)


def _shingle_parts(data: pl.DataFrame | ds.Dataset, where: ds.Expression | None) -> Iterator[pl.DataFrame]:
    if isinstance(data, pl.DataFrame):
        return data.select("doc_id", "shingles").iter_slices()
    return (pl.from_arrow(batch) for batch in read_batches(data, ["doc_id", "shingles"], where))


def group_fields(state: pl.DataFrame, shingles: Shingles, in_run: np.ndarray, settings: Settings) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The group fields of every document of `state` (with doc_id, in state order), and the duplicate pairs that
    involve a document of the run."""
    doc_ids = state["doc_id"]
    rows = np.arange(state.height)
    rank, story_rank = _ranks(state, "ingested_at"), _ranks(state, "first_seen_at")

    # Exact copies: the copies of each text, earliest first, follow each other in by_text (a text without words stands alone).
    text_keys = state.select(pl.col("text_sha256").rank("dense").fill_null(0).cast(pl.Int64)).to_series().to_numpy()
    with_words = rows[text_keys > 0]
    by_text = with_words[np.lexsort((rank[with_words], text_keys[with_words]))]
    starts = np.flatnonzero(np.diff(text_keys[by_text], prepend=0))
    exact_of = rows.copy()
    exact_of[by_text] = by_text[np.repeat(starts, np.diff(starts, append=len(by_text)))]

    near = near_pairs(shingles, by_text[starts], settings.near_duplicate_jaccard)
    near_of = earliest_of_components(
        rank, np.concatenate([near["first"].to_numpy(), by_text]), np.concatenate([near["second"].to_numpy(), exact_of[by_text]])
    )
    copies = rows[near_of != rows]
    similarity = np.full(len(rows), np.nan)
    sets = shingles.of_rows(np.union1d(copies, near_of[copies]))
    similarity[copies] = [jaccard(sets[row], sets[near_of[row]]) for row in copies]

    heads, clustered = story_edges(term_vectors(state["story_terms"]), doc_ids.to_list(), settings.story_similarity)
    story_of = earliest_of_components(story_rank, np.concatenate([heads, copies]), np.concatenate([clustered, near_of[copies]]))

    fields = pl.DataFrame(
        {
            "doc_id": doc_ids,
            "exact_dup_of": _other_id(doc_ids, exact_of),
            "near_dup_of": _other_id(doc_ids, near_of),
            "near_dup_similarity": pl.Series(similarity, nan_to_null=True),
            "story_id": doc_ids.gather(story_of),
        }
    )
    exact = pairs_within_runs(by_text, starts)
    return fields, duplicate_pairs(doc_ids, rank, exact_of, (exact[0], exact[1]), near, in_run)


def duplicate_pairs(
    doc_ids: pl.Series,
    rank: np.ndarray,
    exact_of: np.ndarray,
    exact: tuple[np.ndarray, np.ndarray],
    near: pl.DataFrame,
    in_run: np.ndarray,
) -> pl.DataFrame:
    """Every exact and near pair that involves a document of the run; doc_id is the later of the two.

    `near` pairs distinct texts: each pairs up every copy of one text with every copy of the other.
    """
    copies_of = pl.DataFrame({"text": exact_of, "row": np.arange(len(exact_of))})
    near = near.join(copies_of.rename({"text": "first", "row": "a"}), on="first").join(
        copies_of.rename({"text": "second", "row": "b"}), on="second"
    )
    a = np.concatenate([exact[0], near["a"].to_numpy()])
    b = np.concatenate([exact[1], near["b"].to_numpy()])
    later, earlier = np.where(rank[a] > rank[b], a, b), np.where(rank[a] > rank[b], b, a)
    return (
        pl.DataFrame(
            {
                "doc_id": doc_ids.gather(later),
                "other_doc_id": doc_ids.gather(earlier),
                "kind": np.repeat(["exact", "near"], [len(exact[0]), near.height]),
                "similarity": np.concatenate([np.ones(len(exact[0])), near["similarity"].to_numpy()]),
            }
        )
        .filter(pl.Series(in_run[later] | in_run[earlier]))
        .sort("doc_id", "other_doc_id")
    )


def _ranks(state: pl.DataFrame, time: str) -> np.ndarray:
    """Each row's place when the rows are sorted by `time`, ties by doc_id."""
    rank = np.empty(state.height, np.int64)
    rank[state.select(pl.arg_sort_by(time, "doc_id")).to_series().to_numpy()] = np.arange(state.height)
    return rank


def _other_id(doc_ids: pl.Series, rows: np.ndarray) -> pl.Series:
    """The doc_id at each of `rows`, null where a row points to itself."""
    return pl.select(pl.when(pl.Series(rows != np.arange(len(rows)))).then(doc_ids.gather(rows))).to_series()


def _changed(state: pl.DataFrame, fields: pl.DataFrame, columns: tuple[str, ...]) -> pl.Series:
    """Whether any of `columns` differs between the state and the new fields (row by row, nulls compared too)."""
    return reduce(or_, (state[column].ne_missing(fields[column]) for column in columns))
