"""Sentence boundaries inside a paragraph, for quote attribution and caption cues."""

import re

# A full stop, question or exclamation mark (and closing quotes or brackets) before a capital or an opening quote.
_SENTENCE_END = re.compile(r"""[.!?]+["”’')]*(?=\s+["“‘'(]?[A-Z0-9])""")
# Abbreviations and initials whose full stop does not end a sentence (Mr. Putin, U.S. officials, John F. Kennedy).
_NOT_AN_END = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Dr|Prof|Rev|Hon|Gen|Lt|Col|Sgt|Cpl|Maj|Capt|Cmdr|Adm|Det|Rep|Sen|Gov|Pres|Atty|Supt|St|Ft|Mt|Jr|Sr|No|Nos|Vol|vs|etc|Inc|Ltd|Co|Corp"
    r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)|\b[A-Z])\.$"
)
_LOOKBEHIND = 8


def sentence_ends(text: str, start: int, end: int) -> list[int]:
    """Offsets (into text) one past the end of each sentence of text[start:end], the last one being `end`."""
    ends = []
    for match in _SENTENCE_END.finditer(text, start, end):
        stop = match.start() + 1  # just after the first mark
        if not _NOT_AN_END.search(text, max(start, stop - _LOOKBEHIND), stop):
            ends.append(match.end())
    if not ends or ends[-1] != end:
        ends.append(end)
    return ends
