"""Headline fields and the role of each paragraph: standfirst, photo caption or body.

Fields come only from what the article prints: the publication time and the byline from the
lines the clean stage moved out of the text (rules `publication_line`, `date_line`, `byline`),
the dateline from the opening of the first body paragraph. A photo caption is recognised by
its credit, its position-marker or its picture-description grammar (a present-tense verb and a
closing date, or no verb at all under the headline); a standfirst is the headline-style line
under the headline.
"""

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import dateparser

from newsflow.analysis.extraction.sentences import sentence_ends

TITLE, STANDFIRST, CAPTION, BODY = "title", "standfirst", "caption", "body"

PUBLICATION_LINE, DATE_LINE, BYLINE = "publication_line", "date_line", "byline"
# A bare date is the publication date only under the headline (headline, standfirst, caption, byline and
# the blank lines between them); further down it heads a timeline entry.
_HEADER_LINES = 9

# (word, Penn Treebank tag) pairs of a paragraph.
Tagged = list[tuple[str, str]]

_MONTH = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
_DATE_WITH_YEAR = (
    rf"(?:{_MONTH}\s+{_DAY},?\s+\d{{4}}|{_DAY}\s+(?:of\s+)?{_MONTH},?\s+\d{{4}}"
    r"|\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.]\d{1,2}[/.]\d{4})"
)
_TIME = r"\d{1,2}[:.]\d{2}(?:[:.]\d{2})?(?:\s*[ap]\.?m\b\.?)?"
_DATE_TIME = re.compile(rf"\b{_DATE_WITH_YEAR}(?:(?:\s*[,|]\s*|\s+(?:at\s+)?|T){_TIME})?", re.IGNORECASE)
_UPDATE_LINE = re.compile(r"\W*(?:last\s+)?updated\b", re.IGNORECASE)
_DATEPARSER_SETTINGS = {"REQUIRE_PARTS": ["day", "month", "year"], "RETURN_AS_TIMEZONE_AWARE": False}

_BYLINE_PREFIX = re.compile(r"^\W*(?:(?:written|reported|words|story|text)\s+)?by\s+", re.IGNORECASE)
_BYLINE_END = re.compile(rf"\s*(?:[|•·]|[,–—-]?\s*\b(?:published|updated|posted)\b|[,–—-]?\s*{_DATE_WITH_YEAR}).*$", re.IGNORECASE)

# `MOSCOW (Reuters) -`, `KYIV, Ukraine (AP) —`, `NEW YORK, March 2 -`, `(Reuters) -`, `BEIJING, March 21 (Xinhua) --`,
# `New York, March 23 -` (title case needs the date), `NEW YORK, MARCH 18 -`, `Quito, march 11 -`, `Wien – `, `Berlin (dpa) – `.
_PLACE_CAPS = r"[A-Z][A-Z.'’-]+(?:\s+[A-Z][A-Z.'’-]+)*(?:,\s+[A-Z][A-Za-z.]+(?:\s+[A-Z][A-Za-z.]+)*)?"
_PLACE = r"[A-Z][\w.'’-]+(?:\s+[A-Z][\w.'’-]+)*(?:,\s+[A-Z][\w.]+(?:\s+[A-Z][\w.]+)*)?"
# The month in any case: wire copy prints `March 3`, `MARCH 18` and `march 11` (reuters-dev: 23 of 1,000 upper or lower case; 0 datelines found on bbc-news, which has none).
_DATELINE_DATE = r",?\s+(?i:(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*)\.?\s+\d{1,2}(?:,\s+\d{4})?"
_AGENCY = r"\([A-Z][\w.&’' -]{0,40}\)"
_DASH = r"\s*(?:--|[-–—:])\s+(?=\S)"
_DATELINE_REACH = 120  # a dateline is a place, a date and an agency: no longer than this
_DATELINE = re.compile(
    rf"^(?P<dateline>{_PLACE_CAPS}(?:{_DATELINE_DATE})?(?:\s+{_AGENCY})?|{_PLACE}(?:{_DATELINE_DATE})?\s+{_AGENCY}"
    rf"|{_PLACE}{_DATELINE_DATE}(?:\s+{_AGENCY})?|{_AGENCY}){_DASH}"
    # German and other European news open on the place (and agency) and an en or em dash, then a capital: `Wien – Die …`.
    # No paragraph of bbc-news (2,225) or reuters-dev (1,000) opens with a title-case word and an en or em dash: none is taken.
    r"|^(?P<place>[A-ZÄÖÜÀ-Þ][\w.'’-]+(?:\s+[A-ZÄÖÜÀ-Þ][\w.'’-]+)?(?:\s+\([\w.&’' -]{1,40}\))?)\s+[–—]\s+(?=[A-ZÄÖÜÀ-Þ])"
)

# Photo credits: `(Photo: Sputnik/…)`, `Photo: AFP`, `REUTERS/Maxim Shemetov`, `Sputnik/Sergei Karpukhin/Pool via Reuters`,
# `(AP Photo/Alexander Zemlianichenko)`, `Getty Images`.
_AGENCIES = (
    r"(?:reuters|afp|ap|epa|getty(?: images)?|sputnik|kremlin|pool|xinhua|tass|bloomberg|anadolu|shutterstock|alamy"
    r"|pa(?: images| wire)?|ani|pti|handout|aap|yonhap|kcna|nurphoto|sopa images|zuma(?: press)?|imago|dpa|ria novosti)"
)
_CREDIT = re.compile(
    r"\((?:file\s+)?(?:photo|photograph|picture|pic|image|credit)s?(?:\s+credit)?\s*[:/][^()]*\)\.?$"
    r"|(?:^|[.)|]\s*)(?:file\s+)?(?:photo|photograph|picture|image|credit|photo credit|image source)s?\s*[:,|]\s*\S[^.]{0,80}$"
    # `Maxim Shemetov/Reuters`: the slash after a word character and maybe dots, spaces, hyphens or apostrophes (the
    # same credits as `[\w.'’ -]+/`, which the search ran again from every character of the run). What follows the agency
    # is names (`/Pool`, `/Getty Images`, `/Jane Doe`, `van der` between them): on polnear-train 3 paragraphs of prose
    # were credits before, a sentence running on in lower case after `Reuters/<place>` or `<newspaper>/Bloomberg`.
    rf"|(?:\b{_AGENCIES}\s*(?:photo\s*)?/|\w[.'’ -]*/{_AGENCIES}\b)(?:[\s/.-]*\b(?:(?-i:[a-z]{{1,3}})\s+)*(?-i:[A-Z])[\w'’]*)*"
    rf"(?:\s+via\s+{_AGENCIES})?\.?\)?\.?$"
    rf"|\bvia\s+{_AGENCIES}\)?\.?$"
    r"|\bgetty images\)?\.?$",
    re.IGNORECASE,
)
_CREDIT_TAIL = 200  # credits close the caption; searching only its tail keeps long paragraphs cheap
# `(L)`, `(R)`, `(C)`, `(L-R)`, `(left)`, `(2nd R)`, `(centre)`: who stands where in the picture.
_POSITION_MARKER = re.compile(r"\((?:[LRC]|L-R|R-L|left|right|cent(?:re|er)|front|back|\d(?:st|nd|rd|th)\s+(?:[LR]|left|right))\)")
# A caption closes on the picture's date: `… in Moscow on March 21, 2023.`, `…, Russia, March 21, 2023.`
_CLOSING_DATE = re.compile(rf"(?:\bon|,)\s+(?:\w+day,?\s+)?{_DATE_WITH_YEAR}\.?$", re.IGNORECASE)
_QUOTE_MARK = re.compile(r"[“”\"]")
_TERMINAL = tuple(".!?:;\"'”’)…")
_WORDS = re.compile(r"\S+")
_VERB_TAGS = frozenset({"VB", "VBD", "VBG", "VBN", "VBP", "VBZ", "MD"})
_PRESENT_TAGS = frozenset({"VBZ", "VBP"})
_AUXILIARIES = frozenset({"is", "are", "am", "'s", "’s", "'re", "’re", "has", "have", "does", "do"})
_COMMON_NOUN_TAGS = frozenset({"NN", "NNS"})
_NAME_TAGS = frozenset({"NNP", "NNPS"})
_NOUN_TAGS = _COMMON_NOUN_TAGS | _NAME_TAGS | {"CD", "PRP"}
# A caption is one short sentence; a standfirst is a line, not a paragraph.
_MAX_CAPTION_WORDS = 60
_MIN_LABEL_WORDS, _MAX_LABEL_WORDS = 3, 20
_MIN_STANDFIRST_WORDS = 5
_MAX_STANDFIRST_WORDS = 60
# The standfirst sits right under the headline, or under the photo caption that follows it.
_HEADER_PARAGRAPHS = 3
# Figure lines: on reuters-dev's invented captions and standfirsts (`Shr 28 cts vs 35 cts`) numbers are 2 words in 5 or
# more; a caption or standfirst of news prose has one number (a year, a date) in ten words or fewer.
_FIGURES_SHARE = 0.25
# Line 1 is a headline when it is a line, not a paragraph, and the article goes on under it. Headlines measured:
# reuters-dev 16-56 characters (1,000), bbc-news 16-52 (2,225), multilingual-dev de/headline 21-90 (100); the
# one-line files of multilingual-dev (lede and body run together, 928 - 100 with a headline) are a single
# paragraph of 300+ characters or stand alone. The bound is the documents contract's title length.
_MAX_HEADLINE_CHARS = 300


class RemovedLine(NamedTuple):
    """A line the clean stage took out of the text (documents.removed_lines)."""

    text: str
    rule: str
    line: int


@dataclass(frozen=True)
class Headers:
    kinds: list[str]
    title: str | None
    subtitle: str | None
    byline: str | None
    published_at: datetime | None
    published_at_raw: str | None
    dateline: str | None


def read_headers(
    paragraphs: Sequence[str],
    removed_lines: Sequence[RemovedLine],
    person_paragraphs: frozenset[int] = frozenset(),
    tagged: dict[int, Tagged] | None = None,
) -> Headers:
    """Kinds of the paragraphs and the header fields of one article.

    person_paragraphs: indices of the paragraphs that mention a person (from NER); tagged: the
    grammar of the paragraphs `paragraphs_to_tag` chose, or None for languages the model does
    not cover, which then get only the cues that need no grammar.
    """
    kinds = paragraph_kinds(paragraphs, person_paragraphs, tagged)
    title = paragraphs[0] if kinds[0] == TITLE else None
    published_at, published_at_raw = publication(removed_lines)
    subtitle = next((p for p, kind in zip(paragraphs, kinds) if kind == STANDFIRST), None)
    first_body = next((p for p, kind in zip(paragraphs, kinds) if kind == BODY), "")
    return Headers(kinds, title, subtitle, byline(removed_lines), published_at, published_at_raw, dateline(first_body))


def paragraphs_to_tag(paragraphs: Sequence[str]) -> list[int]:
    """The paragraphs whose grammar decides their kind (few, as tagging costs): lines under the headline short
    enough to be a label or unpunctuated like a standfirst, and one-sentence paragraphs that look like captions."""
    chosen = []
    for i in range(1, len(paragraphs)):
        paragraph = paragraphs[i]
        if has_photo_credit(paragraph):
            continue
        n_words = len(_WORDS.findall(paragraph))
        under_headline = i < _HEADER_PARAGRAPHS and (
            n_words <= _MAX_LABEL_WORDS or (n_words <= _MAX_STANDFIRST_WORDS and not paragraph.endswith(_TERMINAL))
        )
        if under_headline or _looks_like_caption(paragraph):
            chosen.append(i)
    return chosen


def paragraph_kinds(paragraphs: Sequence[str], person_paragraphs: frozenset[int], tagged: dict[int, Tagged] | None) -> list[str]:
    kinds = [TITLE if is_headline(paragraphs) else BODY] + [CAPTION if has_photo_credit(p) else BODY for p in paragraphs[1:]]
    # Standfirst and label captions sit under a headline: without one there is no header.
    # The header also ends where the story opens, on its dateline: on reuters-dev the figure lines under a dateline
    # paragraph were taken for label captions (`Turnover 39.3 billion francs (no direct comparison)`).
    opening = next((i for i in range(1, min(_HEADER_PARAGRAPHS, len(paragraphs))) if dateline(paragraphs[i]) is not None), _HEADER_PARAGRAPHS)
    header = range(1, min(_HEADER_PARAGRAPHS, len(paragraphs), opening) if kinds[0] == TITLE else 1)
    for i, words in (tagged or {}).items():
        if _describes_a_picture(paragraphs[i], words, i in header, i in person_paragraphs):
            kinds[i] = CAPTION
    # A paragraph that opens on a dateline opens the story: it is body (reuters-dev: 86 such paragraphs were taken
    # for standfirsts or captions before), and so is every line of figures (`Shr 30 cts vs 5.92 dlrs`).
    for i in range(1, len(paragraphs)):
        if kinds[i] == CAPTION and (i == opening or _is_figures(paragraphs[i], (tagged or {}).get(i))):
            kinds[i] = BODY
    standfirst = next((i for i in header if kinds[i] == BODY), None)
    if (
        standfirst is not None
        and not _is_figures(paragraphs[standfirst], (tagged or {}).get(standfirst))
        # A standfirst introduces the story: a line over figure lines is the table's first row (reuters-dev's one invented
        # standfirst, a metal's tonnage line in capitals over the next metal's).
        and not (standfirst + 1 < len(paragraphs) and _is_figures(paragraphs[standfirst + 1], None))
        and _is_standfirst(paragraphs[standfirst], None if tagged is None else tagged.get(standfirst, []))
    ):
        kinds[standfirst] = STANDFIRST
    return kinds


def is_headline(paragraphs: Sequence[str]) -> bool:
    """Whether the first paragraph is the article's headline: a line of at most _MAX_HEADLINE_CHARS with text under it."""
    return len(paragraphs) > 1 and len(paragraphs[0]) <= _MAX_HEADLINE_CHARS


@functools.lru_cache(maxsize=1024)  # asked twice of each paragraph: when choosing those to tag, and for its kind
def has_photo_credit(paragraph: str) -> bool:
    return _CREDIT.search(paragraph[-_CREDIT_TAIL:]) is not None


def _looks_like_caption(paragraph: str) -> bool:
    """One sentence without quotation marks that places people in the picture or closes on its date."""
    if _QUOTE_MARK.search(paragraph) or len(_WORDS.findall(paragraph)) > _MAX_CAPTION_WORDS:
        return False
    if len(sentence_ends(paragraph, 0, len(paragraph))) > 1:
        return False
    return _POSITION_MARKER.search(paragraph) is not None or _CLOSING_DATE.search(paragraph) is not None


def _is_figures(paragraph: str, tagged: Tagged | None) -> bool:
    """A line of a figure sheet or results table: a quarter or more of its words are numbers (`Net 369,000 vs 358,000`),
    in figures or, when the grammar is known, in words (`two cts vs two cts`, tagged CD)."""
    words = tagged or [(word, "") for word in _WORDS.findall(paragraph)]
    numbers = sum(tag == "CD" or any(char.isdigit() for char in word) for word, tag in words)
    return numbers >= _FIGURES_SHARE * len(words)


def _describes_a_picture(paragraph: str, tagged: Tagged, under_headline: bool, mentions_person: bool) -> bool:
    verbs = [(word.lower(), tag) for word, tag in tagged if tag in _VERB_TAGS]
    if not verbs:
        # A label under the headline (`China and russias president`), not a venue or a date (`Ewood Park`, `Saturday 20 November`).
        return (
            under_headline
            and len(tagged) >= _MIN_LABEL_WORDS
            and ":" not in paragraph  # `Result: Nadal 6-7 …`, `Playing colours:`
            and not paragraph.startswith("(")
            and not paragraph.isupper()  # a section heading: `WORLD OF WARCRAFT`
            and (mentions_person or any(tag in _COMMON_NOUN_TAGS for _, tag in tagged))
            and _is_label(tagged)
        )
    # `Xi Jinping … walks past honour guards … on March 20, 2023.`: told in the present, not the narrative past.
    return _looks_like_caption(paragraph) and _told_in_the_present(verbs)


def _told_in_the_present(verbs: Tagged) -> bool:
    """Headline grammar, which captions and standfirsts share: a verb in the simple present (`Xi meets Putin`), none in the
    past; the narrative's past and its auxiliaries (`users are getting`, `the deficit widened`) tell a lede."""
    return all(tag != "VBD" for _, tag in verbs) and any(tag in _PRESENT_TAGS and word.lower() not in _AUXILIARIES for word, tag in verbs)


def _is_label(tagged: Tagged) -> bool:
    """A verbless line that names what a picture shows is one noun phrase printed like a headline: it ends on its noun,
    with no full stop, and in one case. On bbc-news the two verbless lines under a headline taken for labels were
    neither (a verbless lede closed by a full stop; two link texts run together, a capitalised preposition after
    lower-case nouns); on conll2003-train label captions went 44 -> 20 (the opening sentences CoNLL cut after a
    preposition or a determiner, or closed by a full stop; those left are cut after a name, with the dateline on
    a line of its own, which this rule does not read)."""
    word, tag = tagged[-1]
    if tag not in _NOUN_TAGS:
        return False
    after_first = tagged[1:]
    lower_content = any(word[:1].islower() and tag[:2] in ("NN", "VB", "JJ") for word, tag in after_first)
    capital_not_name = any(word[:1].isupper() and tag not in _NAME_TAGS for word, tag in after_first)
    return not (lower_content and capital_not_name)


def _is_standfirst(paragraph: str, tagged: Tagged | None) -> bool:
    """A headline-style line: no closing full stop, a few words, and (when grammar is known) headline grammar. On bbc-news
    the 3 ledes printed without their full stop that were taken for standfirsts are told in the past or with auxiliaries
    (`… are getting …`); the standfirst of the seeds is in the present (`… Xi Jinping meets with Putin`)."""
    n_words = len(_WORDS.findall(paragraph))
    if paragraph.endswith(_TERMINAL) or not _MIN_STANDFIRST_WORDS <= n_words <= _MAX_STANDFIRST_WORDS:
        return False
    return tagged is None or _told_in_the_present([(word, tag) for word, tag in tagged if tag in _VERB_TAGS])


def publication(removed_lines: Sequence[RemovedLine]) -> tuple[datetime | None, str | None]:
    """The publication time printed on the article and the line it was read from; an update time only when it is the one printed."""
    lines = [
        removed.text
        for removed in removed_lines
        if removed.rule in (PUBLICATION_LINE, BYLINE) or (removed.rule == DATE_LINE and removed.line <= _HEADER_LINES)
    ]
    for line in sorted(lines, key=lambda line: _UPDATE_LINE.match(line) is not None):
        if (when := publication_time(line)) is not None:
            return when, line
    return None, None


def publication_time(line: str) -> datetime | None:
    """The date and time printed in line, as printed (no time zone is applied); None unless day, month and year are all given."""
    match = _DATE_TIME.search(line)
    if match is None:
        return None
    return dateparser.parse(match.group(), languages=["en"], settings=_DATEPARSER_SETTINGS)


def byline(removed_lines: Sequence[RemovedLine]) -> str | None:
    """The authors of a `By …` line, without the date that may follow them."""
    line = next((removed.text for removed in removed_lines if removed.rule == BYLINE), None)
    if line is None:
        return None
    authors = _BYLINE_END.sub("", _BYLINE_PREFIX.sub("", line)).strip(" ,;|-–—")
    return authors or None


def dateline(first_body_paragraph: str) -> str | None:
    match = _DATELINE.match(first_body_paragraph)
    return (match.group("dateline") or match.group("place")).strip() if match else None


def dateline_end(text: str, paragraph_start: int) -> int:
    """Where the sentence of a paragraph opening on a dateline (`RENO, Nev. (AP) — `) begins: after the dateline and its dash."""
    match = _DATELINE.match(text[paragraph_start : paragraph_start + _DATELINE_REACH])
    return paragraph_start + match.end() if match else paragraph_start
