"""extract: headline fields, paragraph roles, and the entities, quotes and quantities tables.

Every document gets its header fields (subtitle, byline, published_at, dateline) and the kind
of each paragraph (title, standfirst, caption, body). English documents (documents.lang ==
"en") also go through the spaCy model for named entities, quotations with their speakers and
quantities; documents in other languages get none of these (the cues are English).

The model runs in worker processes when there are enough English documents to pay for
starting them (newsflow.workers: in a flow run, the same workers serve every batch).
"""

from bisect import bisect_right
from collections.abc import Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from itertools import chain

import polars as pl

from newsflow.batch import Batch
from newsflow.catalog import load_contract
from newsflow.progress import track
from newsflow.settings import Settings
from newsflow.workers import pool as workers_pool
from newsflow.stages.clean import PARAGRAPH_SEPARATOR
from newsflow.stages.extract import headers
from newsflow.stages.extract.entities import (
    NER_PIPES,
    TAGGING_PIPES,
    canonical_entities,
    installed_package,
    load_model,
    mentions,
)
from newsflow.stages.extract.quantities import find_quantities
from newsflow.stages.extract.quotes import find_quotes

ENGLISH = "en"
DOCUMENT_FIELDS = ("subtitle", "byline", "published_at", "published_at_raw", "dateline")
# Starting a worker (import spaCy, load the model) costs about as much as running NER on this many documents.
_MIN_DOCUMENTS_PER_PROCESS = 100
_CHUNK_SIZE = 32


@dataclass(frozen=True)
class Article:
    doc_id: str
    text: str
    removed_lines: tuple[headers.RemovedLine, ...]
    is_english: bool


@dataclass
class Extraction:
    doc_id: str
    header: headers.Headers | None = None
    entities: list[tuple] = field(default_factory=list)  # (para_idx, text, label, canonical, char_start, char_end)
    quotes: list[tuple] = field(default_factory=list)  # (para_idx, text, speaker, cue, is_fragment, char_start, char_end)
    quantities: list[tuple] = field(default_factory=list)  # (para_idx, text, kind, value, unit, char_start, char_end)
    problem: dict | None = None  # code, reason and detail of a quarantine record


def run(batch: Batch, settings: Settings) -> Batch:
    documents = batch.documents
    lang = pl.col("lang") if "lang" in documents.columns else pl.lit(None, dtype=pl.String)  # before the language stage: none is English
    articles = [
        Article(doc_id, text, tuple(headers.RemovedLine(**line) for line in removed or ()), language == ENGLISH)
        for doc_id, text, removed, language in documents.select("doc_id", "text", "removed_lines", lang.alias("lang")).iter_rows()
    ]
    extractions = list(extract_articles(articles, settings))

    found = [e for e in extractions if e.header is not None]
    fields = pl.DataFrame(
        [{"doc_id": e.doc_id, **{name: getattr(e.header, name) for name in DOCUMENT_FIELDS}} for e in found],
        schema=load_contract(settings.contracts_dir, "documents").polars_schema("doc_id", *DOCUMENT_FIELDS),
    )
    documents = documents.drop(DOCUMENT_FIELDS, strict=False).join(fields, on="doc_id", how="left")
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
        {"stage": "extract", "doc_id": e.doc_id, "source_uri": source_uris[e.doc_id], **e.problem} for e in extractions if e.problem
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


def extract_articles(articles: Sequence[Article], settings: Settings) -> Iterator[Extraction]:
    """The extraction of every article, in order; the model runs in worker processes when there are enough English articles."""
    n_english = sum(a.is_english for a in articles)
    processes = min(settings.ner_processes, n_english // _MIN_DOCUMENTS_PER_PROCESS)
    chunks = [articles[i : i + _CHUNK_SIZE] for i in range(0, len(articles), _CHUNK_SIZE)]
    if n_english:
        installed_package(settings.spacy_model)  # fail here, with the install command, rather than in every worker
    if processes > 1:
        with workers_pool(processes) as pool:
            results = chain.from_iterable(pool.map(extract_chunk, [settings.spacy_model] * len(chunks), chunks))
            try:
                yield from (result for _, result in zip(track(articles, "extract"), results))
            except BrokenProcessPool as error:
                raise RuntimeError(
                    "an NER worker process died (out of memory, or started from a script without an "
                    "`if __name__ == \"__main__\":` guard): guard the script, or set NEWSFLOW_NER_PROCESSES=1"
                ) from error
    else:
        results = chain.from_iterable(extract_chunk(settings.spacy_model, chunk) for chunk in chunks)
        yield from (result for _, result in zip(track(articles, "extract"), results))


def extract_chunk(model_name: str, articles: Sequence[Article]) -> list[Extraction]:
    """Extract a few articles, running the model over the English ones in two batches: NER, then the caption candidates' tags."""
    if not any(a.is_english for a in articles):
        return [_extract(article, None, {}) for article in articles]
    nlp = load_model(model_name)
    english = [a for a in articles if a.is_english and len(a.text) <= nlp.max_length]
    docs = dict(zip((a.doc_id for a in english), nlp.pipe((a.text for a in english), disable=TAGGING_PIPES)))
    candidates = [(a.doc_id, i, paragraph) for a in english for i, paragraph in _tag_candidates(a)]
    tagged = {}
    if "tagger" in nlp.pipe_names:
        for (doc_id, i, _), doc in zip(candidates, nlp.pipe((c[2] for c in candidates), disable=NER_PIPES)):
            tagged.setdefault(doc_id, {})[i] = [(token.text, token.tag_) for token in doc]
    return [
        _too_long(article, nlp.max_length)
        if article.is_english and article.doc_id not in docs
        else _extract(article, docs.get(article.doc_id), tagged)
        for article in articles
    ]


def _too_long(article: Article, max_length: int) -> Extraction:
    extraction = _extract(article, None, {})
    extraction.problem = {
        "code": "too_long_for_ner",
        "reason": "text is longer than the NER model reads: published without entities, quotes or quantities; "
        "split the article into smaller files",
        "detail": f"{len(article.text)} characters, limit {max_length}",
    }
    return extraction


def _tag_candidates(article: Article) -> list[tuple[int, str]]:
    paragraphs = article.text.split(PARAGRAPH_SEPARATOR)
    return [(i, paragraphs[i]) for i in headers.paragraphs_to_tag(paragraphs)]


def _extract(article: Article, doc, tagged: dict[str, dict[int, headers.Tagged]]) -> Extraction:
    try:
        return extract_article(article, doc, tagged.get(article.doc_id, {}) if doc is not None else None)
    except Exception as error:  # one odd document must not stop the run: it is reported in quarantine
        problem = {
            "code": "extraction_failed",
            "reason": "extraction failed on this document: it is published without header fields, entities, quotes or "
            "quantities; report the file with this detail",
            "detail": f"{type(error).__name__}: {error}",
        }
        return Extraction(article.doc_id, problem=problem)


def extract_article(article: Article, doc, tagged: dict[int, headers.Tagged] | None) -> Extraction:
    """Header fields and paragraph kinds of one article, plus entities, quotes and quantities when a spaCy Doc is given."""
    text = article.text
    paragraphs = text.split(PARAGRAPH_SEPARATOR)
    starts, position = [], 0
    for paragraph in paragraphs:
        starts.append(position)
        position += len(paragraph) + len(PARAGRAPH_SEPARATOR)
    if doc is None:
        return Extraction(article.doc_id, headers.read_headers(paragraphs, article.removed_lines))

    def para_of(offset: int) -> int:
        return bisect_right(starts, offset) - 1

    named, not_quantities = mentions(doc)
    entities = canonical_entities(named)
    people = frozenset(para_of(e.start) for e in entities if e.label == "PERSON")
    return Extraction(
        article.doc_id,
        headers.read_headers(paragraphs, article.removed_lines, people, tagged),
        [(para_of(e.start), e.text, e.label, e.canonical, e.start, e.end) for e in entities],
        [(q.para_idx, q.text, q.speaker, q.cue, q.is_fragment, q.start, q.end) for q in find_quotes(text, starts, entities)],
        [(para_of(q.start), q.text, q.kind, q.value, q.unit, q.start, q.end) for q in find_quantities(text, not_quantities)],
    )
