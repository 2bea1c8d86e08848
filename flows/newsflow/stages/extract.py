"""extract: headline fields, paragraph roles, and the entities, quotes and quantities tables.

Every document gets its header fields (subtitle, byline, published_at, dateline) and the kind
of each paragraph (title, standfirst, caption, body). English documents (documents.lang ==
"en") also go through the spaCy model for named entities, quotations with their speakers and
quantities; documents in other languages get none of these (the cues are English). What is
found in one article is newsflow.analysis.extraction's work; this stage builds the tables.

The model runs in worker processes when there are enough English documents to pay for
starting them (newsflow.runtime.workers: in a flow run, the same workers serve every batch).
"""

from collections.abc import Iterator, Sequence
from dataclasses import replace
from functools import partial
from itertools import chain

import polars as pl

from newsflow import quarantine
from newsflow.analysis.extraction import Article, Extraction, extract_chunk, headers
from newsflow.analysis.extraction.entities import installed_package, load_model
from newsflow.batch import Batch
from newsflow.contracts import load_contract
from newsflow.runtime import workers
from newsflow.runtime.progress import track
from newsflow.settings import Settings

ENGLISH = "en"
DOCUMENT_FIELDS = ("title", "subtitle", "byline", "published_at", "published_at_raw", "dateline")
STATED_FIELDS = ("byline", "published_at", "published_at_raw")
# Starting a worker (import spaCy, load the model) costs about as much as running NER on this many documents.
_MIN_DOCUMENTS_PER_PROCESS = 100
# Articles per call to a worker, and their characters. The model's working memory grows
# with the characters it reads at once: on 800 bbc-news articles, a worker peaked at ~0.45 GB with chunks of 32
# articles, 0.28 with 8 (a 19,138-character article among 7 others), 0.20 with 8 and at most 16,000 characters
# (that article alone), at the same speed (23.6 against 23.3 docs/s in one process).
_CHUNK_SIZE = 8
_CHUNK_CHARACTERS = 16_000


def start(batch: Batch, settings: Settings) -> None:
    """Start the batch's NER in the worker processes without waiting; `run` over the same batch collects it.

    Only inside workers.kept() (a flow run's workers) and when the batch has enough English documents for the pool:
    the flow's process meanwhile computes the batch's signatures, then reads the next batch.
    """
    articles = _articles(batch.documents)
    if workers.is_kept() and ner_processes(settings, sum(a.is_english for a in articles)) > 1:
        _started[_batch_key(batch)] = (articles, extract_articles(articles, settings))
        for key in list(_started)[:-_STARTED_KEPT]:  # a batch started and never collected (its run failed) is dropped
            del _started[key]


# NER started by `start` and not collected yet, by run and batch: the batch being finished and the next one, at most.
_STARTED_KEPT = 2
_started: dict[tuple, tuple[list[Article], Iterator[Extraction]]] = {}


def _batch_key(batch: Batch) -> tuple:
    return batch.run_id, batch.index


def _articles(documents: pl.DataFrame) -> list[Article]:
    lang = pl.col("lang") if "lang" in documents.columns else pl.lit(None, dtype=pl.String)  # before the language stage: none is English
    return [
        Article(doc_id, text, tuple(headers.RemovedLine(**line) for line in removed or ()), language == ENGLISH)
        for doc_id, text, removed, language in documents.select("doc_id", "text", "removed_lines", lang.alias("lang")).iter_rows()
    ]


def run(batch: Batch, settings: Settings) -> Batch:
    documents = batch.documents
    articles = _articles(documents)
    started, extracting = _started.pop(_batch_key(batch), (None, None))
    extractions = list(extracting if started == articles else extract_articles(articles, settings))

    found = [e for e in extractions if e.header is not None]
    fields = pl.DataFrame(
        [{"doc_id": e.doc_id, **{name: getattr(e.header, name) for name in DOCUMENT_FIELDS}} for e in found],
        schema=load_contract(settings.contracts_dir, "documents").polars_schema("doc_id", *DOCUMENT_FIELDS),
    )
    # What an HTML page or a record states (ingest) wins over what its text's header lines say.
    stated = [name for name in STATED_FIELDS if name in documents.columns]
    documents = (
        documents.drop([name for name in DOCUMENT_FIELDS if name not in stated], strict=False)
        .join(fields, on="doc_id", how="left", suffix="_read")
        .with_columns(pl.coalesce(name, f"{name}_read").alias(name) for name in stated)
        .drop([f"{name}_read" for name in stated])
    )
    kinds = pl.DataFrame(
        [(e.doc_id, i, kind) for e in found for i, kind in enumerate(e.header.kinds)],
        schema={"doc_id": pl.String, "para_idx": pl.Int64, "extracted_kind": pl.String},
        orient="row",
    )
    paragraphs = (
        batch.paragraphs.join(kinds, on=["doc_id", "para_idx"], how="left")
        .with_columns(kind=pl.coalesce("extracted_kind", "kind"))
        .select(batch.paragraphs.columns)
    )
    tables = {
        table: _table(settings, table, [(e.doc_id, *row) for e in extractions for row in getattr(e, table)])
        for table in ("entities", "quotes", "quantities")
    }
    source_uris = dict(documents.select("doc_id", "source_uri").iter_rows())
    quarantined = [
        quarantine.record(e.problem[0], detail=e.problem[1], doc_id=e.doc_id, source_uri=source_uris[e.doc_id])
        for e in extractions
        if e.problem
    ]
    kind_counts = paragraphs["kind"].value_counts()
    counts = {
        "documents_extracted": len(found),
        "documents_not_english": sum(not a.is_english for a in articles),
        "documents_with_published_at": fields["published_at"].is_not_null().sum(),
        "captions": int(kind_counts.filter(pl.col("kind") == headers.CAPTION)["count"].sum()),
        "standfirsts": int(kind_counts.filter(pl.col("kind") == headers.STANDFIRST)["count"].sum()),
        "entities": tables["entities"].height,
        "quotes": tables["quotes"].height,
        "quotes_with_speaker": tables["quotes"]["speaker"].is_not_null().sum(),
        "quantities": tables["quantities"].height,
        "documents_extraction_incomplete": len(quarantined),
    }
    return batch.updated(documents=documents, paragraphs=paragraphs, counts=counts, quarantined=quarantined, **tables)


def _table(settings: Settings, table: str, rows: list[tuple]) -> pl.DataFrame:
    contract = load_contract(settings.contracts_dir, table)
    return pl.DataFrame(rows, schema=contract.polars_schema(*(c.name for c in contract.columns)), orient="row")


def ner_processes(settings: Settings, n_english: int) -> int:
    """The processes that run the model over `n_english` English articles; under 2, the flow's process does."""
    return min(settings.ner_processes, n_english // _MIN_DOCUMENTS_PER_PROCESS)


def start_workers(settings: Settings, articles: int) -> None:
    """Start the workers that will run the model over a batch of `articles` (if English), loading it, without waiting."""
    if (processes := ner_processes(settings, articles)) > 1:
        workers.start(processes, partial(load_model, settings.spacy_model))


def extract_articles(articles: Sequence[Article], settings: Settings) -> Iterator[Extraction]:
    """The extraction of every article, in order; the model runs in worker processes when there are enough English articles
    (the calls are submitted to them at once, and their results read as the iterator is).

    A text is analysed once: an article with the text, removed lines and language of an earlier one of the batch
    (an exact copy) gets that one's extraction under its own doc_id.
    """
    first_of: dict[tuple, Article] = {}
    distinct = [article for article in articles if first_of.setdefault(_analysed(article), article) is article]
    n_english = sum(a.is_english for a in distinct)
    if n_english:
        installed_package(settings.spacy_model)  # fail here, with the install command, rather than in every worker
    processes = ner_processes(settings, n_english)
    results = workers.map_in_order(partial(extract_chunk, settings.spacy_model), list(_chunks(distinct)), processes, "NEWSFLOW_NER_PROCESSES")

    def in_order() -> Iterator[Extraction]:
        extracted = {result.doc_id: result for _, result in zip(track(distinct, "extract"), chain.from_iterable(results))}
        yield from (replace(extracted[first_of[_analysed(article)].doc_id], doc_id=article.doc_id) for article in articles)

    return in_order()


def _analysed(article: Article) -> tuple:
    """What an extraction depends on."""
    return article.text, article.removed_lines, article.is_english


def _chunks(articles: Sequence[Article]) -> Iterator[list[Article]]:
    """The articles in order, in calls of at most _CHUNK_SIZE articles and _CHUNK_CHARACTERS characters (a longer article goes alone)."""
    chunk, characters = [], 0
    for article in articles:
        if chunk and (len(chunk) == _CHUNK_SIZE or characters + len(article.text) > _CHUNK_CHARACTERS):
            yield chunk
            chunk, characters = [], 0
        chunk.append(article)
        characters += len(article.text)
    if chunk:
        yield chunk
