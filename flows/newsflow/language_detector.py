"""The language model: langdetect, its profiles loaded once per process, seeded so that a
text gets the same answer in every run and every process.

A text is called in an ISO 639-1 code (langdetect's zh-cn and zh-tw are summed as zh) or
`und` when it has too few letters or langdetect's random trials disagree. A document's
language is not detected a second time: it is derived from its paragraphs' calls.

This module imports neither Polars nor the settings: it is all that the worker processes
of the language stage import.
"""

import functools
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
from langdetect.detector import Detector
from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
from langdetect.utils.ngram import NGram

UND = "und"
SEED = 0
# URLs, e-mail addresses and numbers, with what is glued to a number (1990s, $1.2bn, 5G), do not vote.
_NOT_LANGUAGE = re.compile(r"(?:https?://|www\.)\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\d[\d.,:/-]*\w*")
_LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class Thresholds:
    """When a text is called (see the language_* settings)."""

    min_letter_bytes: int
    min_prob: float
    mixed_min_letters: int


@dataclass(frozen=True)
class Call:
    """The language of one text, the probability of it, and how many letters voted."""

    lang: str
    prob: float | None
    letters: int
    # Every language langdetect gave (it drops those under 0.1), best first.
    probabilities: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class DocumentLanguage:
    lang: str
    prob: float | None
    is_mixed: bool
    paragraphs: tuple[Call, ...]


def detect_document(paragraphs: list[str], thresholds: Thresholds) -> DocumentLanguage:
    """Call every paragraph; the document speaks the language of most of its called letters.

    Its lang_prob is the probability of that language averaged over the called paragraphs,
    weighted by their letters. It is mixed when a paragraph long enough to be more than a
    name or a heading (mixed_min_letters) is called in another language; `und` paragraphs
    never count.
    """
    calls = tuple(detect_text(text, thresholds) for text in paragraphs)
    called = [call for call in calls if call.lang != UND]
    if not called:
        return DocumentLanguage(UND, None, False, calls)
    weights: Counter[str] = Counter()
    for call in called:
        for lang, prob in call.probabilities:
            weights[lang] += call.letters * prob
    lang = min(weights, key=lambda code: (-weights[code], code))
    prob = weights[lang] / sum(call.letters for call in called)
    is_mixed = any(call.lang != lang and call.letters >= thresholds.mixed_min_letters for call in called)
    return DocumentLanguage(lang, prob, is_mixed, calls)


def detect_text(text: str, thresholds: Thresholds) -> Call:
    """The language of one text, or und when it is too short or too uncertain to call."""
    text = _NOT_LANGUAGE.sub(" ", text)
    letters = voting_letters(text)
    # Letters weigh their UTF-8 bytes: a Chinese or Hindi character tells about as much as three Latin ones.
    if len(letters.encode()) < thresholds.min_letter_bytes:
        return Call(UND, None, len(letters))
    probabilities = language_probabilities(text)
    if not probabilities or probabilities[0][1] < thresholds.min_prob:
        return Call(UND, None, len(letters))
    lang, prob = probabilities[0]
    return Call(lang, prob, len(letters), probabilities)


def voting_letters(text: str) -> str:
    """The letters of a text that vote for its language: those outside URLs, e-mail addresses and numbers."""
    return "".join(_LETTER.findall(_NOT_LANGUAGE.sub(" ", text)))


def language_probabilities(text: str) -> tuple[tuple[str, float], ...]:
    """langdetect's probabilities for the text, best first; empty when no n-gram of it is known."""
    detector = _Detector(_factory())
    detector.append(text)
    merged: Counter[str] = Counter()
    for language in detector.get_probabilities():
        merged[language.lang.split("-")[0]] += language.prob  # zh-cn, zh-tw -> zh
    return tuple(sorted(merged.items(), key=lambda item: (-item[1], item[0])))


@functools.cache
def _factory() -> DetectorFactory:
    """langdetect's profiles, loaded once per process, and its seed, set in every process."""
    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    factory.set_seed(SEED)
    return factory


class _Detector(Detector):
    """langdetect's Detector with its two hot loops made faster and its results unchanged.

    The n-grams of each word are extracted once per process and kept; the trials multiply
    NumPy rows instead of Python lists, with the same operations in the same order, so the
    probabilities are langdetect's to the last bit (tests/test_language.py compares them).
    """

    def _extract_ngrams(self) -> list[np.ndarray]:
        # langdetect's n-gram state restarts after every space, so a text's n-grams are its words' n-grams.
        words = self.text.translate(_NORMALISED).split(" ")
        rows = [row for word in words[:-1] for row in _word_ngram_rows(word + " ")]
        return rows + list(_word_ngram_rows(words[-1]))

    def _detect_block(self) -> None:
        self.cleaning_text()
        rows = self._extract_ngrams()
        n_langs = len(self.langlist)
        langprob = np.zeros(n_langs)
        if not rows:  # no n-gram any profile knows: no language (where langdetect raises)
            self.langprob = langprob.tolist()
            return
        self.random.seed(self.seed)
        for _ in range(self.n_trial):
            prob = np.full(n_langs, 1.0 / n_langs)
            weight = (self.alpha + self.random.gauss(0.0, 1.0) * self.ALPHA_WIDTH) / self.BASE_FREQ
            i = 0
            while True:
                prob *= weight + self.random.choice(rows)
                if i % 5 == 0:
                    prob /= sum(prob.tolist())  # Python's left-to-right sum, as langdetect does
                    if prob.max() > self.CONV_THRESHOLD or i >= self.ITERATION_LIMIT:
                        break
                i += 1
            langprob += prob / self.n_trial
        self.langprob = langprob.tolist()


class _NormalisedChars(dict):
    """str.translate table of langdetect's per-character normalisation, filled as characters appear."""

    def __missing__(self, code: int) -> str:
        self[code] = char = NGram.normalize(chr(code))
        return char


_NORMALISED = _NormalisedChars()


@functools.lru_cache(maxsize=1 << 16)
def _word_ngram_rows(word: str) -> tuple[np.ndarray, ...]:
    """The profile rows of a normalised word's n-grams, in langdetect's order (normalising twice changes nothing)."""
    rows, ngram = [], NGram()
    for char in word:
        ngram.add_char(char)
        if ngram.capitalword:
            continue
        for n in range(1, NGram.N_GRAM + 1):
            if len(ngram.grams) < n:
                break
            gram = ngram.grams[-n:]
            if gram != " " and gram in _factory().word_lang_prob_map:
                rows.append(_profile_row(gram))
    return tuple(rows)


@functools.cache
def _profile_row(gram: str) -> np.ndarray:
    return np.array(_factory().word_lang_prob_map[gram])
