"""Quotations in every mark convention, and speakers read from the attribution's grammar (self-made sentences)."""

from functools import partial

from newsflow.analysis.extraction.entities import NER_PIPES, NOT_NER_PIPES, canonical_entities, load_model, mentions
from newsflow.analysis.extraction.quotes import find_quotes, quotation_spans


def quotes_of(*paragraphs: str) -> list[tuple[str, str | None, str | None]]:
    nlp = load_model("en_core_web_sm")
    text = "\n\n".join(paragraphs)
    starts, position = [], 0
    for paragraph in paragraphs:
        starts.append(position)
        position += len(paragraph) + 2
    entities = canonical_entities(mentions(nlp(text, disable=NOT_NER_PIPES))[0])
    return [(q.text, q.speaker, q.speaker_kind) for q in find_quotes(text, starts, entities, partial(nlp.pipe, disable=NER_PIPES))]


def test_two_apostrophes_are_a_double_mark_and_a_single_closing_before_a_double_closes():
    text = "He said ''we are ready'' and left. \"She called it 'a disgrace,'\" he added. \"Next one,\" he said."
    assert [text[a:b].lstrip("'\"") for a, b in quotation_spans(text)] == ["we are ready", "She called it 'a disgrace,'", "Next one,"]


def test_the_speaker_is_the_subject_not_the_addressee_or_the_medium():
    found = quotes_of(
        "Senator Maria Lopez spoke in Denver on Monday.",
        "“We will keep fighting for these families,” Lopez told CNN.",
        "“Nobody should be surprised by this decision,” she wrote on Twitter.",
    )
    assert [(speaker, kind) for _, speaker, kind in found] == [("Maria Lopez", "person"), ("Maria Lopez", "person")]


def test_a_name_after_a_title_abbreviation_and_an_apposition():
    found = quotes_of(
        "“This bill is a disaster for our farmers,” said Rep. John Q. Carter.",
        "Anna Berg, a spokeswoman for Northwind Energy, said the company “will not close a single plant this year.”",
    )
    assert [speaker.split()[-1] for _, speaker, _ in found] == ["Carter", "Berg"]
