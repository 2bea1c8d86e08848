"""Quotations in “…”, "…", ''…'', ‘…’ or '…', and who said them, read from the attribution's grammar.

Every sentence that holds a quotation is parsed by the model's dependency parser with each
quotation replaced by one placeholder word (the words inside the marks are not parsed: the
attribution is outside them). The speaker is the subject of the verb that governs the
placeholder, climbing from the quotation to the main clause (`…,” said Rep. Jerry Nadler`,
`Nadler, a Democrat, told CNN that “…”`, `calling it “…”`), or the object of `according to`;
objects and prepositions (the addressee, the medium: `told CNN`, `wrote on Twitter`) never are.
The subject resolves to the canonical name of the entity its head word belongs to (`Reuters
spokesman John Smith` -> John Smith); a pronoun to the person last speaking or named before it;
a description (`the Russian president`) to the person the article introduced with those words
(`Russian President Vladimir Putin`, `Putin, the Russian president,`). A sentence that opens on a
label, `Name: …` (headlines, transcripts), is that person's; when the parse finds no one, the person
beside a speech verb right after the quotation (`“…,” Spencer said, as …`) is. A quotation with no
attribution of its own continues the speaker of the quotation before it in its paragraph, or of
the paragraph before when it opens its paragraph (a quotation running on, a speech after `X said:`).
"""

import re
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

from newsflow.analysis.extraction.entities import Entity
from newsflow.analysis.extraction.headers import dateline_end
from newsflow.analysis.extraction.sentences import sentence_ends

# `''` (two apostrophes, a US wire convention) is a double mark; it is tried before the single ones.
_MARKS = re.compile(r"''|[“”\"‘’']")
_DOUBLE = frozenset({"“", "”", '"', "''"})
_OPENS_AFTER = frozenset(" \n([{—–-/\"“‘'")
_CLOSES_BEFORE = frozenset(" \n.,;:!?)]}—–-…\"”’'")
# A speech verb next to a sentence made only of a quotation: `“We will win.” Putin said after the talks.`
_CUE = re.compile(
    r"\b(?:said|says|say|told|tells|added|adds|wrote|writes|stated|asked|asks|replied|explained|noted|warned|argued"
    r"|insisted|claimed|declared|announced|remarked|continued|concluded|stressed|urged|acknowledged|admitted|recalled"
    r"|commented|responded|tweeted|posted|predicted|conceded|cautioned|quipped|joked|vowed|promised|countered"
    r"|observed|suggested|charged|complained|lamented|fumed|scolded|boasted|shouted|told)\b"
)
# The words after a quotation up to the clause's end: where its attribution would be.
_CLAUSE = re.compile(r"[^,;:!?“”\"\n]*")
_PREPOSITION = re.compile(r"\b(?:for|of|to|with|by|from|at|on|in|about|against|near)\b")
PLACEHOLDER = "This"
_SUBJECTS = frozenset({"nsubj", "nsubjpass", "csubj"})
_NOUN_MODIFIERS = frozenset({"acl", "relcl"})
_FINITE_TAGS = frozenset({"VBD", "VBZ", "VBP", "MD"})
_PERSON_PRONOUNS = frozenset({"he", "she", "i", "him", "her"})
_GROUP_PRONOUNS = frozenset({"they", "we"})
_PRONOUNS = _PERSON_PRONOUNS | _GROUP_PRONOUNS
_RELATIVE = frozenset({"who", "which", "that"})
PERSON, ORGANISATION = "person", "organisation"
_KIND_OF_LABEL = {"PERSON": PERSON, "ORG": ORGANISATION, "NORP": ORGANISATION, "GPE": ORGANISATION}
# Fewer words than this is a phrase, not reported speech.
MIN_QUOTATION_WORDS = 3
# A quotation of at most this many words opening in lower case inside a sentence, attributed to no one, is a scare quote.
_MAX_PHRASE_WORDS = 6
# `he said` refers to a speaker or person named at most this many paragraphs before (polnear-train pronoun/description
# sources: 1 0.636, 2 0.654, 3 0.658, 4 0.659).
_PRONOUN_REACH = 3
# The words before a person's name that may give their title: `Clinton campaign chairman John Podesta`.
_TITLE_WORDS = 5
_WORD = re.compile(r"[A-Za-z][\w-]*")
# The gender of a pronoun source; the pronouns that tell a person's gender, and the honorifics before a name that do.
_GENDER_OF = {"he": "m", "him": "m", "his": "m", "she": "f", "her": "f"}
_SUBJECT_PRONOUN = re.compile(r"\b(?:he|she)\b", re.IGNORECASE)
_HONORIFIC = re.compile(r"\b(?:(Mr)|Mrs|Ms|Miss)\.? $")

Parse = Callable[[list[str]], Iterable]


@dataclass(frozen=True)
class Quote:
    para_idx: int
    start: int
    end: int
    text: str
    speaker: str | None
    speaker_kind: str | None
    cue: str | None
    is_fragment: bool


@dataclass(frozen=True)
class _Speaker:
    name: str | None
    kind: str | None
    cue: str | None
    at: int  # where the speaker is named or referred to


def find_quotes(text: str, paragraph_starts: Sequence[int], entities: Sequence[Entity], parse: Parse | None) -> list[Quote]:
    """Every quotation of text with its speaker; without `parse` (no model) the speakers are left null."""
    spans = quotation_spans(text)
    attribution = _Attributor(text, paragraph_starts, entities, spans)
    speakers = attribution.speakers(parse) if parse else [None] * len(spans)
    quotes = []
    for (open_at, close_at), speaker in zip(spans, speakers):
        start, end = _content(text, open_at, close_at)
        if start == end:
            continue
        words = text[start:end].split()
        phrase = text[start].islower() and len(words) <= _MAX_PHRASE_WORDS and speaker is None
        quotes.append(
            Quote(
                bisect_right(paragraph_starts, open_at) - 1,
                start,
                end,
                text[start:end],
                speaker.name if speaker else None,
                speaker.kind if speaker and speaker.name else None,
                speaker.cue if speaker else None,
                len(words) < MIN_QUOTATION_WORDS or phrase,
            )
        )
    return quotes


def sentences_to_parse(text: str, paragraph_starts: Sequence[int]) -> list[str]:
    """The texts find_quotes gives `parse` for this text (they depend on the text alone): a few articles' sentences are
    parsed in one call, ~25% faster than article by article (1,000 sentences of 300 bbc-news articles: 1.15 s, 1.50 s)."""
    return [skeleton.text for skeleton in _Attributor(text, paragraph_starts, (), quotation_spans(text)).skeletons()[0]]


def _content(text: str, open_at: int, close_at: int) -> tuple[int, int]:
    """The words inside the marks: `…, he said`: the comma is not said."""
    start, end = open_at + (2 if text.startswith("''", open_at) else 1), close_at
    while start < end and text[start].isspace():
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in ",;:"):
        end -= 1
    return start, end


def quotation_spans(text: str) -> list[tuple[int, int]]:
    """(opening mark, closing mark) of every top-level quotation, in order.

    Double and single marks are paired separately and a quotation nested in another is left
    out. A quotation ends at the end of its paragraph: a double mark left open there closes there
    (the next paragraph reopening it, as a quotation running on does, or the closing mark missing);
    an open single mark is an apostrophe. The closing position is then the paragraph's end.
    """
    doubles, singles = [], []
    for match in _MARKS.finditer(text):
        (doubles if match.group() in _DOUBLE else singles).append(match.start())
    spans = sorted(_pair(text, doubles, _double_role, True) + _pair(text, singles, _single_role, False))
    top, end = [], -1
    for span in spans:
        if span[0] > end:
            top.append(span)
            end = span[1]
    return top


def _double_role(text: str, pos: int, is_open: bool) -> str | None:
    mark = text[pos]
    if mark == "“":
        return "open"
    if mark == "”":
        return "close"
    width = 2 if text.startswith("''", pos) else 1
    before = text[pos - 1] if pos else " "
    after = text[pos + width] if pos + width < len(text) else " "
    opens = before in _OPENS_AFTER and not after.isspace()
    closes = not before.isspace() and (after in _CLOSES_BEFORE or pos + width == len(text))
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
        return "close"  # also before a double mark: `“He said ‘no,’” she said`
    return None


def _pair(text: str, marks: list[int], role_of, close_at_paragraph_end: bool) -> list[tuple[int, int]]:
    spans, open_at = [], None
    for pos in marks:
        role = role_of(text, pos, open_at is not None)
        if role is None or (open_at is not None and pos < open_at + 2 and text.startswith("''", open_at)):
            continue
        if open_at is not None and (paragraph_end := text.find("\n\n", open_at, pos)) != -1:
            if close_at_paragraph_end:
                spans.append((open_at, paragraph_end))
            open_at = None
        if role == "open":
            if open_at is not None:  # a quotation opens before the last one closed: that one ends here
                spans.append((open_at, pos))
            open_at = pos
        elif open_at is not None:
            spans.append((open_at, pos))
            open_at = None
    if open_at is not None and close_at_paragraph_end:
        paragraph_end = text.find("\n\n", open_at)
        spans.append((open_at, len(text) if paragraph_end == -1 else paragraph_end))
    return spans


@dataclass
class _Skeleton:
    """A sentence with each quotation replaced by PLACEHOLDER, and where its pieces come from."""

    start: int  # the sentence in text
    end: int
    text: str
    pieces: list[tuple[int, int]]  # (offset in the skeleton, offset in text) where each copied piece begins
    placeholders: dict[int, int]  # quotation index -> offset of its placeholder in the skeleton

    def original(self, offset: int) -> int:
        i = bisect_right(self.pieces, (offset, float("inf"))) - 1
        return self.pieces[i][1] + offset - self.pieces[i][0]


class _Attributor:
    """The speakers of the quotations of one document, in reading order."""

    def __init__(self, text: str, paragraph_starts: Sequence[int], entities: Sequence[Entity], spans):
        self.text = text
        self.paragraph_starts = paragraph_starts
        self.entities = [e for e in entities if e.label in _KIND_OF_LABEL]
        self.entity_starts = [e.start for e in self.entities]
        self.people = [e for e in self.entities if e.label == "PERSON"]
        self.spans = spans
        self._ends: dict[int, list[int]] = {}

    def skeletons(self) -> tuple[list[_Skeleton], dict[int, _Skeleton], dict[int, tuple[int, int]]]:
        """The sentences the speakers are read from, as skeletons: those holding a quotation, then the sentences that may
        say who spoke a sentence made only of a quotation (the next one; after `X said:`, the paragraph before's last);
        the skeleton of each quotation; that other sentence of each quotation that has one."""
        sentences = self._sentences()
        skeletons = [self._skeleton(start, end) for start, end in sentences]
        by_quote = {i: skeleton for skeleton in skeletons for i in skeleton.placeholders}
        following = {}
        for i, (open_at, _) in enumerate(self.spans):
            if _only_quotations(by_quote[i].text):
                if (nxt := self._next_sentence(by_quote[i].end)) and not self._holds_quote(*nxt):
                    following[i] = nxt
                elif (intro := self._introduction(open_at)) is not None:
                    following[i] = intro
        extra = sorted(set(following.values()) - set(sentences))
        return skeletons + [self._skeleton(start, end) for start, end in extra], by_quote, following

    def speakers(self, parse: Parse) -> list[_Speaker | None]:
        skeletons, by_quote, following = self.skeletons()
        docs = dict(zip(((s.start, s.end) for s in skeletons), parse([s.text for s in skeletons])))
        by_sentence = {(s.start, s.end): s for s in skeletons}

        found: list[_Speaker | None] = []
        for i, (open_at, _) in enumerate(self.spans):
            skeleton = by_quote[i]
            doc = docs[(skeleton.start, skeleton.end)]
            # Figures: named speakers right on the first 200 polnear-train articles, of 735 (584 before these rules, 624 with
            # them; all 840 articles: 0.866 -> 0.893): the label +16, the attribution after the quotation +8.
            speaker = self._labelled(doc, skeleton, skeleton.placeholders[i]) or self._governing(doc, skeleton, skeleton.placeholders[i], found)
            if speaker is None or speaker.name is None:
                speaker = self._attribution_after(i) or speaker
            if speaker is None and i in following:
                other = by_sentence[following[i]]
                speaker = self._sentence_speaker(docs[following[i]], other, found, introduces=following[i][0] < open_at)
            if speaker is None:
                speaker = self._continued(i, found)
            found.append(speaker)
        return found

    # --- sentences ---------------------------------------------------------------------------------

    def _paragraph(self, pos: int) -> int:
        return bisect_right(self.paragraph_starts, pos) - 1

    def _paragraph_bounds(self, idx: int) -> tuple[int, int]:
        start = self.paragraph_starts[idx]
        end = self.paragraph_starts[idx + 1] - 2 if idx + 1 < len(self.paragraph_starts) else len(self.text)
        return start, end

    def _sentence_ends(self, idx: int) -> list[int]:
        if idx not in self._ends:
            self._ends[idx] = sentence_ends(self.text, *self._paragraph_bounds(idx))
        return self._ends[idx]

    def _sentences(self) -> list[tuple[int, int]]:
        """The sentences holding a quotation (those a quotation runs over make one), in order."""
        sentences: list[tuple[int, int]] = []
        for open_at, close_at in self.spans:
            idx = self._paragraph(open_at)
            ends = self._sentence_ends(idx)
            # A dateline is not part of the sentence's grammar (`RENO, Nev. (AP) — Trump says …` made AP the subject): +5.
            start = max([min(dateline_end(self.text, self.paragraph_starts[idx]), open_at)] + [end for end in ends if end <= open_at])
            end = next((end for end in ends if end > close_at), ends[-1])
            if sentences and start < sentences[-1][1]:
                start, end = sentences[-1][0], max(end, sentences.pop()[1])
            sentences.append((start, end))
        return sentences

    def _next_sentence(self, end: int) -> tuple[int, int] | None:
        ends = self._sentence_ends(self._paragraph(max(end - 1, 0)))
        following = [e for e in ends if e > end]
        return (end, following[0]) if following else None

    def _introduction(self, open_at: int) -> tuple[int, int] | None:
        """The last sentence of the paragraph before, when the quotation opens its paragraph and that one ends with `:`."""
        idx = self._paragraph(open_at)
        if idx == 0 or self.text[self.paragraph_starts[idx] : open_at].strip():
            return None
        start, end = self._paragraph_bounds(idx - 1)
        if not self.text[start:end].rstrip().endswith(":"):
            return None
        ends = [start] + self._sentence_ends(idx - 1)
        return ends[-2], ends[-1]

    def _attribution_after(self, i: int) -> _Speaker | None:
        """`“…,” Spencer said, as …`, `“…,” said Rev. Jane Doe, then …`: the person named beside a speech verb right after a
        quotation that ends on a comma, question or exclamation mark (the parse of a long sentence can miss it)."""
        close_at = self.spans[i][1]
        if self.text[close_at - 1] not in ",?!":
            return None
        start = close_at + (2 if self.text.startswith("''", close_at) else 1)
        ends = [e for e in self._sentence_ends(self._paragraph(close_at)) if e > start]
        end = start + len(_CLAUSE.match(self.text, start, ends[0] if ends else start).group())
        cue = _CUE.search(self.text, start, end)
        if cue is None:
            return None
        for person in self.people:
            if start <= person.start and person.end <= end and (
                person.end <= cue.start() and not self.text[person.end : cue.start()].strip()  # `Spencer said`
                or not self.text[start : cue.start()].strip() and person.start >= cue.end()  # `said (Rev.) Jane Doe`, not
                and not _PREPOSITION.search(self.text, cue.end(), person.start)  # `said a lawyer for Jane Doe`
            ):
                return _Speaker(person.canonical, PERSON, cue.group(), person.start)
        return None

    def _quoted(self, offset: int) -> bool:
        i = bisect_right(self.spans, (offset, float("inf"))) - 1
        return i >= 0 and self.spans[i][0] < offset < self.spans[i][1]

    def _holds_quote(self, start: int, end: int) -> bool:
        i = bisect_left(self.spans, (start, -1))
        return i < len(self.spans) and self.spans[i][0] < end

    def _skeleton(self, start: int, end: int) -> _Skeleton:
        parts, pieces, placeholders, length, cursor = [], [], {}, 0, start
        for i in range(bisect_left(self.spans, (start, -1)), len(self.spans)):
            open_at, close_at = self.spans[i]
            if open_at >= end:
                break
            mark_end = open_at + (2 if self.text.startswith("''", open_at) else 1)
            pieces.append((length, cursor))
            parts.append(self.text[cursor:mark_end])
            length += mark_end - cursor
            # The placeholder keeps the quotation's last punctuation: `“…,” he said` stays `“This,” he said`.
            tail = self.text[close_at - 1] if close_at > mark_end and self.text[close_at - 1] in ",.?!" else ""
            placeholders[i] = length
            parts.append(PLACEHOLDER + tail)
            length += len(PLACEHOLDER) + len(tail)
            cursor = min(close_at, end)
        pieces.append((length, cursor))
        parts.append(self.text[cursor:end])
        return _Skeleton(start, end, "".join(parts).replace("\n", " "), pieces, placeholders)

    # --- the grammar -------------------------------------------------------------------------------

    def _labelled(self, doc, skeleton: _Skeleton, placeholder: int) -> _Speaker | None:
        """The person a sentence opens on as a label, `Name: …` (headlines, transcripts: `Sen. Jane Doe: ‘We Will Win’`):
        a name ending on a colon before the quotation, only title-case words before it and no finite verb."""
        for token in doc:
            if token.idx >= placeholder or token.tag_ in _FINITE_TAGS:
                return None
            if token.text == ":" and token.i > 0:
                person = self._entity_at(skeleton.original(doc[token.i - 1].idx))
                if person is None or person.label != "PERSON" or not all(t.text[:1].isupper() for t in doc[: token.i]):
                    return None
                return _Speaker(person.canonical, PERSON, ":", person.start)
        return None

    def _governing(self, doc, skeleton: _Skeleton, placeholder: int, found) -> _Speaker | None:
        """The speaker of the quotation whose placeholder is at `placeholder`: the subject of the verbs above it."""
        token = next((t for t in doc if t.idx == placeholder), None)
        if token is None:
            return None
        return self._clause_speaker(token, skeleton, found)

    def _sentence_speaker(self, doc, skeleton: _Skeleton, found, introduces: bool) -> _Speaker | None:
        """The speaker named by a sentence of its own: the subject of its main verb, a speech verb (or the sentence ends with `:`)."""
        root = next((t for t in doc if t.dep_ == "ROOT"), None)
        if root is None or not (introduces or _CUE.search(doc.text)):
            return None
        speaker = self._clause_speaker(root, skeleton, found)
        # Not a pronoun or a description: the next sentence may be about something else (`Russian state media claimed …`).
        return speaker if speaker and speaker.name and (introduces or self._is_named(speaker, skeleton)) else None

    def _is_named(self, speaker: _Speaker, skeleton: _Skeleton) -> bool:
        word = _WORD.match(self.text, speaker.at)
        return skeleton.start <= speaker.at < skeleton.end and word is not None and word.group().lower() not in _PRONOUNS

    def _clause_speaker(self, token, skeleton: _Skeleton, found) -> _Speaker | None:
        subject, cue, child = None, None, token
        node = token
        while True:
            according = _according_to(node)
            if according is not None:
                return self._resolve(according, skeleton, found, "according to")
            subjects = [c for c in node.children if c.dep_ in _SUBJECTS and c.i != child.i]
            if subjects and node.tag_.startswith(("VB", "MD")):
                subject, cue = subjects[0], node
            if node.dep_ in _NOUN_MODIFIERS and subject is None and node.head.i != node.i:
                subject, cue = node.head, node  # `Murphy, the head of …, tweeted`: the noun the clause describes
                break
            if node.dep_ == "relcl" or node.head.i == node.i:
                break
            child, node = node, node.head
        # An attribution inserted in the sentence speaks it: `“…,” he said, “…”` (a quotation parsed as the root: pronoun/
        # description sources 0.615 -> 0.622, named speakers 0.897 -> 0.898), `If …, he said, Congress can …` (the
        # inserted clause wins over the sentence's own subject: 0.658 -> 0.664, named 0.902 -> 0.905).
        inserted = [c for c in node.children if c.dep_ == "parataxis" and c.tag_.startswith("VB")]
        subjects = [(g, c) for c in inserted for g in c.children if g.dep_ in _SUBJECTS]
        if subjects:
            subject, cue = subjects[0]
        speaker = None
        if subject is not None:
            if subject.dep_ != "relcl" and subject.text.lower() in _RELATIVE and subject.head.dep_ == "relcl":
                subject = subject.head.head  # `Smith, who said “…”`
            speaker = self._resolve(subject, skeleton, found, cue.text.lower())
        # A clause about something else holds the words of the sentence's speaker: `Rubio bemoaned a climate in which
        # people “hate each other”`, `Clinton says she would name regulators who “are tough enough”`: +11.
        if (speaker is None or speaker.name is None) and node.dep_ == "relcl" and node.head.i != node.i:
            above = self._clause_speaker(node.head, skeleton, found)
            if above is not None and above.name is not None:
                return above
        return speaker

    # --- who the subject is ------------------------------------------------------------------------

    def _resolve(self, head, skeleton: _Skeleton, found, cue: str) -> _Speaker | None:
        at = skeleton.original(head.idx)
        word = head.lower_
        if word in _PERSON_PRONOUNS:
            return self._antecedent(at, found, cue, _GENDER_OF.get(word))
        if word in _GROUP_PRONOUNS:
            previous = next((s for s in reversed(found) if s and s.name and s.kind == ORGANISATION), None)
            return _Speaker(previous.name if previous else None, ORGANISATION if previous else None, cue, at)
        entity = self._entity_at(at)
        if entity is not None and entity.label == "PERSON":
            return _Speaker(entity.canonical, PERSON, cue, entity.start)
        # A person in apposition: `a spokesman for the company, John Smith,`.
        if (person := self._apposed_person(head, skeleton)) is not None:
            return _Speaker(person.canonical, PERSON, cue, person.start)
        if entity is not None:
            return _Speaker(entity.canonical, _KIND_OF_LABEL[entity.label], cue, entity.start)
        if head.tag_.startswith("NNP"):
            return self._unlabelled_name(head, cue, at)
        if head.tag_.startswith("NN"):
            person = self._described(head, at)
            if person is not None:
                return _Speaker(person.canonical, PERSON, cue, at)
            # Whom a description speaks for: `a Twitter spokesman`, `Rubio’s campaign`, `a State Department official`
            # (pronoun/description sources 0.624 -> 0.649, named speakers 0.898 -> 0.900); `her campaign` (0.655, 0.902).
            if (entity := self._modifier_entity(head, skeleton) or self._named_organisation(head, at)) is not None:
                return _Speaker(entity.canonical, _KIND_OF_LABEL[entity.label], cue, entity.start)
            if (owner := next((t for t in head.children if t.dep_ == "poss" and t.lower_ in ("his", "her")), None)) is not None:
                return self._antecedent(at, found, cue, _GENDER_OF[owner.lower_])
        return _Speaker(None, None, cue, at)

    def _named_organisation(self, head, at: int) -> Entity | None:
        """The organisation `the department`, `the foundation` stands for: the latest named before with that noun (`State
        Department`): polnear-train pronoun/description sources 0.664 -> 0.666."""
        if not any(c.dep_ == "det" and c.lower_ == "the" for c in head.children):
            return None
        noun = head.lower_
        return next(
            (e for e in reversed(self.entities) if e.start < at and e.label == "ORG" and noun in e.canonical.lower().split()), None
        )

    def _modifier_entity(self, head, skeleton: _Skeleton) -> Entity | None:
        """The person or organisation naming a noun (`Rubio’s`, `Twitter` spokesman); not a place (`the Ukraine crisis`,
        `Washington’s top diplomat`: no speakers; pronoun/description sources 0.655 with them, 0.654 without)."""
        for token in head.children:
            entity = self._entity_at(skeleton.original(token.idx)) if token.dep_ in ("poss", "compound") else None
            if entity is not None and entity.label in ("PERSON", "ORG"):
                return entity
        return None

    def _apposed_person(self, head, skeleton: _Skeleton) -> Entity | None:
        for token in head.children:
            if token.dep_ == "appos":
                entity = self._entity_at(skeleton.original(token.idx))
                if entity is not None and entity.label == "PERSON":
                    return entity
        return None

    def _entity_at(self, offset: int) -> Entity | None:
        i = bisect_right(self.entity_starts, offset) - 1
        return self.entities[i] if i >= 0 and self.entities[i].end > offset else None

    def _unlabelled_name(self, head, cue: str, at: int) -> _Speaker:
        """A proper noun the model left without a type: a person named in full elsewhere, else the name as written."""
        known = [p for p in self.people if p.canonical.split()[-1] == head.text]
        if known:
            return _Speaker(known[-1].canonical, PERSON, cue, at)
        words = [t for t in head.subtree if t.i <= head.i and t.dep_ == "compound" and t.tag_.startswith("NNP")] + [head]
        name = " ".join(t.text for t in words)
        return _Speaker(name if len(name) > 1 else None, PERSON, cue, at)

    def _described(self, head, at: int) -> Entity | None:
        """The person the article introduced with the words of this description (`the Russian president`), the latest first."""
        wanted = {head.text.lower()} | {c.text.lower() for c in head.children if c.dep_ in ("amod", "compound")}
        best, best_score = None, 0
        for person in self.people:
            if person.start >= at:
                break
            words = {w.lower() for w in self._title_words(person)}
            if head.text.lower() in words and len(wanted & words) >= best_score:
                best, best_score = person, len(wanted & words)
        return best

    def _title_words(self, person: Entity) -> list[str]:
        """The words just before the name (`Russian President`) and those of an apposition after it (`, the Russian president,`)."""
        paragraph = self.paragraph_starts[self._paragraph(person.start)]
        before = _WORD.findall(self.text[max(paragraph, person.start - 60) : person.start])[-_TITLE_WORDS:]
        after = self.text[person.end : person.end + 80]
        apposition = after[2:].split(",")[0] if after.startswith(", ") else ""
        return before + _WORD.findall(apposition)

    def _antecedent(self, at: int, found, cue: str, gender: str | None) -> _Speaker:
        """Who `he said` refers to: the person who spoke last, unless a person was named since (the first of the latest
        sentence naming one); not a person the article calls by the other gender's pronouns."""
        here = self._paragraph(at)
        previous = next(
            (
                s
                for s in reversed(found)
                if s and s.name and s.kind == PERSON and here - self._paragraph(s.at) <= _PRONOUN_REACH and self._fits(s.name, gender)
            ),
            None,
        )
        named = self._latest_named(at, here, gender)
        if named is not None and (previous is None or named.start > previous.at):
            return _Speaker(named.canonical, PERSON, cue, named.start)
        return _Speaker(previous.name if previous else None, PERSON if previous else None, cue, at)

    def _latest_named(self, at: int, here: int, gender: str | None) -> Entity | None:
        window = self.paragraph_starts[max(here - _PRONOUN_REACH, 0)]
        # Not a person the quotations talk about: in `“Cruz is our best debater,” he says.` he is not Cruz.
        # Nor one named after `he`/`she` in its sentence: that sentence is about whom the pronoun refers to (`He says he
        # respects Clinton`, `Asked who leads, he said Ryan.`): polnear-train pronoun/description sources 0.601 -> 0.615.
        people = [
            p
            for p in self.people
            if window <= p.start < at
            and not self._quoted(p.start)
            and self._fits(p.canonical, gender)
            and not any(not self._quoted(m.start()) for m in _SUBJECT_PRONOUN.finditer(self.text, self._sentence_start(p.start), p.start))
        ]
        if not people:
            return None
        sentence_start = self._sentence_start(people[-1].start)
        return next(p for p in people if p.start >= sentence_start)

    def _sentence_start(self, pos: int) -> int:
        idx = self._paragraph(pos)
        return max(e for e in [self.paragraph_starts[idx]] + self._sentence_ends(idx) if e <= pos)

    def _fits(self, name: str, gender: str | None) -> bool:
        # polnear-train pronoun/description sources 0.593 -> 0.601 (named speakers 0.897 either way).
        return gender is None or self._genders.get(name, gender) == gender

    @cached_property
    def _genders(self) -> dict[str, str]:
        """The gender the article itself gives each person: by the honorific before the name (`Mrs. Clinton`), else by
        the first `he` or `she` after the name in a sentence that names no other person (`Lopez said she …`; with
        `him`, `her` too 0.622, as those often are someone else: `Axelrod emailed her`)."""
        votes: dict[str, Counter] = defaultdict(Counter)
        for person in self.people:
            if honorific := _HONORIFIC.search(self.text, max(person.start - 6, 0), person.start):
                votes[person.canonical]["m" if honorific.group(1) else "f"] += 2
        for idx, start in enumerate(self.paragraph_starts):
            for end in self._sentence_ends(idx):
                named = [p for p in self.people if start <= p.start < end and not self._quoted(p.start)]
                if len({p.canonical for p in named}) == 1:
                    pronoun = next((m for m in _SUBJECT_PRONOUN.finditer(self.text, named[0].end, end) if not self._quoted(m.start())), None)
                    if pronoun:
                        votes[named[0].canonical][_GENDER_OF[pronoun.group().lower()]] += 1
                start = end
        return {name: count.most_common(1)[0][0] for name, count in votes.items() if len(set(count.values())) == len(count)}

    def _continued(self, i: int, found) -> _Speaker | None:
        """A quotation with no attribution of its own: the speaker of the one before, in its paragraph or, if it opens its
        paragraph, in the paragraph before."""
        if not i or found[i - 1] is None:
            return None
        here, before = self._paragraph(self.spans[i][0]), self._paragraph(self.spans[i - 1][0])
        opens_paragraph = not self.text[self.paragraph_starts[here] : self.spans[i][0]].strip()
        if here == before or (opens_paragraph and here == before + 1):
            return found[i - 1]
        return None


def _only_quotations(skeleton: str) -> bool:
    return not skeleton.replace(PLACEHOLDER, "").strip(" .,;:!?'\"“”‘’")


def _according_to(node):
    """The object of `according to` among the children of node (`According to Kirby, …`, `…, according to Torigian`)."""
    for child in node.children:
        if child.lower_ == "according":
            for to in child.children:
                if to.lower_ == "to":
                    return next((c for c in to.children if c.dep_ == "pobj"), None)
    return None
