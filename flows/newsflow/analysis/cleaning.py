"""Cleaning an article's text: Unicode repaired, whitespace normalised, boilerplate lines and repeated
sentences removed, paragraphs split.

The boilerplate rules are data (rules/boilerplate.yaml); every line they remove, and every
sentence dropped as a repeat, is listed with the rule's name. Paragraphs are the non-empty lines
of the article; the text is the paragraphs joined by a blank line.
"""

import functools
import re
from collections import Counter
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path

import ftfy
import yaml

from newsflow.analysis.text import PARAGRAPH_SEPARATOR

REPEATED_SENTENCE_RULE = "repeated_sentence"
# Quotes stay curly: they carry meaning for quote extraction and headlines are published as written.
_FTFY_CONFIG = ftfy.TextFixerConfig(uncurl_quotes=False, normalization="NFC")
_INVISIBLE = re.compile(r"[\u00ad\u200b-\u200d\u2060\ufeff]")
_HORIZONTAL_SPACE = re.compile(r"[^\S\n]+")
_SENTENCE_END = re.compile(r"""(?<=[.!?])["”’)]?(?=\s*["“‘(]?[A-Z])""")
_TERMINAL = tuple(".!?:;\"'”’)…")
_WORD = re.compile(r"\w+(?:[’'.-]\w+)*")
# Sentences shorter than this are too common to call a repeat (`He said no.`).
_MIN_REPEATED_WORDS = 6

@dataclass(frozen=True)
class BoilerplateRule:
    name: str
    kind: str  # boilerplate: dropped; metadata: dropped from the text, kept for extraction
    pattern: re.Pattern

    def matches(self, line: str) -> bool:
        return self.pattern.fullmatch(line) is not None


def load_boilerplate_rules(path: Path) -> list[BoilerplateRule]:
    """The rules file, compiled; an invalid rule names itself and the file."""
    rules = []
    for spec in yaml.safe_load(Path(path).read_text(encoding="utf-8"))["rules"]:
        try:
            pattern = re.compile(spec["pattern"], re.IGNORECASE)
        except re.error as error:
            raise ValueError(f"{path}: rule {spec['name']!r} has an invalid pattern: {error}") from None
        if spec["kind"] not in ("boilerplate", "metadata"):
            raise ValueError(f"{path}: rule {spec['name']!r} has kind {spec['kind']!r}; use boilerplate or metadata")
        rules.append(BoilerplateRule(spec["name"], spec["kind"], pattern))
    return rules


@dataclass
class CleanArticle:
    DOCUMENT_FIELDS = ("title", "text", "n_chars", "n_words", "n_paragraphs", "removed_lines")
    PARAGRAPH_FIELDS = ("para_idx", "kind", "text", "char_start", "char_end")

    paragraphs: list[str]
    removed_lines: list[dict]

    @property
    def text(self) -> str:
        return PARAGRAPH_SEPARATOR.join(self.paragraphs)

    def document_fields(self) -> dict:
        text = self.text
        return {
            "title": self.paragraphs[0],
            "text": text,
            "n_chars": len(text),
            "n_words": len(_WORD.findall(text)),
            "n_paragraphs": len(self.paragraphs),
            "removed_lines": self.removed_lines,
        }

    def paragraph_rows(self) -> list[dict]:
        rows, start = [], 0
        for idx, paragraph in enumerate(self.paragraphs):
            kind = "title" if idx == 0 else "body"
            rows.append({"para_idx": idx, "kind": kind, "text": paragraph, "char_start": start, "char_end": start + len(paragraph)})
            start += len(paragraph) + len(PARAGRAPH_SEPARATOR)
        return rows


def clean_article(raw_text: str, rules: list[BoilerplateRule], repeat_similarity: float) -> CleanArticle:
    paragraphs, removed = [], []
    for line_no, line in join_wrapped_lines(normalise_text(raw_text).split("\n")):
        rule = next((r for r in rules if r.matches(line)), None)
        if rule:
            removed.append({"text": line, "rule": rule.name, "line": line_no})
            continue
        kept, repeats = drop_repeated_sentences(line, repeat_similarity)
        removed.extend({"text": s, "rule": REPEATED_SENTENCE_RULE, "line": line_no} for s in repeats)
        paragraphs.append(kept)
    return CleanArticle(paragraphs, removed)


def normalise_text(raw_text: str) -> str:
    """Repair mojibake and odd characters, unify line breaks, collapse spaces inside lines."""
    text = ftfy.fix_text(raw_text, _FTFY_CONFIG)
    text = _INVISIBLE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    return "\n".join(_HORIZONTAL_SPACE.sub(" ", line).strip() for line in text.split("\n"))


def join_wrapped_lines(lines: list[str]) -> list[tuple[int, str]]:
    """Non-empty lines with their 1-based line numbers; a hard-wrapped sentence becomes one line.

    A line is the continuation of the previous one when the previous one stops mid-sentence
    (no closing punctuation) and this one starts in lower case; a line in capitals (a wire headline,
    `HONG KONG EXCHS NOON - APR 7`) would go on in capitals, so a lower-case line under it is not its end (reuters-dev:
    the 2 such lines were rate tables joined into the headline, title exact 0.998 -> 1.000; none in bbc-news, polnear
    or multilingual-dev).
    """
    joined: list[tuple[int, str]] = []
    previous_blank = True
    for line_no, line in enumerate(lines, start=1):
        if not line:
            previous_blank = True
            continue
        previous = joined[-1][1] if joined else ""
        if not previous_blank and previous and not previous.endswith(_TERMINAL) and not previous.isupper() and line[0].islower():
            joined[-1] = (joined[-1][0], f"{joined[-1][1]} {line}")
        else:
            joined.append((line_no, line))
        previous_blank = False
    return joined


def drop_repeated_sentences(paragraph: str, similarity: float) -> tuple[str, list[str]]:
    """The paragraph with each sentence that nearly repeats an earlier one removed, and the removed sentences."""
    bounds = [0, *(m.end() for m in _SENTENCE_END.finditer(paragraph)), len(paragraph)]
    sentences = [paragraph[a:b] for a, b in zip(bounds, bounds[1:]) if paragraph[a:b].strip()]
    if len(sentences) < 2:
        return paragraph, []
    kept, repeats, earlier = [], [], []
    for sentence in sentences:
        candidate = _Sentence(sentence.strip().lower())
        if len(_WORD.findall(sentence)) >= _MIN_REPEATED_WORDS and any(e.similar(candidate, similarity) for e in earlier):
            repeats.append(sentence.strip())
        else:
            kept.append(sentence)
            earlier.append(candidate)
    return ("".join(kept).strip(), repeats) if repeats else (paragraph, [])


class _Sentence:
    """A sentence, compared with the earlier ones by difflib's ratio.

    Two bounds of the ratio come first, as in difflib: from the lengths, then from the characters
    the two have in common (difflib's quick_ratio counts them in a Python loop; here Counter does,
    once per sentence). difflib indexes the second sequence of a comparison, so the earlier sentence
    is the second and is indexed once, and only when a later sentence passes both bounds.
    """

    def __init__(self, text: str):
        self.text = text

    @functools.cached_property
    def characters(self) -> Counter:
        return Counter(self.text)

    @functools.cached_property
    def matcher(self) -> SequenceMatcher:
        return SequenceMatcher(None, b=self.text, autojunk=False)

    def similar(self, later: "_Sentence", threshold: float) -> bool:
        total = len(later.text) + len(self.text)
        if 2 * min(len(later.text), len(self.text)) / total < threshold:  # real_quick_ratio
            return False
        if 2 * (later.characters & self.characters).total() / total < threshold:  # quick_ratio
            return False
        self.matcher.set_seq1(later.text)
        return self.matcher.ratio() >= threshold


