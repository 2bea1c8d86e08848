"""language: paragraph and document languages, und, mixed-language documents, determinism."""

import tempfile
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from langdetect import DetectorFactory, detect_langs

from conftest import SEEDS, SESSION_DIR

from newsflow.analysis import language as language_module
from newsflow.analysis.language import UND, Thresholds, detect_document, language_probabilities
from newsflow.batch import Batch
from newsflow.settings import Settings
from newsflow.stages import clean, ingest, language, plan

GERMAN_PARAGRAPH = (
    "Der chinesische Staatschef Xi Jinping ist zu einem dreitägigen Staatsbesuch in Moskau eingetroffen. "
    "Kremlchef Wladimir Putin empfing ihn am Montag zu einem informellen Gespräch, bevor am Dienstag die "
    "offiziellen Verhandlungen beginnen sollten."
)
FRENCH_ARTICLE = """Xi Jinping en visite d'État à Moscou

Le président chinois Xi Jinping est arrivé lundi à Moscou pour une visite d'État de trois jours, la première depuis le début de l'invasion russe de l'Ukraine. Il doit s'entretenir avec Vladimir Poutine, qu'il a qualifié de « cher ami ».

Pékin se présente comme un médiateur neutre dans le conflit, mais les pays occidentaux lui reprochent de ne pas avoir condamné l'offensive russe.
"""
CHINESE_ARTICLE = """中国国家主席习近平抵达莫斯科

国家主席习近平20日乘专机抵达莫斯科，开始对俄罗斯进行国事访问。这是他连任国家主席后的首次出访。

俄罗斯总统普京在克里姆林宫与习近平举行了非正式会谈，双方就乌克兰局势等问题交换了意见。
"""


def detect_folder(source: Path, **settings) -> Batch:
    """ingest → clean → language over a folder, as a first run into a fresh output folder, without Prefect."""
    settings = Settings(source_dir=source, output_dir=Path(tempfile.mkdtemp(prefix="language-", dir=SESSION_DIR)), **settings)
    batch = plan.run(Batch("run-1", datetime(2026, 1, 1, tzinfo=UTC)), settings)
    for stage in (ingest, clean, language):
        batch = stage.run(batch, settings)
    return batch


def write_article(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder


def only_document(batch: Batch) -> dict:
    assert batch.documents.height == 1
    return batch.documents.row(0, named=True)


def paragraph_langs(batch: Batch) -> list[tuple[str, str, float | None]]:
    return batch.paragraphs.sort("para_idx").select("text", "lang", "lang_prob").rows()


@pytest.fixture(scope="module")
def seeds() -> Batch:
    return detect_folder(SEEDS)


def test_seeds_are_english_and_not_mixed(seeds):
    documents = seeds.documents
    assert documents["lang"].to_list() == ["en"] * 5
    assert documents["is_mixed_lang"].to_list() == [False] * 5
    assert documents["lang_prob"].min() > 0.999
    called = seeds.paragraphs.filter(pl.col("lang") != UND)
    assert called["lang"].unique().to_list() == ["en"] and called["lang_prob"].min() > 0.9
    # the only paragraphs left und are two captions whose trials disagree (a list of names, a phrase)
    und = seeds.paragraphs.filter(pl.col("lang") == UND)
    assert sorted(und["text"]) == [
        "China and russias president",
        "Russian President Vladimir Putin and Chinese President Xi Jinping. (Photo: Sputnik/Sergei Karpukhin/Pool via Reuters)",
    ]
    assert und["lang_prob"].null_count() == 2
    assert seeds.counts["documents_mixed_lang"] == 0 and seeds.counts["paragraphs_lang_und"] == 2


def test_a_german_paragraph_in_an_english_article_makes_it_mixed(tmp_path):
    lines = (SEEDS / "001_98ffcff286fe7b4b.txt").read_text(encoding="utf-8").splitlines()
    article = "\n".join([*lines[:6], "", GERMAN_PARAGRAPH, "", *lines[6:]])
    batch = detect_folder(write_article(tmp_path / "source", "xi-in-moscow.txt", article))
    document = only_document(batch)
    assert (document["lang"], document["is_mixed_lang"]) == ("en", True)
    assert 0.8 < document["lang_prob"] < 0.99  # the German letters are not English
    langs = {text: (lang, prob) for text, lang, prob in paragraph_langs(batch)}
    assert langs[GERMAN_PARAGRAPH][0] == "de" and langs[GERMAN_PARAGRAPH][1] > 0.99
    assert [lang for lang, _ in langs.values()].count("de") == 1


def test_a_short_quote_in_another_language_does_not_make_an_article_mixed(tmp_path):
    article = (
        "Xi arrives in Moscow for talks with Putin\n\n"
        "Chinese President Xi Jinping arrived in Moscow on Monday for a three-day state visit, "
        "his first trip abroad since securing a third term.\n\n"
        "« Merci, cher ami », a répondu Xi.\n\n"
        "Danke\n"
    )
    batch = detect_folder(write_article(tmp_path / "source", "quote.txt", article))
    assert [lang for _, lang, _ in paragraph_langs(batch)] == ["en", "en", "fr", UND]
    document = only_document(batch)
    assert (document["lang"], document["is_mixed_lang"]) == ("en", False)


def test_short_number_url_and_address_paragraphs_are_und(tmp_path):
    article = (
        "Xi arrives in Moscow for talks with Putin\n\n"
        "Reuters\n\n"
        "Talks at 10:03 on 21.03\n\n"
        "https://www.example.com/world/2023/03/21/xi-putin-moscow-talks\n\n"
        "press@example.com\n\n"
        "+7 495 123-45-67\n\n"
        "Chinese President Xi Jinping arrived in Moscow on Monday for a three-day state visit, "
        "his first trip abroad since securing a third term.\n"
    )
    batch = detect_folder(write_article(tmp_path / "source", "short.txt", article))
    langs = paragraph_langs(batch)
    assert [text for text, _, _ in langs[1:6]] == article.split("\n\n")[1:6]
    assert [(lang, prob) for _, lang, prob in langs[1:6]] == [(UND, None)] * 5
    assert langs[0][1] == langs[6][1] == "en"
    document = only_document(batch)
    assert (document["lang"], document["is_mixed_lang"]) == ("en", False)


def test_a_document_with_nothing_to_call_is_und():
    result = detect_document(["Reuters", "21.03.2023", "https://example.com/a"], language.thresholds(Settings()))
    assert (result.lang, result.prob, result.is_mixed) == (UND, None, False)


@pytest.mark.parametrize(("article", "lang"), [(FRENCH_ARTICLE, "fr"), (CHINESE_ARTICLE, "zh")])
def test_french_and_chinese_articles_get_their_language(tmp_path, article, lang):
    batch = detect_folder(write_article(tmp_path / "source", f"{lang}.txt", article))
    document = only_document(batch)
    assert (document["lang"], document["is_mixed_lang"]) == (lang, False) and document["lang_prob"] > 0.99
    assert [paragraph_lang for _, paragraph_lang, _ in paragraph_langs(batch)] == [lang] * 3


def test_detection_is_identical_across_calls_and_processes(seeds):
    paragraphs = seeds.paragraphs.group_by("doc_id", maintain_order=True).agg("text")["text"].to_list()
    paragraphs.append([GERMAN_PARAGRAPH, CHINESE_ARTICLE, FRENCH_ARTICLE])
    in_process = language.detect_documents(paragraphs, Settings())
    assert language.detect_documents(paragraphs, Settings()) == in_process
    pool = Settings(language_workers=2, language_pool_min_documents=1)
    assert language.detect_documents(paragraphs, pool) == in_process
    again = detect_folder(SEEDS)
    assert again.paragraphs.equals(seeds.paragraphs) and again.documents.equals(seeds.documents)


def test_an_exact_copy_is_detected_once_and_gets_the_same_result(monkeypatch):
    calls = []
    monkeypatch.setattr(language, "detect_document", lambda paragraphs, thresholds: calls.append(paragraphs) or detect_document(paragraphs, thresholds))
    results = language.detect_documents([[FRENCH_ARTICLE], [GERMAN_PARAGRAPH], [FRENCH_ARTICLE]], Settings())
    assert calls == [[FRENCH_ARTICLE], [GERMAN_PARAGRAPH]]
    assert [result.lang for result in results] == ["fr", "de", "fr"] and results[0] == results[2]


def test_probabilities_are_plain_langdetects(seeds, monkeypatch):
    """The same languages as seeded langdetect, with the same probabilities up to rounding (log space)."""
    monkeypatch.setattr(DetectorFactory, "seed", 0)
    texts = [*seeds.paragraphs["text"], GERMAN_PARAGRAPH, FRENCH_ARTICLE, CHINESE_ARTICLE, "China and russias president"]
    for text in texts:
        plain = {}
        for found in detect_langs(text):
            plain[found.lang.split("-")[0]] = plain.get(found.lang.split("-")[0], 0.0) + found.prob
        ours = dict(language_probabilities(text))
        assert ours.keys() == plain.keys(), text
        assert all(abs(ours[lang] - plain[lang]) < 1e-9 for lang in plain), text


def test_a_document_whose_paragraphs_are_too_uncertain_to_call_takes_the_language_most_trials_agree_on():
    # min_prob above 1: no paragraph is sure enough, so the trials of all of them vote for the document.
    unsure = Thresholds(min_letter_bytes=20, min_prob=1.01, mixed_min_letters=40)
    result = detect_document([FRENCH_ARTICLE.split("\n\n")[1], FRENCH_ARTICLE.split("\n\n")[2]], unsure)
    assert [call.lang for call in result.paragraphs] == [UND, UND]
    assert (result.lang, result.is_mixed) == ("fr", False) and result.prob > 0.5


def test_a_figure_sheet_with_its_headline_in_capitals_is_english():
    thresholds = Thresholds(min_letter_bytes=20, min_prob=0.9, mixed_min_letters=40)
    sheets = [
        ["NORTHWIND TELECOMMUNICATIONS INC <NWT> 3RD QTR NET", "SPRINGFIELD, Ill., Oct 20 - Shr 1.15 dlrs vs 1.22 dlrs",
         "Net 3,301,000 vs 3,466,000", "Revs 21.2 mln vs 20.8 mln", "Nine Mths", "Shr 2.38 dlrs vs 2.58 dlrs", "Reuter"],
        ["LAKESIDE SUPPLY CORP <LKS> 2ND QTR APRIL 30 NET", "NEW YORK, June 2 - Shr 44 cts vs 39 cts", "Net 12.1 mln vs 10.9 mln",
         "Revs 301.5 mln vs 280.2 mln", "Six mths", "Shr 80 cts vs 71 cts", "Reuter"],
    ]
    assert [detect_document(sheet, thresholds).lang for sheet in sheets] == ["en", "en"]


RESULTS = [
    "Borussia Kranzberg 2 (Vogelsang 12th, Schwarzmeier 57th) Eintracht Wolkenfeld 1 (Brückner 80th)",
    "Fortuna Steinhausen 0 Viktoria Grünwalde 3 (Hoffmeister 4th, Kleinschmidt 33rd, Wendelstein 88th)",
    "Rot-Weiss Ahlenbruch 1 (Ziegenbein 45th) Germania Lindenhof 1 (Oberhauser 70th)",
]


def test_a_results_table_is_called_by_its_prose_and_without_prose_is_und():
    thresholds = language.thresholds(Settings())
    article = ["SOCCER - NORTHERN LEAGUE RESULTS.", "Results of the northern league matches played on Sunday:", *RESULTS]
    result = detect_document(article, thresholds)
    # the lines of names are still called (German names, de), but they neither outvote the prose nor make it mixed
    assert [call.lang for call in result.paragraphs[2:]] == ["de", "de", "de"]
    assert (result.lang, result.is_mixed) == ("en", False)
    assert detect_document(RESULTS, thresholds).lang == UND


@pytest.mark.parametrize(
    ("paragraph", "is_list"),
    [
        ("Fortuna Steinhausen 0 Viktoria Grünwalde 3 (Hoffmeister 4th)", True),
        ("Results of the northern league matches played on Sunday:", False),
        ("Die Stadt Kranzberg hat am Montag einen neuen Haushalt beschlossen.", False),  # German nouns are capitalised
        ("NORTHERN LEAGUE RESULTS", False),  # capitals show no case
        ("Anna Berg", False),  # too short to tell
    ],
)
def test_a_list_is_a_paragraph_of_names_and_numbers(paragraph, is_list):
    assert language_module.is_list(paragraph) is is_list
