"""groups: find the copies and stories of a run's documents, once per run, among everything published.

The signatures stage leaves, batch after batch, the signature rows of the run's documents (staged
on disk in a flow run); this stage takes all of them (batch.signatures) after the last batch. The
published `signatures` table is the index it compares them with: every current document's band
keys, story terms and groups (a deleted document has no row). The groups of documents are
self-contained: every document belongs to one story group, the documents linked by similar story
terms or by copies, and a document's copies, story and story id depend on its story group alone. So
a run recomputes, over its own documents and the published story groups they join, what a full
refresh would compute over everything, and leaves the other groups as they are:

- the story groups it joins are those of the published documents that share a band key with one
  of the run's documents (candidates for near or exact copies), that hold a term of a run's document's
  indexed part and are similar enough to it (stories.indexed_terms), that the run changes (a changed
  file) or that it deletes (a file was removed), found in one pass over the index that holds no
  more than its matches; a changed document keeps the time it was first seen;
- exact copies share a normalised-text hash; exact_dup_of is the earliest (first ingested, ties
  by doc_id) document of that hash;
- near copies are pairs at word 5-gram Jaccard at or above the threshold, found among distinct
  texts (duplicates.near_pairs) and joined transitively with the exact copies; near_dup_of is
  the group's earliest document;
- stories are average-linkage clusters of similar story terms (see stories.py), with copies
  always together; story_id is the story's first-seen document (ties by doc_id).

It returns the duplicate pairs that involve the run's documents, the stories that a document of the
run, or one that moved, enters or leaves, the signature rows that changed, and one document_updates frame setting the four fields
of every document of the run and of every earlier document whose fields changed (a null sets the
field to null); batch.replaced names the earlier rows of each table these replace.

The shingles, ~3 KB a document, are not held with the state: the run's are read part by part from
its signature rows, the recomputed groups' once from the published table.
"""

from collections.abc import Iterator
from functools import reduce
from operator import or_

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from scipy.sparse import csr_matrix

from newsflow.analysis.shingles import (
    LSH_BANDS,
    Shingles,
    band_keys,
    earliest_of_components,
    jaccard,
    near_pairs,
    pairs_within_runs,
)
from newsflow.analysis.stories import indexed_terms, story_edges, story_rows, term_vectors, vectors_in, weighted_terms
from newsflow.batch import Batch
from newsflow.contracts import Contract, load_contract
from newsflow.settings import Settings
from newsflow.stages.signatures import SIGNATURE_COLUMNS
from newsflow.storage.tables import exists, published_files, read_batches, table_path

DUPLICATE_FIELDS = ("exact_dup_of", "near_dup_of", "near_dup_similarity")
GROUP_FIELDS = (*DUPLICATE_FIELDS, "story_id")
STATE_COLUMNS = tuple(column for column in SIGNATURE_COLUMNS if column != "shingles")
ROUNDING = 1e-9  # more than a cosine's rounding error, computed in another order


def run(batch: Batch, settings: Settings) -> Batch:
    fresh = batch.signatures
    if fresh is None and (batch.sources or batch.documents is not None):  # documents came, unsigned
        raise ValueError("the groups stage needs the signatures the signatures stage builds: run signatures first")
    deleted = pl.concat([u.filter(pl.col("is_deleted"))["doc_id"] for u in batch.document_updates if "is_deleted" in u.columns] + [pl.Series("doc_id", [], pl.String)])
    rows = state_rows(fresh) if fresh is not None else None
    if (rows is None or rows.is_empty()) and deleted.is_empty():  # nothing new: the published groups stand
        return batch.updated(signatures=None)
    contract = load_contract(settings.contracts_dir, "signatures")
    if rows is None:
        rows = pl.DataFrame(schema=contract.polars_schema(*STATE_COLUMNS))
    index = None if settings.full_refresh or not exists(settings.output_dir, "signatures") else published_files(table_path(settings.output_dir, "signatures"))
    replaced = pl.concat([rows["doc_id"], deleted]).unique()
    earlier, seen, shingles = joined_groups(index, rows, replaced, contract, settings.story_similarity)
    if not seen.is_empty():  # a changed document keeps the time it was first seen
        first_seen = rows.select("doc_id").join(seen, on="doc_id", how="left", maintain_order="left")["first_seen_at"]
        rows = rows.with_columns(first_seen_at=pl.coalesce(first_seen, "first_seen_at"))
    state = pl.concat([earlier, rows], how="diagonal_relaxed")
    in_run = state["doc_id"].is_in(rows["doc_id"].implode())
    parts = lambda: [*shingles.iter_slices(), *_shingle_parts(fresh)] if fresh is not None else shingles.iter_slices()
    sets = Shingles(state["doc_id"], parts)
    # rows written before band keys were kept (the first run after an upgrade reads them all) get theirs
    unbanded = (state["bands"].is_null() & state["text_sha256"].is_not_null()).to_numpy()
    if unbanded.any():
        keys = pl.Series([row for row in band_keys(sets.minhashes(np.flatnonzero(unbanded))).view(np.int64)], dtype=pl.List(pl.Int64))
        state = state.with_columns(bands=pl.when(pl.Series(unbanded)).then(keys).otherwise(pl.col("bands")))
    fields, pairs = group_fields(state, sets, in_run.to_numpy(), settings)
    regrouped = _changed(state, fields, DUPLICATE_FIELDS) & ~in_run
    moved = _changed(state, fields, ("story_id",)) & ~in_run
    updates = fields.drop("story_group").filter(in_run | regrouped | moved)
    signatures = state.with_columns(fields.drop("doc_id"))
    # the stories a document enters or leaves: the others of the recomputed groups keep their rows and files
    touched = pl.concat([fields.filter(in_run | moved)["story_id"], state.filter(moved)["story_id"], seen["story_id"]]).drop_nulls()
    stories = story_rows(signatures.filter(pl.col("story_id").is_in(touched.implode())).select("title", "first_seen_at", "doc_id", "story_id"))
    written = signatures.filter(in_run | pl.Series(unbanded) | _changed(state, fields, (*GROUP_FIELDS, "story_group")))
    documents = batch.documents
    if documents is not None and not documents.is_empty():  # when the run is one batch, its documents get their fields now
        documents = documents.drop(GROUP_FIELDS, strict=False).join(updates, on="doc_id", how="left", maintain_order="left")
    return batch.updated(
        documents=documents,
        duplicates=pairs.with_columns(run_id=pl.lit(batch.run_id)),
        stories=stories,
        signatures=written,
        shingles=parts,
        document_updates=updates,
        replaced={
            "signatures": set(written["doc_id"]) | set(deleted),
            "stories": set(touched),
            "duplicates": set(replaced),
        },
        counts={
            "exact_duplicates": fields.filter(in_run)["exact_dup_of"].is_not_null().sum(),
            "near_duplicates": fields.filter(in_run & pl.col("exact_dup_of").is_null())["near_dup_of"].is_not_null().sum(),
            "duplicate_pairs": pairs.height,
            "earlier_documents_regrouped": regrouped.sum(),
            "stories": stories.height,
            "earlier_documents_moved_story": moved.sum(),
            "earlier_documents_compared": earlier.height,
        },
    )


def joined_groups(
    index: ds.Dataset | None, rows: pl.DataFrame, replaced: pl.Series, contract: Contract, threshold: float
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The published documents of the story groups the run's rows join (none on a full refresh or a first run),
    without the replaced ones; the doc_id, first_seen_at and story_id of the replaced ones; and the shingles
    (doc_id and shingles) of the first.

    One pass over the index finds the groups: those of the replaced documents, of the documents sharing a
    band key with a run's document, and of those similar in story terms to one (a term of a run's document's
    indexed part, then the cosine). A second pass reads their documents, a third their shingles. Rows written
    before there were story groups have none: they are all read, once, and get theirs.
    """
    columns = [column.name for column in contract.columns if column.name != "shingles"]
    earlier = pl.DataFrame(schema=contract.polars_schema(*columns))
    seen = pl.DataFrame(schema=contract.polars_schema("doc_id", "first_seen_at", "story_id"))
    shingles = pl.DataFrame(schema=contract.polars_schema("doc_id", "shingles"))
    if index is None:
        return earlier, seen, shingles
    bands = rows["bands"].explode().drop_nulls().unique().implode()
    vectors, vocabulary = weighted_terms(rows["story_terms"])  # the run's, once: each part's candidates are weighted alone
    terms = pl.Series(indexed_terms(vectors, vocabulary, threshold), dtype=pl.String).implode()
    groups, seen = set(), [seen]
    for part in read_batches(index, ["doc_id", "first_seen_at", "story_id", "story_group", "bands", "story_terms"]):
        part = pl.from_arrow(part)
        is_replaced = part["doc_id"].is_in(replaced.implode())
        seen.append(part.filter(is_replaced).select(seen[0].columns))
        others = part.filter(~is_replaced)
        copies = others.filter(pl.col("bands").list.eval(pl.element().is_in(bands)).list.any())
        candidates = others.filter(pl.col("story_terms").list.eval(pl.element().is_in(terms)).list.any())
        groups |= set(part.filter(is_replaced)["story_group"]) | set(copies["story_group"]) | set(similar(vectors, vocabulary, candidates, threshold))
    keep = pc.field("story_group").isin(pa.array(sorted(groups - {None}), pa.string())) | pc.field("story_group").is_null()
    keep &= ~pc.field("doc_id").isin(replaced.to_arrow())
    earlier = pl.concat([earlier, *(pl.from_arrow(batch) for batch in read_batches(index, columns, keep))])
    wanted = pc.field("doc_id").isin(earlier["doc_id"].to_arrow())
    shingles = pl.concat([shingles, *(pl.from_arrow(batch) for batch in read_batches(index, ["doc_id", "shingles"], wanted))])
    return earlier, pl.concat(seen), shingles


def similar(vectors: csr_matrix, vocabulary: list[str], candidates: pl.DataFrame, threshold: float) -> list[str]:
    """The story groups of the candidates at story-term cosine `threshold` or more from one of the run's rows
    (`vectors` and their `vocabulary`, from weighted_terms)."""
    if candidates.is_empty() or not vectors.shape[0]:
        return []
    products = (vectors @ vectors_in(candidates["story_terms"], vocabulary).T).tocoo()
    # a little below the threshold too: a group read for nothing costs little, one missed changes the answer
    return candidates["story_group"].gather(np.unique(products.col[products.data >= threshold - ROUNDING])).to_list()


def state_rows(fresh: pl.DataFrame | ds.Dataset) -> pl.DataFrame:
    """The run's signature rows (in memory, or the staged parts) without their shingles."""
    if isinstance(fresh, ds.Dataset):
        return pl.from_arrow(fresh.to_table(columns=list(STATE_COLUMNS)))
    return fresh.select(STATE_COLUMNS)


def _shingle_parts(data: pl.DataFrame | ds.Dataset) -> Iterator[pl.DataFrame]:
    if isinstance(data, pl.DataFrame):
        return data.select("doc_id", "shingles").iter_slices()
    return (pl.from_arrow(batch) for batch in read_batches(data, ["doc_id", "shingles"]))


def group_fields(state: pl.DataFrame, shingles: Shingles, in_run: np.ndarray, settings: Settings) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The group fields and story group of every document of `state` (with doc_id, in state order), and the
    duplicate pairs that involve a document of the run."""
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

    distinct = by_text[starts]
    keys = state["bands"].gather(distinct).explode().to_numpy().view(np.uint64).reshape(len(distinct), LSH_BANDS)
    near = near_pairs(shingles, distinct, keys, settings.near_duplicate_jaccard)
    near_of = earliest_of_components(
        rank, np.concatenate([near["first"].to_numpy(), by_text]), np.concatenate([near["second"].to_numpy(), exact_of[by_text]])
    )
    copies = rows[near_of != rows]
    similarity = np.full(len(rows), np.nan)
    sets = shingles.of_rows(np.union1d(copies, near_of[copies]))
    similarity[copies] = [jaccard(sets[row], sets[near_of[row]]) for row in copies]

    heads, clustered, (firsts, seconds) = story_edges(term_vectors(state["story_terms"]), doc_ids.to_list(), settings.story_similarity)
    story_of = earliest_of_components(story_rank, np.concatenate([heads, copies]), np.concatenate([clustered, near_of[copies]]))
    group_of = earliest_of_components(story_rank, np.concatenate([firsts, copies]), np.concatenate([seconds, near_of[copies]]))

    fields = pl.DataFrame(
        {
            "doc_id": doc_ids,
            "exact_dup_of": _other_id(doc_ids, exact_of),
            "near_dup_of": _other_id(doc_ids, near_of),
            "near_dup_similarity": pl.Series(similarity, nan_to_null=True),
            "story_id": doc_ids.gather(story_of),
            "story_group": doc_ids.gather(group_of),
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
