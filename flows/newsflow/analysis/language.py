"""The language model: langdetect, its profiles loaded once per process, seeded so that a
text gets the same answer in every run and every process.

A text is called in an ISO 639-1 code (langdetect's zh-cn and zh-tw are summed as zh) or
`und` when it has too few letters or langdetect's random trials disagree. A document's
language is not detected a second time: it is derived from its paragraphs' calls.

This module imports neither Polars nor the settings: it is all that the worker processes
of the language stage import.
"""

import functools
import math
import random
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
# Words in capitals are read in lower case: langdetect's profiles hold the n-grams of running text, and wire headlines and
# figure sheets in capitals (`ADC TELECOMMUNICATIONS INC <ADCT> 1ST QTR NET`) were called de, sv or da (reuters-dev: 15 of
# 1,000 English stories called another language before, 5 after; multilingual-dev, bbc-news and lingua unchanged).
_WORDS = re.compile(r"[^\W\d_]{2,}")
_SPACES = re.compile(" {2,}")
# A document none of whose paragraphs is called takes the language most of its letters' trials agree on.
_MAJORITY = 0.5
# Results tables and line-ups (`Hansa Rostock 0 Hamburg 1`) were called the language of their names: conll2003-train 18 of
# 927 English documents called de, fr, nl, pl, id or no before, 4 after (figure sheets with little prose); bbc-news English
# documents flagged mixed 14 -> 3, recall of an inserted foreign sentence 76.8% -> 76.3%; multilingual-dev 928/928 both.
_LIST_LOWER_SHARE = 0.2
_LIST_MIN_WORDS = 3


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
    # Every language langdetect gave (it drops those under 0.1), best first; also kept when too uncertain to call.
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
    # Lists of names and numbers do not vote: the article's prose does, and with no prose the document is und.
    prose = [call for call, text in zip(calls, paragraphs) if not is_list(text)]
    called = [call for call in prose if call.lang != UND]
    # No paragraph sure enough: the paragraphs langdetect's trials split on (a short Chinese text, 6 of 7 trials zh
    # and 1 ko: multilingual-dev 2 of 28 zh documents) vote, and the document is called when most of it agrees.
    voters = called or [call for call in prose if call.probabilities]
    if not voters:
        return DocumentLanguage(UND, None, False, calls)
    weights: Counter[str] = Counter()
    for call in voters:
        for lang, prob in call.probabilities:
            weights[lang] += call.letters * prob
    lang = min(weights, key=lambda code: (-weights[code], code))
    prob = weights[lang] / sum(call.letters for call in voters)
    if not called and prob <= _MAJORITY:
        return DocumentLanguage(UND, None, False, calls)
    is_mixed = any(call.lang != lang and call.letters >= thresholds.mixed_min_letters for call in called)
    return DocumentLanguage(lang, prob, is_mixed, calls)


def is_list(text: str) -> bool:
    """A paragraph of names and numbers (a results table, a line-up, a figure sheet's rows): of its words (in capitals
    excepted: they show no case), fewer than _LIST_LOWER_SHARE open in lower case. Prose in a cased script has most of
    its words in lower case, German with its capitalised nouns too: on multilingual-dev de 1 line in 544 is under 0.2 (a
    headline, with the article under it). Words of scripts without case (Chinese, Arabic) count as lower case."""
    words = [word for word in _WORDS.findall(_NOT_LANGUAGE.sub(" ", text)) if not word.isupper()]
    return len(words) >= _LIST_MIN_WORDS and sum(not word[0].isupper() for word in words) < _LIST_LOWER_SHARE * len(words)


def detect_text(text: str, thresholds: Thresholds) -> Call:
    """The language of one text, or und when it is too short or too uncertain to call."""
    text = _NOT_LANGUAGE.sub(" ", text)
    letters = _letters(text)
    # Letters weigh their UTF-8 bytes: a Chinese or Hindi character tells about as much as three Latin ones.
    if len(letters.encode()) < thresholds.min_letter_bytes:
        return Call(UND, None, len(letters))
    probabilities = language_probabilities(_WORDS.sub(_lower_if_capitals, text))
    if not probabilities or probabilities[0][1] < thresholds.min_prob:
        return Call(UND, None, len(letters), probabilities)
    lang, prob = probabilities[0]
    return Call(lang, prob, len(letters), probabilities)


def _lower_if_capitals(word: re.Match) -> str:
    return word.group().lower() if word.group().isupper() else word.group()


def voting_letters(text: str) -> str:
    """The letters of a text that vote for its language: those outside URLs, e-mail addresses and numbers."""
    return _letters(_NOT_LANGUAGE.sub(" ", text))


def _letters(text: str) -> str:
    return "".join(_LETTER.findall(text))


def language_probabilities(text: str) -> tuple[tuple[str, float], ...]:
    """langdetect's probabilities for the text, best first; empty when no n-gram of it is known."""
    detector = _Detector(_factory())
    detector.append(text)
    merged: Counter[str] = Counter()
    for language in detector.get_probabilities():
        merged[language.lang.split("-")[0]] += language.prob  # zh-cn, zh-tw -> zh
    return tuple(sorted(merged.items(), key=lambda item: (-item[1], item[0])))


def load_profiles() -> None:
    """Load langdetect's profiles in this process now (a worker's start-up)."""
    _factory()


@functools.cache
def _factory() -> DetectorFactory:
    """langdetect's profiles, loaded once per process, and its seed, set in every process."""
    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    factory.set_seed(SEED)
    return factory


class _Detector(Detector):
    """langdetect's Detector, made faster, with langdetect's calls and probabilities.

    A trial multiplies the profile rows (one probability per language) of randomly drawn
    n-grams, normalising after the first and then after every fifth, until one language passes
    CONV_THRESHOLD. Here the trials draw the same n-grams and the same gauss() values from the same
    Mersenne Twister stream as langdetect's Random (_Draws), and multiply in log space: the drawn
    rows' logarithms are summed in one NumPy pass over the next draws, and every normalisation
    point is checked at once. The normalised probabilities are the same numbers computed in
    another order: on 1,594 BBC paragraphs they agree with langdetect's to 1.2e-13, every call the
    same, at 0.70 ms a paragraph against 1.08 for a loop that repeated langdetect's arithmetic
    exactly (tests/test_language.py compares them). The n-grams of each word are looked up once
    per process and kept.
    """

    def append(self, text: str) -> None:
        """langdetect's append without its loop over characters: the text without URLs and e-mail
        addresses, Vietnamese normalised, cut at max_text_length, every run of spaces made one."""
        text = NGram.normalize_vi(self.MAIL_RE.sub(" ", self.URL_RE.sub(" ", text)))
        self.text += _SPACES.sub(" ", text[: self.max_text_length])

    def _extract_ngrams(self) -> list[int]:
        # langdetect's n-gram state restarts after every space, so a text's n-grams are its words' n-grams.
        words = self.text.translate(_NORMALISED).split(" ")
        grams = [gram for word in words[:-1] for gram in _word_ngrams(word + " ")]
        return grams + list(_word_ngrams(words[-1]))

    def _detect_block(self) -> None:
        self.cleaning_text()
        grams = np.array(self._extract_ngrams(), dtype=np.intp)
        langprob = np.zeros(len(self.langlist))
        if not len(grams):  # no n-gram any profile knows: no language (where langdetect raises)
            self.langprob = langprob.tolist()
            return
        draws = _Draws(self.seed, len(grams))
        for trial in range(self.n_trial):
            if trial % 2 == 0:  # random.gauss makes two values and keeps the second for its next call
                gauss, kept_gauss = draws.gauss_pair()
            else:
                gauss = kept_gauss
            weight = (self.alpha + gauss * self.ALPHA_WIDTH) / self.BASE_FREQ
            langprob += self._trial(grams, draws, weight) / self.n_trial
        self.langprob = langprob.tolist()

    def _trial(self, grams: np.ndarray, draws: "_Draws", weight: float) -> np.ndarray:
        """One trial's normalised probabilities; its draws are consumed."""
        matrix, log_prob, done = _profiles().matrix, np.zeros(len(self.langlist)), 0
        while True:
            rows = matrix.take(grams.take(draws.ahead(_DRAWS_AHEAD)), axis=0)
            logs = np.log(rows + weight, out=rows).cumsum(axis=0)
            logs += log_prob
            # langdetect checks after draw i = 0, 5, 10, …, and stops at ITERATION_LIMIT.
            checked = np.arange(-done % 5, _DRAWS_AHEAD, 5)
            at_checks = logs[checked]
            shifted = at_checks - at_checks.max(axis=1, keepdims=True)
            best = 1.0 / np.exp(shifted).sum(axis=1)  # the highest normalised probability
            stop = np.flatnonzero((best > self.CONV_THRESHOLD) | (done + checked >= self.ITERATION_LIMIT))
            if len(stop):
                draws.consume(checked[stop[0]] + 1)
                prob = np.exp(shifted[stop[0]])
                return prob / prob.sum()
            draws.consume(_DRAWS_AHEAD)
            log_prob, done = logs[-1], done + _DRAWS_AHEAD


# Draws a trial reads ahead: on the BBC paragraphs a trial takes 66 draws on average.
_DRAWS_AHEAD = 64


class _Draws:
    """What langdetect's random.Random(seed) gives a text's trials: gauss() and choice() of its n-grams.

    The generator's 32-bit words are read ahead in bulk with getrandbits, and turned into values as
    CPython's random module does: choice(n-grams) is the next word whose top n.bit_length() bits are
    below n (_randbelow); random() takes two words, and gauss() two random() values.
    """

    def __init__(self, seed: int, choices_from: int):
        self.random, self.n, self.shift = random.Random(seed), choices_from, 32 - choices_from.bit_length()
        self.words = np.empty(0, dtype="<u4")
        self.accepted = self.values = self.words
        self.position = self.next_choice = 0  # the next unread word; the next unread accepted word
        self._read(1024)

    def _read(self, count: int) -> None:
        more = np.frombuffer(self.random.getrandbits(32 * count).to_bytes(4 * count, "little"), dtype="<u4")
        self.words = np.concatenate([self.words, more])
        top_bits = self.words >> self.shift
        self.accepted = np.flatnonzero(top_bits < self.n)
        self.values = top_bits[self.accepted]  # words already read keep their place: next_choice holds

    def ahead(self, count: int) -> np.ndarray:
        """The next `count` choice() values, not consumed."""
        while self.next_choice + count > len(self.accepted):
            self._read(len(self.words))
        return self.values[self.next_choice : self.next_choice + count]

    def consume(self, count: int) -> None:
        """The trial used `count` choices: the next gauss() reads the words after them."""
        self.next_choice += count
        self.position = int(self.accepted[self.next_choice - 1]) + 1

    def gauss_pair(self) -> tuple[float, float]:
        if self.position + 4 > len(self.words):
            self._read(len(self.words))
        first, second, third, fourth = (int(word) for word in self.words[self.position : self.position + 4])
        self.position += 4
        self.next_choice = int(np.searchsorted(self.accepted, self.position))
        x2pi = _uniform(first, second) * math.tau
        g2rad = math.sqrt(-2.0 * math.log(1.0 - _uniform(third, fourth)))
        return math.cos(x2pi) * g2rad, math.sin(x2pi) * g2rad


def _uniform(high: int, low: int) -> float:
    """random.random() from two generator words."""
    return ((high >> 5) * 67108864.0 + (low >> 6)) * (1.0 / 9007199254740992.0)


class _NormalisedChars(dict):
    """str.translate table of langdetect's per-character normalisation, filled as characters appear."""

    def __missing__(self, code: int) -> str:
        self[code] = char = NGram.normalize(chr(code))
        return char


_NORMALISED = _NormalisedChars()


class _ProfileRows:
    """langdetect's profile rows (one probability per language) of the n-grams met so far, in one matrix."""

    def __init__(self):
        self.ids: dict[str, int] = {}
        self.matrix = np.empty((0, len(_factory().langlist)))

    def id(self, gram: str) -> int:
        if (found := self.ids.get(gram)) is None:
            found = self.ids[gram] = len(self.ids)
            row = _factory().word_lang_prob_map[gram]
            if found == len(self.matrix):
                grown = np.empty((max(1024, 2 * found), len(row)))
                grown[:found] = self.matrix
                self.matrix = grown
            self.matrix[found] = row
        return found


@functools.cache
def _profiles() -> _ProfileRows:
    return _ProfileRows()


@functools.lru_cache(maxsize=1 << 16)
def _word_ngrams(word: str) -> tuple[int, ...]:
    """The profile rows (_profiles() ids) of a normalised word's n-grams, in langdetect's order (normalising twice changes nothing)."""
    ids, ngram = [], NGram()
    for char in word:
        ngram.add_char(char)
        if ngram.capitalword:
            continue
        for n in range(1, NGram.N_GRAM + 1):
            if len(ngram.grams) < n:
                break
            gram = ngram.grams[-n:]
            if gram != " " and gram in _factory().word_lang_prob_map:
                ids.append(_profiles().id(gram))
    return tuple(ids)
