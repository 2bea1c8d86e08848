"""What is found in one article: header fields, paragraph kinds, entities, quotes with speakers, quantities.

Plain Python and spaCy, no data frames: the extract stage (newsflow.stages.extract) sends
chunks of articles to worker processes, which import only this package and the model.
"""

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial

from newsflow.analysis.extraction import headers
from newsflow.analysis.extraction.entities import (
    NER_PIPES,
    NOT_NER_PIPES,
    PARSING_PIPES,
    canonical_entities,
    load_model,
    mentions,
    surname_mentions,
)
from newsflow.analysis.extraction.quantities import find_quantities
from newsflow.analysis.extraction.quotes import find_quotes, sentences_to_parse
from newsflow.analysis.text import PARAGRAPH_SEPARATOR


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
    quotes: list[tuple] = field(default_factory=list)  # (para_idx, text, speaker, speaker_kind, cue, is_fragment, char_start, char_end)
    quantities: list[tuple] = field(default_factory=list)  # (para_idx, text, kind, value, unit, char_start, char_end)
    problem: tuple[str, str] | None = None  # the quarantine code (newsflow.quarantine.CODES) and its detail


def extract_chunk(model_name: str, articles: Sequence[Article]) -> list[Extraction]:
    """Extract a few articles, running the model over the English ones: NER, then the caption candidates' tags, then the
    parse of the sentences that hold a quotation (those of all the articles in one call)."""
    if not any(a.is_english for a in articles):
        return [_extract(article, None, {}) for article in articles]
    nlp = load_model(model_name)
    # Words first seen in the zone are forgotten when it ends (the Docs too: nothing of them is kept
    # but plain values), so a long-lived worker's memory stays flat.
    with nlp.memory_zone():
        english = [a for a in articles if a.is_english and len(a.text) <= nlp.max_length]
        docs = dict(zip((a.doc_id for a in english), nlp.pipe((a.text for a in english), disable=NOT_NER_PIPES)))
        candidates = [(a.doc_id, i, paragraph) for a in english for i, paragraph in _tag_candidates(a)]
        tagged = {}
        if "tagger" in nlp.pipe_names:
            for (doc_id, i, _), doc in zip(candidates, nlp.pipe((c[2] for c in candidates), disable=NER_PIPES + PARSING_PIPES)):
                tagged.setdefault(doc_id, {})[i] = [(token.text, token.tag_) for token in doc]
        parse = None
        if "parser" in nlp.pipe_names:  # the sentences of every article, parsed in one call
            sentences = list(dict.fromkeys(s for a in english for s in _sentences_to_parse(a)))
            parsed = dict(zip(sentences, nlp.pipe(sentences, disable=NER_PIPES)))
            parse = partial(map, parsed.__getitem__)
        return [
            _too_long(article, nlp.max_length)
            if article.is_english and article.doc_id not in docs
            else _extract(article, docs.get(article.doc_id), tagged, parse)
            for article in articles
        ]


def _sentences_to_parse(article: Article) -> list[str]:
    try:
        return sentences_to_parse(article.text, _paragraph_starts(article.text))
    except Exception:  # the article's extraction fails on it again, and is reported (_extract)
        return []


def _paragraph_starts(text: str) -> list[int]:
    starts, position = [], 0
    for paragraph in text.split(PARAGRAPH_SEPARATOR):
        starts.append(position)
        position += len(paragraph) + len(PARAGRAPH_SEPARATOR)
    return starts


def _too_long(article: Article, max_length: int) -> Extraction:
    extraction = _extract(article, None, {})
    extraction.problem = ("too_long_for_ner", f"{len(article.text)} characters, limit {max_length}")
    return extraction


def _tag_candidates(article: Article) -> list[tuple[int, str]]:
    paragraphs = article.text.split(PARAGRAPH_SEPARATOR)
    return [(i, paragraphs[i]) for i in headers.paragraphs_to_tag(paragraphs)]


def _extract(article: Article, doc, tagged: dict[str, dict[int, headers.Tagged]], parse=None) -> Extraction:
    try:
        return extract_article(article, doc, tagged.get(article.doc_id, {}) if doc is not None else None, parse)
    except Exception as error:  # one odd document must not stop the run: it is reported in quarantine
        return Extraction(article.doc_id, problem=("extraction_failed", f"{type(error).__name__}: {error}"))


def extract_article(article: Article, doc, tagged: dict[int, headers.Tagged] | None, parse=None) -> Extraction:
    """Header fields and paragraph kinds of one article, plus entities, quotes and quantities when a spaCy Doc is given
    (the quotes' speakers when `parse` parses sentences: newsflow.analysis.extraction.quotes.Parse)."""
    text = article.text
    paragraphs = text.split(PARAGRAPH_SEPARATOR)
    starts = _paragraph_starts(text)
    if doc is None:
        return Extraction(article.doc_id, headers.read_headers(paragraphs, article.removed_lines))

    def para_of(offset: int) -> int:
        return bisect_right(starts, offset) - 1

    named, not_quantities = mentions(doc)
    entities = canonical_entities(named)
    people = frozenset(para_of(e.start) for e in entities if e.label == "PERSON")
    header = headers.read_headers(paragraphs, article.removed_lines, people, tagged)
    # conll2003-train entity F1 0.642 -> 0.651 (bare 0.626); polnear-train pronoun/description sources 0.574 -> 0.593.
    entities = surname_mentions(text, entities)
    # A photo caption interrupts the story: the people it names are not who the next `he said` is.
    narrative = [e for e in entities if header.kinds[para_of(e.start)] != headers.CAPTION]
    return Extraction(
        article.doc_id,
        header,
        [(para_of(e.start), e.text, e.label, e.canonical, e.start, e.end) for e in entities],
        [
            (q.para_idx, q.text, q.speaker, q.speaker_kind, q.cue, q.is_fragment, q.start, q.end)
            for q in find_quotes(text, starts, narrative, parse)
        ],
        [(para_of(q.start), q.text, q.kind, q.value, q.unit, q.start, q.end) for q in find_quantities(text, not_quantities)],
    )
