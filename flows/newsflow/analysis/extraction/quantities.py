"""Numbers stated in the text: money, percentages, measures and counts of things.

One regular expression finds them; spans the NER model reads as dates, times or names are left
out (years, `six months`, `1300 GMT`, `Power of Siberia 2`), and so are the dates it misses: a number
next to a month name (`11 September`, `Sept. 11`), an ordinal (`the 11th`), a decade (`the 90s`) and
a year after a preposition of time (`in 2023 prices rose`). A count's unit is the noun it
counts (`30,000 new fighters` -> fighters); a vague amount (`tens of thousands`) has no value.
"""

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

# A whole number, not the tail or head of a code, score, time or date (Su-35, 4-2, 10:03, 21.03.2023).
_NUMBER = r"(?<![\w.,/:-])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?!\.?\d)"
_SCALES = {"hundred": 1e2, "thousand": 1e3, "k": 1e3, "million": 1e6, "mn": 1e6, "m": 1e6, "billion": 1e9, "bn": 1e9, "trillion": 1e12, "tn": 1e12}
_WORD_NUMBERS = {
    word: value
    for value, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
        "seventeen eighteen nineteen".split()
    )
} | {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "dozen": 12}
# `one` is left out on its own: it is a pronoun far more often than a count (`one of several`, `no one`).
_COUNT_WORDS = "|".join(sorted((w for w in _WORD_NUMBERS if w not in ("zero", "one")), key=len, reverse=True))
_BIG = r"(?:hundred|thousand|million|billion|trillion)"
_VAGUE = r"(?:tens|hundreds|thousands|millions|billions|dozens)(?:\s+of\s+(?:thousands|millions|billions))?"
_CURRENCY_SYMBOLS = {"US$": "USD", "$": "USD", "A$": "AUD", "C$": "CAD", "HK$": "HKD", "NZ$": "NZD", "S$": "SGD", "£": "GBP", "€": "EUR", "₹": "INR", "₽": "RUB"}
_CURRENCY_WORDS = {
    "dollar": "USD", "dollars": "USD", "euro": "EUR", "euros": "EUR", "yuan": "CNY", "renminbi": "CNY", "yen": "JPY",
    "rouble": "RUB", "roubles": "RUB", "ruble": "RUB", "rubles": "RUB", "rupee": "INR", "rupees": "INR",
    "usd": "USD", "eur": "EUR", "gbp": "GBP", "jpy": "JPY", "cny": "CNY", "rub": "RUB", "inr": "INR",
}  # `pounds` is left out: money or weight
_SYMBOL = "|".join(re.escape(s) for s in sorted(_CURRENCY_SYMBOLS, key=len, reverse=True))
_CURRENCY_WORD = "|".join(sorted(_CURRENCY_WORDS, key=len, reverse=True))
_MEASURE_UNITS = (
    r"mm|cm|km|kg|mg|lbs?|oz|ft|mph|km/h|kph|knots|miles?|metres?|meters?|kilometres?|kilometers?|millimetres?"
    r"|millimeters?|centimetres?|centimeters?|feet|foot|inch(?:es)?|yards?|tonnes?|tons?|kilograms?|grams?|litres?"
    r"|liters?|gallons?|barrels?|bpd|acres?|hectares?|sq\s?(?:km|miles?|metres?|meters?|ft)|square\s(?:kilometres?|kilometers?|miles?|metres?|meters?|feet)"
    r"|°C|°F|degrees(?:\s(?:Celsius|Fahrenheit))?|[kMGT]Wh?|[KMGT]B|[MG]bps|calibre|caliber"
)
# A quantity starts at a digit, a currency sign or the start of a word: the search passes over every other
# character at once (over the 2,225 bbc-news articles, 1.2 s instead of 2.7 trying each alternative everywhere).
_START = r"(?=[\d$£€₹₽]|\b[a-z])"
_QUANTITY = re.compile(
    rf"{_START}(?:(?P<money>(?P<symbol>{_SYMBOL})\s?(?P<money_number>{_NUMBER})(?:\s?(?P<money_scale>thousand|million|billion|trillion|bn|mn|tn|m|k)\b)?"
    rf"|(?P<money_number2>{_NUMBER})(?:\s?(?P<money_scale2>{_BIG}|bn|mn|tn|m|k)\b)?\s(?P<currency>{_CURRENCY_WORD})\b"
    rf"|(?P<vague_money>{_VAGUE})\sof\s(?P<vague_currency>{_CURRENCY_WORD})\b)"
    rf"|(?P<percent>(?P<percent_number>{_NUMBER})\s?(?P<percent_unit>%|per\s?cent\b|percent\b|percentage\spoints?\b))"
    rf"|(?P<measure>(?P<measure_number>{_NUMBER})(?:\s|-)?(?P<unit>{_MEASURE_UNITS})(?![\w/]))"
    # not a score, a range, a fraction or a time: 4-2, 6/8, 10:03
    rf"|(?P<count>(?P<count_number>{_NUMBER})(?![-/:]\d)(?:\s?(?P<count_scale>{_BIG}|bn|tn)\b)?(?:-(?P<compound>[a-z]+)\b)?"
    # a figure in words: `two`, `a dozen`, `one million`
    rf"|\b(?P<count_word>{_COUNT_WORDS}|one(?=\s{_BIG})|a\s(?:hundred|thousand|million|dozen))(?:\s(?P<count_word_scale>{_BIG}))?\b(?!-)"
    rf"|\b(?P<vague>{_VAGUE})\b)(?:(?P<of>\sof)(?=\s))?)",
    re.IGNORECASE,
)
# A counted noun is one of the next few words; these end the noun phrase.
_NOUN_PHRASE = re.compile(r"\s+([A-Za-z][\w’'-]*)")
_NOT_NOUNS = frozenset(
    "a an the of in on at to for from by with and or but as than that which who whom whose this these those it its his "
    "her their our your was were is are be been being has have had will would could should may might can do does did "
    "not no per each every more less most least over under about into onto after before since during while when where "
    "said says say told up down out off also just only still even again here there ago them us you me him".split()
)
_MAX_NOUN_WORDS = 3
_IRREGULAR_PLURALS = frozenset("people men women children police staff personnel cattle sheep fish deer feet teeth mice aircraft".split())
_TIME_UNITS = frozenset("second seconds minute minutes hour hours day days week weeks month months year years decade decades".split())
_YEAR = re.compile(r"1[89]\d\d|20\d\d")
_MONTH = r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
# What makes a number a date: a month just before a day or year (`September 11`, `Sept. 11`, `March 2023`) ...
_MONTH_BEFORE = re.compile(rf"\b{_MONTH}\.?\s+(?:the\s+)?$")
# ... or just after it (`11 September`, `11th of March`), an ordinal or decade ending (`21st`, `1990s`, `'90s`).
_DATE_AFTER = re.compile(rf"(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}\b\.?|(?:st|nd|rd|th|s|'s|’s)\b")
_YEAR_PREPOSITION = re.compile(r"\b(?:in|since|until|till|by|before|after|during)\s+$", re.IGNORECASE)


@dataclass(frozen=True)
class Quantity:
    start: int
    end: int
    text: str
    kind: str
    value: float | None
    unit: str | None


def find_quantities(text: str, excluded: Sequence[tuple[int, int]]) -> list[Quantity]:
    """Every quantity in text, except those overlapping an excluded span (dates, times, names)."""
    excluded = sorted(excluded)
    starts = [start for start, _ in excluded]
    found = []
    for match in _QUANTITY.finditer(text):
        i = bisect_right(starts, match.end() - 1) - 1  # the last excluded span starting inside or before the number
        if (i >= 0 and excluded[i][1] > match.start()) or _is_date(text, match):
            continue
        if quantity := _read(text, match):
            found.append(quantity)
    return found


def _is_date(text: str, match: re.Match) -> bool:
    """A whole number the NER model did not read as a date, which is one by its neighbours."""
    if not match.group("count_number"):
        return False
    start, end = match.span("count_number")
    before = text[max(start - 20, 0) : start]
    number = match.group("count_number")
    year = _YEAR.fullmatch(number) is not None
    if _DATE_AFTER.match(text, end) or (_MONTH_BEFORE.search(before) and (year or number.isdigit() and int(number) <= 31)):
        return True
    return year and _YEAR_PREPOSITION.search(before) is not None


def _read(text: str, match: re.Match) -> Quantity | None:
    group = match.group
    if group("money"):
        if group("symbol"):
            value = _number(group("money_number")) * _SCALES.get((group("money_scale") or "").lower(), 1)
            return _quantity(match, "money", value, _CURRENCY_SYMBOLS[group("symbol").upper()])
        if group("currency"):
            value = _number(group("money_number2")) * _SCALES.get((group("money_scale2") or "").lower(), 1)
            return _quantity(match, "money", value, _CURRENCY_WORDS[group("currency").lower()])
        return _quantity(match, "money", None, _CURRENCY_WORDS[group("vague_currency").lower()])
    if group("percent"):
        unit = "percentage points" if "point" in group("percent_unit").lower() else "percent"
        return _quantity(match, "percent", _number(group("percent_number")), unit)
    if group("measure"):
        return _quantity(match, "measure", _number(group("measure_number")), group("unit"))
    return _count(text, match)


def _count(text: str, match: re.Match) -> Quantity | None:
    group = match.group
    if group("count_number"):
        value = _number(group("count_number")) * _SCALES.get((group("count_scale") or "").lower(), 1)
        if compound := group("compound"):  # `12-point proposal`; `10-year` is a duration
            return None if compound.lower() in _TIME_UNITS else _quantity(match, "count", value, compound)
    elif group("count_word"):
        word = group("count_word").lower().split()[-1]  # `a hundred` -> hundred
        value = float(_WORD_NUMBERS.get(word) or _SCALES[word]) * _SCALES.get((group("count_word_scale") or "").lower(), 1)
    else:
        value = None
    noun, end = _counted_noun(text, match.end())
    if noun is None:
        if (group("count_word") and not group("count_word_scale")) or group("vague"):
            return None  # a spelled-out number with nothing counted is a figure of speech, not data
        if group("count_number") and not group("count_scale") and _YEAR.fullmatch(group("count_number")):
            return None  # a year the NER model missed
        end = match.start("of") if group("of") else match.end()  # `30 of the 50 members`: the number alone
    elif noun.lower() in _TIME_UNITS:
        return None  # a duration: a time, not a count
    return Quantity(match.start(), end, text[match.start() : end], "count", value, noun)


def _counted_noun(text: str, pos: int) -> tuple[str | None, int]:
    """The noun a number counts and where it ends: the first plural of the next words (`new fighters`, `Ukrainian
    children`), else the first word in lower case."""
    words = []
    while len(words) < _MAX_NOUN_WORDS:
        match = _NOUN_PHRASE.match(text, pos)
        if not match:
            break
        word = match.group(1)
        if word.lower() in _NOT_NOUNS or (words and word[0].isupper() and not words[-1][0][0].isupper()):
            break
        words.append((word, match.end()))
        pos = match.end()
    if not words:
        return None, pos
    plural = next(((w, e) for w, e in words if (w.endswith("s") and not w.endswith("ss")) or w.lower() in _IRREGULAR_PLURALS), None)
    return plural or next(((w, e) for w, e in words if w[0].islower()), words[0])  # `Danish kroner`: not the adjective


def _quantity(match: re.Match, kind: str, value: float | None, unit: str | None) -> Quantity:
    end = match.start("of") if match.group("of") else match.end()
    return Quantity(match.start(), end, match.string[match.start() : end], kind, value, unit)


def _number(digits: str) -> float:
    return float(digits.replace(",", ""))
