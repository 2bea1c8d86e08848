"""clean: Unicode repair, boilerplate rules, paragraphs, repeated sentences."""

from datetime import UTC, datetime

import polars as pl
import pytest

from conftest import SEEDS

from newsflow.analysis.cleaning import (
    clean_article,
    drop_repeated_sentences,
    join_wrapped_lines,
    load_boilerplate_rules,
    normalise_text,
)
from newsflow.batch import Batch
from newsflow.settings import Settings
from newsflow.stages import clean, ingest, plan

RULES = load_boilerplate_rules(Settings().boilerplate_rules)


def rule_for(line: str) -> str | None:
    return next((rule.name for rule in RULES if rule.matches(line)), None)


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        ("Leave a comment", "comment_prompt"),
        ("Leave A Reply", "comment_prompt"),
        ("Give Your Comments", "comment_prompt"),
        ("Your email address will not be published. Required fields are marked *", "comment_form_notice"),
        ("Your email address will not be published.", "comment_form_notice"),
        ("ALSO READ: United Kingdom imposes new sanctions on Russian top companies", "also_read_teaser"),
        ("Also Read | Russia Ukraine War History", "also_read_teaser"),
        ("Related Read | Biden Visits Kyiv", "also_read_teaser"),
        ("READ MORE: Stocks fall as rates rise", "read_more_teaser"),
        ("Source link", "source_link"),
        ("Share this article", "share_prompt"),
        ("Follow us on Twitter and Facebook", "follow_prompt"),
        ("Sign up for our daily newsletter", "newsletter_prompt"),
        ("© 2023 Reuters. All rights reserved.", "copyright_footer"),
        ("Advertisement", "advertisement_marker"),
        ("Publish : 2023-03-21 10:03:00", "publication_line"),
        ("Published: March 21, 2023", "publication_line"),
        ("Updated 21 Mar 2023, 10:03 IST", "publication_line"),
        ("Posted on 3/21/2023 by Staff", "publication_line"),
        ("Last updated on March 21, 2023 10:03 am IST", "publication_line"),
        ("First published on Tue 21 Mar 2023 10.03 GMT", "publication_line"),
        ("March 21, 2023", "date_line"),
        ("Tuesday 21 March 2023 10:03 GMT", "date_line"),
        ("2023-03-21", "date_line"),
        ("Tue, Mar 21, 2023, 10:03 AM EDT", "date_line"),
        ("By Jane Doe", "byline"),
        ("By JANE DOE and John Smith, Reuters", "byline"),
        ("By Jane Doe | Published March 21, 2023, 10:03 AM", "byline"),
        ("Written by Jean-Claude van Damme", "byline"),
        ("By Kim Sengupta, Defence Correspondent", "byline"),
    ],
)
def test_boilerplate_lines_match_their_rule(line, rule):
    assert rule_for(line) == rule


@pytest.mark.parametrize(
    "line",
    [
        "Leave a comment on the proposal, the minister told parliament on Tuesday.",
        "Readers who want to read more about the deal can find the filing online.",
        "Updated figures from the ministry show 40,000 more troops in the region.",
        "The source of the leak was never found.",
        "Putin said he would leave a reply to the letter until after the talks.",
        "Copyright holders say the bill does not go far enough.",
        "By Monday, the troops had left.",
        "By 2025, 40% of the UK's population will still be without internet access at home, says a study.",
        "By contrast Netcraft's four monitoring stations in the US managed to view the site.",
        "Saturday 20 November",
        "Published figures for March 2023 show a rise.",
    ],
)
def test_content_lines_that_mention_boilerplate_words_are_kept(line):
    assert rule_for(line) is None


def test_only_boilerplate_lines_of_the_seeds_are_removed():
    removed = {
        path.name[:3]: [(r["line"], r["rule"]) for r in clean_article(path.read_text(encoding="utf-8"), RULES, 0.9).removed_lines]
        for path in sorted(SEEDS.glob("*.txt"))
    }
    assert removed == {
        "000": [(9, "also_read_teaser"), (19, "also_read_teaser"), (27, "also_read_teaser"), (33, "comment_prompt")],
        "001": [(17, "also_read_teaser"), (42, "also_read_teaser"), (44, "comment_prompt"), (46, "comment_form_notice")],
        "002": [(61, "publication_line"), (63, "comment_prompt")],
        "003": [(3, "repeated_sentence"), (41, "comment_prompt")],
        "004": [(61, "source_link"), (63, "comment_prompt"), (65, "comment_form_notice")],
    }


def test_a_long_capitalised_sentence_after_by_is_not_a_byline():
    line = "By " + " ".join(["Word"] * 60) + " then a sentence."  # a pattern with nested repeats would hang here
    assert rule_for(line) is None


def test_unicode_is_repaired_and_whitespace_normalised():
    raw = "Putinâ€™s  visit\u00a0to\tMoscow\u200b \r\nsecond line  "
    assert normalise_text(raw) == "Putin’s visit to Moscow\nsecond line"


def test_curly_quotes_are_kept():
    assert normalise_text("‘dear friend’ and “no limits”") == "‘dear friend’ and “no limits”"


def test_hard_wrapped_lines_are_joined_but_separate_paragraphs_are_not():
    lines = ["The minister said the talks would", "continue on Tuesday.", "Beijing has denied it.", "", "Next."]
    assert join_wrapped_lines(lines) == [
        (1, "The minister said the talks would continue on Tuesday."),
        (3, "Beijing has denied it."),
        (5, "Next."),
    ]


def test_a_lower_case_line_under_a_line_in_capitals_is_not_its_continuation():
    lines = ["HARBOUR CITY EXCHANGE RATES NOON - APR 7", "us 7.80 - 7.81 uk 12.62 - 12.63", "Storm closes the ports as", "ships wait offshore"]
    assert join_wrapped_lines(lines) == [
        (1, "HARBOUR CITY EXCHANGE RATES NOON - APR 7"),
        (2, "us 7.80 - 7.81 uk 12.62 - 12.63"),
        (3, "Storm closes the ports as ships wait offshore"),
    ]


def test_a_sentence_repeated_with_small_differences_is_kept_once():
    lede = (SEEDS / "003_6a85fd70a6b4de33.txt").read_text(encoding="utf-8").splitlines()[2]
    kept, removed = drop_repeated_sentences(lede, 0.9)
    assert kept.count("Xi Jinping is schedule to meet") == 1
    assert kept.endswith("the International Criminal Court accuse him with war crimes in Ukraine.")
    assert removed == [lede[len(kept) :].strip()]


def test_different_sentences_in_a_paragraph_are_all_kept():
    paragraph = "Putin met Xi in Moscow on Monday for talks. Xi met Putin in Moscow on Tuesday for a dinner."
    assert drop_repeated_sentences(paragraph, 0.9) == (paragraph, [])


def test_stage_fills_documents_and_paragraphs_with_offsets(tmp_path):
    started = datetime(2026, 1, 1, tzinfo=UTC)
    settings = Settings(source_dir=SEEDS, output_dir=tmp_path)
    batch = clean.run(ingest.run(plan.run(Batch("run-1", started), settings), settings), settings)
    doc = batch.documents.filter(pl.col("source_uri").str.starts_with("001")).row(0, named=True)
    assert doc["title"] == "Xi Jinping Visits Putin: What It Means For The World?"
    assert "raw_text" not in batch.documents.columns
    assert doc["n_paragraphs"] == 22 and doc["n_chars"] == len(doc["text"]) and doc["n_words"] > 600
    paragraphs = batch.paragraphs.filter(pl.col("doc_id") == doc["doc_id"])
    assert paragraphs["kind"].to_list()[:2] == ["title", "body"]
    assert paragraphs.row(1, named=True)["text"] == (
        "To strengthen their alliance against the West, Xi Jinping meets with Putin in Moscow"
    )
    assert batch.counts["lines_removed"] == 15


def test_an_article_with_only_boilerplate_is_quarantined(tmp_path):
    (tmp_path / "only-boilerplate.txt").write_text("Leave a comment\n\nSource link\n")
    settings = Settings(source_dir=tmp_path, output_dir=tmp_path / "out")
    batch = clean.run(ingest.run(plan.run(Batch("run-1", datetime(2026, 1, 1, tzinfo=UTC)), settings), settings), settings)
    assert batch.documents.height == 0
    assert batch.quarantine.select("stage", "code").row(0) == ("clean", "no_content")
