"""headers: line 1 judged headline or not, datelines in their forms, nothing invented on wire copy."""

import pytest

from newsflow.analysis.extraction.headers import BODY, CAPTION, STANDFIRST, TITLE, dateline, paragraph_kinds, read_headers


def test_a_one_paragraph_article_has_no_title_and_its_text_is_body():
    lede = "Die Stadt hat am Montag einen neuen Haushalt beschlossen. " * 40
    headers = read_headers([lede], [])
    assert headers.title is None and headers.kinds == [BODY]


def test_a_first_line_longer_than_a_headline_is_body_and_the_rest_follows():
    first = "Der Stadtrat hat am Montag nach langer Debatte einen neuen Haushalt beschlossen, " * 5
    headers = read_headers([first, "Die Opposition stimmte dagegen."], [])
    assert headers.title is None and headers.kinds == [BODY, BODY]


def test_a_short_first_line_with_text_under_it_is_the_title():
    headers = read_headers(["City council passes budget", "The council voted 7-2 on Monday."], [])
    assert headers.title == "City council passes budget" and headers.kinds[0] == TITLE


@pytest.mark.parametrize(
    ("paragraph", "expected"),
    [
        ("NEW YORK, March 3 - Shares rose.", "NEW YORK, March 3"),
        ("New York, March 23 - Traders said.", "New York, March 23"),
        ("NEW YORK, MARCH 18 - The refiner said.", "NEW YORK, MARCH 18"),
        ("Quito, march 11 - The minister said.", "Quito, march 11"),
        ("MOSCOW (Reuters) - The Kremlin said.", "MOSCOW (Reuters)"),
        ("Wien – Die Regierung hat beschlossen.", "Wien"),
        ("Berlin (dpa) – Der Bundestag hat beschlossen.", "Berlin (dpa)"),
        ("Poland - a large country - joined.", None),
        ("The firm said on March 3 - a Tuesday - that it would.", None),
        ("The firm – a small bank – said.", None),
    ],
)
def test_datelines_in_any_case_with_or_without_an_agency(paragraph, expected):
    assert dateline(paragraph) == expected


def test_figure_lines_under_a_dateline_are_body_not_captions_or_standfirsts():
    paragraphs = ["ACME CORP 1ST QTR NET", "CHICAGO, March 3 - Shr 30 cts vs 5.92 dlrs", "Net 1,200,000 vs 980,000", "Revs 12.1 mln vs 10.3 mln"]
    tagged = {1: [("Shr", "NN"), ("30", "CD"), ("cts", "NNS")], 2: [("Net", "JJ"), ("1,200,000", "CD"), ("vs", "IN"), ("980,000", "CD")]}
    assert paragraph_kinds(paragraphs, frozenset(), tagged) == [TITLE, BODY, BODY, BODY]


def test_figures_in_words_are_figures_when_tagged():
    paragraphs = ["ACME CORP SETS DIVIDEND", "Qtly div two cts vs two cts prior", "The company said it would pay on April 1."]
    tagged = {1: [("Qtly", "JJ"), ("div", "NN"), ("two", "CD"), ("cts", "NNS"), ("vs", "IN"), ("two", "CD"), ("cts", "NNS"), ("prior", "RB")]}
    kinds = paragraph_kinds(paragraphs, frozenset(), tagged)
    assert CAPTION not in kinds and STANDFIRST not in kinds


def tags(*pairs: str) -> list[tuple[str, str]]:
    """`word/TAG` strings as (word, tag) pairs."""
    return [tuple(pair.rsplit("/", 1)) for pair in pairs]


LEDE = "The city has approved its budget. The council met for six hours."


@pytest.mark.parametrize(
    ("line", "tagged", "kind"),
    [
        # headline grammar: the simple present
        ("Facing a deficit, the mayor signs the budget into law", tags("Facing/VBG", "a/DT", "deficit/NN", ",/,", "the/DT", "mayor/NN", "signs/VBZ", "the/DT", "budget/NN", "into/IN", "law/NN"), STANDFIRST),
        # a lede printed without its full stop: the narrative past, or an auxiliary
        ("The city's debt grew in May, officials have said", tags("The/DT", "city/NN", "'s/POS", "debt/NN", "grew/VBD", "in/IN", "May/NNP", ",/,", "officials/NNS", "have/VBP", "said/VBN"), BODY),
        ("Local bakers are now selling more bread online", tags("Local/JJ", "bakers/NNS", "are/VBP", "now/RB", "selling/VBG", "more/JJR", "bread/NN", "online/RB"), BODY),
    ],
)
def test_an_unpunctuated_line_under_the_headline_is_a_standfirst_only_in_headline_grammar(line, tagged, kind):
    assert paragraph_kinds(["City passes budget", line, LEDE], frozenset(), {1: tagged})[1] == kind


def test_a_line_over_figure_lines_is_the_first_row_of_the_table_not_a_standfirst():
    # `TIN GRADE A -` is no dateline (a one-letter word): the line is judged as a header line
    paragraphs = ["METAL VOLUMES - APR 7", "TIN GRADE A - 120 tonnes mainly carries cash nil", "LEAD - 1550 tonnes carries cash 299.50 300.00", "ZINC - 450 tonnes 455.00 nil"]
    tagged = {1: tags("TIN/NNP", "GRADE/NNP", "A/NNP", "-/HYPH", "120/CD", "tonnes/NNS", "mainly/RB", "carries/VBZ", "cash/NN", "nil/NN")}
    assert paragraph_kinds(paragraphs, frozenset(), tagged) == [TITLE, BODY, BODY, BODY]


@pytest.mark.parametrize(
    ("line", "tagged", "kind"),
    [
        ("Mayor Ann Lee and her deputy", tags("Mayor/NNP", "Ann/NNP", "Lee/NNP", "and/CC", "her/PRP$", "deputy/NN"), CAPTION),
        # closed like a sentence: a verbless lede
        ("Ann Lee - tireless, patient - the city's best mayor.", tags("Ann/NNP", "Lee/NNP", "-/:", "tireless/JJ", ",/,", "patient/JJ", "-/:", "the/DT", "city/NN", "'s/POS", "best/JJS", "mayor/NN", "./."), BODY),
        # an opening sentence cut short
        ("Results of the second round of the", tags("Results/NNS", "of/IN", "the/DT", "second/JJ", "round/NN", "of/IN", "the/DT"), BODY),
        # two link texts run together: `In` capitalised after lower-case nouns
        ("The size of the city's budget In charts", tags("The/DT", "size/NN", "of/IN", "the/DT", "city/NN", "'s/POS", "budget/NN", "In/IN", "charts/NNS"), BODY),
    ],
)
def test_a_verbless_label_under_the_headline_is_one_noun_phrase_printed_like_a_headline(line, tagged, kind):
    assert paragraph_kinds(["City passes budget", line, LEDE], frozenset({1}), {1: tagged})[1] == kind
