"""Quotations in “…”, "…", ‘…’ or '…', and who said them.

A quotation is attributed when its own sentence, or the next one, names the speaker next to a
speech verb (`…,” Kirby told reporters`, `Xi stated that “…”`, `according to Torigian`); `he
said` continues the speaker of the quotation before, and a quotation that follows an
attributed one in the same paragraph keeps its speaker. The speaker is the canonical name of
a person, organisation or place entity; a description (`Washington’s top diplomat`) leaves it null.
"""

import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from newsflow.analysis.extraction.entities import Entity
from newsflow.analysis.extraction.sentences import sentence_ends

_DOUBLE_MARKS = re.compile(r"[“”\"]")
_SINGLE_MARKS = re.compile(r"[‘’']")
_OPENS_AFTER = frozenset(" \n([{—–-/")
_CLOSES_BEFORE = frozenset(" \n.,;:!?)]}—–-…")
_CUE = re.compile(  # lower case: `States` in `the United States` is not a verb
    r"\b(?:[Aa]ccording to|said|says|say|told|tells|added|adds|wrote|writes|stated|states|asked|asks|replied|replies"
    r"|explained|explains|noted|notes|warned|warns|argued|argues|insisted|insists|claimed|claims|declared|announced"
    r"|remarked|continued|concluded|stressed|stresses|emphasi[sz]ed|urged|urges|acknowledged|admitted|admits|recalled"
    r"|commented|responded|tweeted|posted|proclaimed|predicted|conceded|cautioned|quipped|joked|vowed|promised"
    r"|pledged|informed|assured|countered|observed|suggested)\b"
)
_CLAUSE_BREAK = re.compile(r"[,;:(—–]|\bthat\b")
_VERB_FIRST_END = re.compile(r"[,.;:!?(—–]|\bthat\b|\bwho\b")
_PRONOUNS = frozenset({"he", "she", "they", "we"})
_POSSESSIVE = ("’s", "'s", "’", "'")
SPEAKER_LABELS = frozenset({"PERSON", "ORG", "GPE", "NORP"})
# A subject longer than this is a clause of its own, not who spoke.
_MAX_SUBJECT_WORDS = 12
# Fewer words than this is a phrase, not reported speech; so is a short quotation opening in lower case mid-sentence.
MIN_QUOTATION_WORDS = 3
_MAX_PHRASE_WORDS = 6
# `he said` refers to a speaker named at most this many paragraphs before.
_PRONOUN_REACH = 2


@dataclass(frozen=True)
class Quote:
    para_idx: int
    start: int
    end: int
    text: str
    speaker: str | None
    cue: str | None
    is_fragment: bool


@dataclass
class _Attribution:
    subject: tuple[int, int] | None  # where the speaker is named (None: a `Name:` label without a verb)
    cue: str | None
    speaker: str | None = None


def find_quotes(text: str, paragraph_starts: Sequence[int], entities: Sequence[Entity]) -> list[Quote]:
    spans = quotation_spans(text)
    speakers = _SpeakerFinder(text, paragraph_starts, entities, spans)
    quotes = []
    for i, (open_at, close_at) in enumerate(spans):
        attribution = speakers.attribute(i)
        start, end = open_at + 1, close_at
        while start < end and text[start].isspace():
            start += 1
        while end > start and (text[end - 1].isspace() or text[end - 1] in ",;:"):  # `…, he said`: the comma is not said
            end -= 1
        if start == end:
            continue
        words = text[start:end].split()
        is_fragment = len(words) < MIN_QUOTATION_WORDS or (text[start].islower() and len(words) <= _MAX_PHRASE_WORDS)
        quotes.append(
            Quote(
                bisect_right(paragraph_starts, open_at) - 1,
                start,
                end,
                text[start:end],
                attribution.speaker if attribution else None,
                attribution.cue.lower() if attribution and attribution.cue else None,
                is_fragment,
            )
        )
    return quotes


def quotation_spans(text: str) -> list[tuple[int, int]]:
    """(opening mark, closing mark) of every top-level quotation, in order; unclosed ones are left out.

    Double and single quotation marks are paired separately; a quotation nested in another is
    left out, and a quotation running on into the next paragraph reopens at its start.
    """
    doubles = _pair(text, _DOUBLE_MARKS, _double_role)
    singles = _pair(text, _SINGLE_MARKS, _single_role)
    spans = sorted(doubles + singles)
    return [span for i, span in enumerate(spans) if not (i and spans[i - 1][0] < span[0] < spans[i - 1][1])]


def _double_role(text: str, pos: int, is_open: bool) -> str | None:
    mark = text[pos]
    if mark == "“":
        return "open"
    if mark == "”":
        return "close"
    before = text[pos - 1] if pos else " "
    after = text[pos + 1] if pos + 1 < len(text) else " "
    opens = before in _OPENS_AFTER and not after.isspace()
    closes = not before.isspace() and (after in _CLOSES_BEFORE or pos + 1 == len(text))
    if opens != closes:
        return "open" if opens else "close"
    return "close" if is_open else "open"  # no telling from the context: a straight mark toggles


def _single_role(text: str, pos: int, is_open: bool) -> str | None:
    before = text[pos - 1] if pos else " "
    after = text[pos + 1] if pos + 1 < len(text) else " "
    if before.isalnum() and after.isalnum():
        return None  # an apostrophe: Putin’s, don't
    if text[pos] != "’" and (before in _OPENS_AFTER or pos == 0) and after.isalpha():
        return "open"  # not before digits: the '90s
    if is_open and not before.isspace() and (after in _CLOSES_BEFORE or pos + 1 == len(text)):
        return "close"
    return None


def _pair(text: str, marks: re.Pattern, role_of) -> list[tuple[int, int]]:
    spans, open_at, last = [], None, 0
    for match in marks.finditer(text):
        pos = match.start()
        role = role_of(text, pos, open_at is not None)
        if role is None:
            continue
        if open_at is not None and text.find("\n\n", last, pos) != -1:
            if role == "open" and text[pos - 2 : pos] == "\n\n":  # the quotation goes on in this paragraph
                last = pos
                continue
            open_at = None  # never closed: left out
        if role == "open":
            if open_at is not None:  # a quotation opens before the last one closed: that one ends here
                spans.append((open_at, pos))
            open_at = last = pos
        elif open_at is not None:
            spans.append((open_at, pos))
            open_at = None
    return spans


class _SpeakerFinder:
    """Attribution of the quotations of one document, in reading order."""

    def __init__(self, text: str, paragraph_starts: Sequence[int], entities: Sequence[Entity], spans):
        self.text = text
        self.paragraph_starts = paragraph_starts
        self.speaker_entities = [e for e in entities if e.label in SPEAKER_LABELS]
        self.entity_starts = [e.start for e in self.speaker_entities]
        self.spans = spans
        self.found: list[_Attribution | None] = []  # by quotation, in order
        self._sentence_ends: dict[int, list[int]] = {}

    def attribute(self, i: int) -> _Attribution | None:
        open_at, close_at = self.spans[i]
        sentence_start, sentence_end = self._sentence_around(open_at, close_at)
        attribution = (
            self._after(close_at + 1, sentence_end)
            or self._before(sentence_start, open_at)
            or self._next_sentence(close_at, sentence_end)
        )
        if attribution is None:
            attribution = self._continued(i)
        elif attribution.subject is not None:
            attribution.speaker = self._speaker(attribution.subject, open_at)
        self.found.append(attribution)
        return attribution

    def _paragraph(self, pos: int) -> int:
        return bisect_right(self.paragraph_starts, pos) - 1

    def _paragraph_bounds(self, idx: int) -> tuple[int, int]:
        start = self.paragraph_starts[idx]
        end = self.paragraph_starts[idx + 1] - 2 if idx + 1 < len(self.paragraph_starts) else len(self.text)
        return start, end

    def _ends(self, idx: int) -> list[int]:
        if idx not in self._sentence_ends:
            self._sentence_ends[idx] = sentence_ends(self.text, *self._paragraph_bounds(idx))
        return self._sentence_ends[idx]

    def _sentence_around(self, open_at: int, close_at: int) -> tuple[int, int]:
        first, last = self._paragraph(open_at), self._paragraph(close_at)
        ends = self._ends(first)
        before = [end for end in ends if end <= open_at]
        start = before[-1] if before else self.paragraph_starts[first]
        return start, next(end for end in self._ends(last) if end > close_at)

    def _outside_quotes(self, start: int, end: int) -> list[tuple[int, int]]:
        """Pieces of text[start:end] that are not inside another quotation, in reading order."""
        pieces, cursor = [], start
        for open_at, close_at in self.spans:
            if close_at < start or open_at >= end:
                continue
            if open_at > cursor:
                pieces.append((cursor, open_at))
            cursor = max(cursor, close_at + 1)
        if cursor < end:
            pieces.append((cursor, end))
        return pieces

    def _after(self, start: int, end: int) -> _Attribution | None:
        """`…,” Kirby told reporters`, `…,” said Putin`, `…,” according to Torigian`."""
        for a, b in self._outside_quotes(start, end):
            cue = _CUE.search(self.text, a, b)
            if cue:
                return self._subject_of(cue, a, b)
        return None

    def _before(self, start: int, end: int) -> _Attribution | None:
        """`Xi stated that China has “…”`, `According to Kirby, … “…”`, `Mark Hughes: “…”`."""
        for a, b in reversed(self._outside_quotes(start, end)):
            cues = list(_CUE.finditer(self.text, a, b))
            if cues:
                return self._subject_of(cues[-1], a, b)
            if b == end and self.text[a:b].rstrip().endswith(":"):
                colon = self.text.rindex(":", a, b)
                clause = max((m.end() for m in _CLAUSE_BREAK.finditer(self.text, a, colon)), default=a)
                subject = self._trimmed(clause, colon)
                return _Attribution(subject, None) if subject[0] < subject[1] else None
        return None

    def _next_sentence(self, close_at: int, sentence_end: int) -> _Attribution | None:
        """`“We will win.” Putin said after the talks.`: a quotation that is a sentence, attributed by the next one."""
        if self.text[close_at + 1 : sentence_end].strip(" .!?"):
            return None
        ends = self._ends(self._paragraph(sentence_end - 1))
        following = [end for end in ends if end > sentence_end]
        if not following:
            return None
        start, end = sentence_end, following[0]
        if any(start <= open_at < end for open_at, _ in self.spans):
            return None
        cue = _CUE.search(self.text, start, end)
        attribution = self._subject_of(cue, start, end) if cue else None
        # Only a named speaker: the next sentence may be about something else (`Russian state media claimed …`).
        if attribution and attribution.subject and self._speaker(attribution.subject, start) is not None:
            return attribution
        return None

    def _subject_of(self, cue: re.Match, a: int, b: int) -> _Attribution | None:
        verb = cue.group()
        if verb.lower() != "according to":
            clause = max((m.end() for m in _CLAUSE_BREAK.finditer(self.text, a, cue.start())), default=a)
            subject = self._trimmed(clause, cue.start())
            if subject[0] < subject[1]:
                if len(self.text[subject[0] : subject[1]].split()) > _MAX_SUBJECT_WORDS:
                    return None
                return _Attribution(subject, verb)
        stop = _VERB_FIRST_END.search(self.text, cue.end(), b)
        subject = self._trimmed(cue.end(), stop.start() if stop else b)
        return _Attribution(subject, verb) if subject[0] < subject[1] else None

    def _trimmed(self, start: int, end: int) -> tuple[int, int]:
        while start < end and not self.text[start].isalnum():
            start += 1
        while end > start and not self.text[end - 1].isalnum():
            end -= 1
        return start, end

    def _speaker(self, subject: tuple[int, int], open_at: int) -> str | None:
        start, end = subject
        words = self.text[start:end].lower().split()
        if words[0] in _PRONOUNS or words[-1] in _PRONOUNS:  # `he said`, `But he warned`, `said he`
            return self._antecedent(min(start, open_at))
        found = self.speaker_entities[bisect_left(self.entity_starts, start) : bisect_left(self.entity_starts, end)]
        named = [e for e in found if e.end <= end and not self.text.startswith(_POSSESSIVE, e.end)]
        person = next((e for e in named if e.label == "PERSON"), None)
        if person:
            return person.canonical
        # An organisation or place speaks only as the head of the phrase (`the Kremlin said`, not `Washington’s top diplomat said`).
        head = next((e for e in named if e.end == end or e.start == start), None)
        return head.canonical if head else None

    def _antecedent(self, pronoun_at: int) -> str | None:
        """Who `he said` refers to: the speaker of the quotation before, else the first person of the previous sentence."""
        here = self._paragraph(pronoun_at)
        for (previous_open, _), attribution in zip(reversed(self.spans[: len(self.found)]), reversed(self.found)):
            if attribution is not None and attribution.cue is not None:
                if here - self._paragraph(previous_open) <= _PRONOUN_REACH:
                    return attribution.speaker
                break
        ends = [self.paragraph_starts[here]] + [end for end in self._ends(here) if end < pronoun_at]
        window_start = ends[-2] if len(ends) > 1 else self.paragraph_starts[max(here - 1, 0)]
        for entity in self.speaker_entities[bisect_left(self.entity_starts, window_start) :]:
            if entity.start >= pronoun_at:
                break
            if entity.label == "PERSON":
                return entity.canonical
        return None

    def _continued(self, i: int) -> _Attribution | None:
        """A quotation right after an attributed one in the same paragraph is the same speaker's."""
        if i and self.found[i - 1] and self._paragraph(self.spans[i - 1][0]) == self._paragraph(self.spans[i][0]):
            previous = self.found[i - 1]
            return _Attribution(None, previous.cue, previous.speaker)
        return None
