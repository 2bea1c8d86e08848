"""Entity types stay the model's unless the document names the person in full; dates are not quantities (self-made sentences)."""

import pytest

from newsflow.analysis.extraction.entities import Entity, Mention, canonical_entities, surname_mentions
from newsflow.analysis.extraction.quantities import find_quantities


def typed(text: str, *spans: tuple[str, str]) -> list[tuple[str, str, str]]:
    """(text, label, canonical) of each mention, given as (surface text, model label) in order of appearance."""
    found, position = [], 0
    for surface, label in spans:
        start = text.index(surface, position)
        found.append(Mention(start, start + len(surface), label, surface))
        position = start + len(surface)
    return [(e.text, e.label, e.canonical) for e in canonical_entities(found)]


def test_a_surname_the_model_typed_otherwise_takes_the_person_named_in_full():
    text = "Anna Kowalczyk won. Kowalczyk said she was tired."
    assert typed(text, ("Anna Kowalczyk", "PERSON"), ("Kowalczyk", "ORG")) == [
        ("Anna Kowalczyk", "PERSON", "Anna Kowalczyk"),
        ("Kowalczyk", "PERSON", "Anna Kowalczyk"),
    ]


def test_a_name_the_model_missed_is_the_person_named_in_full_unless_part_of_another_name():
    text = "Anna Kowalczyk won. Kowalczyk’s coach said Kowalczyk Tower was sold; Wen Kowalczyk and Anna Kowalczyk were there."
    found = [
        Entity(0, 14, "PERSON", "Anna Kowalczyk", "Anna Kowalczyk"),
        Entity(text.index("Kowalczyk Tower"), text.index(" was sold"), "FAC", "Kowalczyk Tower", "Kowalczyk Tower"),
        Entity(text.index("Wen"), text.index("Wen") + 3, "PERSON", "Wen", "Wen"),  # the model cut the name short
    ]
    assert [(e.text, e.label, e.canonical) for e in surname_mentions(text, found)] == [
        ("Anna Kowalczyk", "PERSON", "Anna Kowalczyk"),
        ("Kowalczyk", "PERSON", "Anna Kowalczyk"),
        ("Kowalczyk Tower", "FAC", "Kowalczyk Tower"),
        ("Wen", "PERSON", "Wen"),
        ("Anna Kowalczyk", "PERSON", "Anna Kowalczyk"),
    ]


def test_only_a_capitalised_surname_is_looked_for():
    text = "Tom Baker of Leeds won 2-1. The rest of the team lost 2-1."
    found = [Entity(0, 12, "PERSON", "Tom Baker of", "Tom Baker of"), Entity(20, 23, "PERSON", "2-1", "Tom 2-1")]
    assert surname_mentions(text, found) == found


def test_a_place_sharing_a_first_name_stays_a_place():
    text = "Jordan Fenwick flew to Jordan, where Fenwick spoke."
    assert typed(text, ("Jordan Fenwick", "PERSON"), ("Jordan", "GPE"), ("Fenwick", "PERSON")) == [
        ("Jordan Fenwick", "PERSON", "Jordan Fenwick"),
        ("Jordan", "GPE", "Jordan"),
        ("Fenwick", "PERSON", "Jordan Fenwick"),
    ]


def test_a_word_the_model_calls_a_person_elsewhere_takes_the_full_name_it_opens():
    text = "Li Wenhua arrived. Li met the press at the Li hall."
    assert typed(text, ("Li Wenhua", "PERSON"), ("Li", "PERSON"), ("Li", "FAC"))[2] == ("Li", "PERSON", "Li Wenhua")


def test_a_name_not_shaped_like_a_person_is_not_spread():
    text = "MARKET WATCH - Halbrook rose. Halbrook shares fell."
    assert typed(text, ("MARKET WATCH - Halbrook", "PERSON"), ("Halbrook", "ORG"))[1] == ("Halbrook", "ORG", "Halbrook")


@pytest.mark.parametrize(
    "text",
    [
        "the towers fell on 11 September",
        "they met on September 11 in the capital",
        "the Sept. 11 attacks",
        "on the 11th of March",
        "the 3rd time, in the 21st century",
        "growth in the 1990s and the '80s",
        "in 2023 prices rose",
        "by March 2024",
    ],
)
def test_dates_are_not_quantities(text):
    assert find_quantities(text, []) == []


def test_counts_beside_dates_are_kept():
    found = [(q.text, q.value) for q in find_quantities("in March 300 people and 1500 troops left; a crowd of 2000 people", [])]
    assert found == [("300 people", 300.0), ("1500 troops", 1500.0), ("2000 people", 2000.0)]


def test_figures_run_into_a_name_are_not_part_of_it():
    text = "T.J. Marlowe 117 not out. Marlowe batted on."
    assert typed(text, ("T.J. Marlowe 117", "PERSON"), ("Marlowe", "GPE")) == [
        ("T.J. Marlowe 117", "PERSON", "T.J. Marlowe"),
        ("Marlowe", "PERSON", "T.J. Marlowe"),
    ]
