"""Reading HTML pages, JSONL and Parquet records and WARC files into documents, and quarantining what cannot be read."""

import gzip
import io
import json
from datetime import UTC, date, datetime

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import trafilatura
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from conftest import run_stages

from newsflow import counters
from newsflow.batch import Batch
from newsflow.settings import Settings
from newsflow.sources import formats
from newsflow.sources.files import doc_id_for
from newsflow.sources.html import authors, read_page
from newsflow.stages import clean, extract, ingest, plan

STARTED = datetime(2026, 1, 5, tzinfo=UTC)
PARAGRAPHS = [
    "The harbour board of Lindqvist approved a plan on Monday to rebuild the old grain pier, which storms damaged "
    "twice in the past decade, and to open it to ferries from the islands by the end of next year.",
    "Board chair Maren Holt said the vote followed two years of public meetings. “The pier is where this town "
    "began, and we want it to carry people again,” she told reporters after the session.",
    "Engineers estimate the work at 41 million crowns. Half will come from the regional transport fund, the rest "
    "from harbour fees, which rise by four percent from March for cargo ships longer than ninety metres.",
    "Fishing crews who moor beside the pier will move to the north basin during the work, which is to begin in "
    "the spring once the winter ice has gone.",
]


def news_page(*, date: bool = True, comments: bool = True, head: str = '<meta name="author" content="Karin Berg">',
              byline: str = "", aside: str = "") -> str:
    published = '<meta property="article:published_time" content="2025-11-03T09:30:00+01:00">' if date else ""
    body = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    comment_section = (
        '<section id="comments" class="comments"><h3>Comments</h3><div class="comment"><p>First! Great news for '
        "the town, I hope the ferries stop here every hour and that the fares stay low for everyone.</p></div></section>"
        if comments
        else ""
    )
    return f"""<!DOCTYPE html><html lang="sv-SE"><head><meta charset="utf-8">
<title>Old grain pier to be rebuilt for ferries | Lindqvist Tidning</title>
<meta property="og:title" content="Old grain pier to be rebuilt for ferries">
<meta property="og:site_name" content="Lindqvist Tidning">
<link rel="canonical" href="https://tidning.example/news/grain-pier">
{head}{published}</head>
<body><nav><ul><li><a href="/">Home</a></li><li><a href="/sport">Sport</a></li><li><a href="/weather">Weather</a></li></ul></nav>
{aside}<article><h1>Old grain pier to be rebuilt for ferries</h1>{byline}
<figure><img src="pier.jpg" alt=""><figcaption>The grain pier after the storm of 2021.</figcaption></figure>
{body}</article>{comment_section}
<footer><p>Copyright Lindqvist Tidning. All rights reserved.</p></footer></body></html>"""


INDEX_PAGE = """<html><head><title>Sections</title></head><body><nav><a href="/a">A</a> <a href="/b">B</a></nav></body></html>"""


def settings_for(source, output, **more) -> Settings:
    return Settings(source_dir=source, output_dir=output, **more)


def read_source(source, output, **more) -> Batch:
    settings = settings_for(source, output, **more)
    return ingest.run(plan.run(Batch("run-1", STARTED), settings), settings)


def quarantined(batch: Batch) -> dict[str, str]:
    return dict(batch.quarantine.select("source_uri", "code").iter_rows())


def test_an_html_page_becomes_its_article_with_what_the_page_states(tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    (source / "pier.html").write_text(news_page(), encoding="utf-8")
    settings = settings_for(source, tmp_path / "out")
    batch = clean.run(ingest.run(plan.run(Batch("run-1", STARTED), settings), settings), settings)
    batch = extract.run(batch.updated(documents=batch.documents.with_columns(lang=pl.lit("sv"))), settings)
    doc = batch.documents.row(0, named=True)
    assert doc["source_format"] == "html" and doc["source_uri"] == "pier.html"
    assert doc["title"] == "Old grain pier to be rebuilt for ferries"
    assert doc["text"].split("\n\n") == [doc["title"], *PARAGRAPHS]  # comments, menu and footer are not the article
    assert doc["authors"] == ["Karin Berg"] and doc["byline"] == "Karin Berg"
    assert doc["published_at"] == datetime(2025, 11, 3) and doc["published_at_raw"] == "2025-11-03"
    assert doc["url"] == "https://tidning.example/news/grain-pier"
    assert doc["site_name"] == "Lindqvist Tidning"
    assert doc["declared_lang"] == "sv"
    assert doc["captions"] == ["The grain pier after the storm of 2021."]
    page_bytes = news_page().encode("utf-8")
    assert doc["size_bytes"] == len(page_bytes) and doc["encoding"] == "utf-8"
    assert doc["page_chars"] > sum(map(len, PARAGRAPHS)) and 0 < doc["dropped_chars"] < doc["page_chars"]


def test_a_page_that_states_no_date_gets_none_and_a_gzipped_page_reads_the_same(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "pier.htm.gz").write_bytes(gzip.compress(news_page(date=False).encode("utf-8")))
    doc = read_source(tmp_path / "in", tmp_path / "out").documents.row(0, named=True)
    assert doc["published_at"] is None and doc["published_at_raw"] is None
    assert doc["raw_text"].startswith("Old grain pier to be rebuilt for ferries\n\nThe harbour board")
    assert doc["size_bytes"] == len(news_page(date=False).encode("utf-8"))  # the page's size, not the gzip file's


def test_a_page_without_an_article_and_a_broken_gzip_are_quarantined(tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    (source / "index.html").write_text(INDEX_PAGE)
    (source / "cut.html.gz").write_bytes(gzip.compress(news_page().encode())[:200])
    (source / "pier.html").write_text(news_page())
    batch = read_source(source, tmp_path / "out")
    assert batch.documents["source_uri"].to_list() == ["pier.html"]
    assert quarantined(batch) == {"cut.html.gz": "broken_gzip", "index.html": "no_article"}


def write_jsonl(path, lines: list[str], compress: bool = False) -> None:
    data = ("\n".join(lines) + "\n").encode("utf-8")
    path.write_bytes(gzip.compress(data) if compress else data)


RECORD = {
    "url": "https://news.example/a",
    "title": "Ferries return to the grain pier",
    "maintext": "\n".join(PARAGRAPHS[:2]),
    "authors": ["Karin Berg", "Olof Lind"],
    "date_publish": "2025-11-03 09:30:00",
    "language": "sv",
    "source_domain": "news.example",
}


def test_jsonl_records_are_documents_named_by_their_line_and_bad_lines_are_quarantined(tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    other = {"title": "Harbour fees rise in March", "text": PARAGRAPHS[2]}
    lines = [json.dumps(RECORD), "", "{not json", json.dumps(other), json.dumps({"title": "No text"}), "[1, 2]"]
    write_jsonl(source / "feed.jsonl", lines)
    batch = read_source(source, tmp_path / "out")
    docs = {d["source_uri"]: d for d in batch.documents.iter_rows(named=True)}
    assert list(docs) == ["feed.jsonl#L1", "feed.jsonl#L4"]
    first = docs["feed.jsonl#L1"]
    assert first["doc_id"] == doc_id_for("feed.jsonl#L1") and first["source_format"] == "jsonl"
    assert first["raw_text"] == f"{RECORD['title']}\n\n{RECORD['maintext']}"
    assert first["authors"] == ["Karin Berg", "Olof Lind"] and first["byline"] == "Karin Berg, Olof Lind"
    assert first["published_at"] == datetime(2025, 11, 3, 9, 30) and first["declared_lang"] == "sv"
    assert (first["url"], first["site_name"]) == ("https://news.example/a", "news.example")
    assert first["size_bytes"] == len(json.dumps(RECORD).encode() + b"\n")
    assert docs["feed.jsonl#L4"]["raw_text"].startswith("Harbour fees rise in March\n\nEngineers")  # the `text` field
    assert quarantined(batch) == {
        "feed.jsonl#L3": "malformed_record",
        "feed.jsonl#L5": "record_without_text",
        "feed.jsonl#L6": "malformed_record",
    }


def test_a_gzip_stream_that_breaks_keeps_the_records_before_the_break(tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    lines = [json.dumps({**RECORD, "title": f"Record number {n} of the feed"}) for n in range(200)]
    write_jsonl(source / "feed.jsonl.gz", lines, compress=True)
    data = (source / "feed.jsonl.gz").read_bytes()
    (source / "feed.jsonl.gz").write_bytes(data[: len(data) // 2])
    batch = read_source(source, tmp_path / "out")
    assert 0 < batch.documents.height < 200
    assert batch.documents["source_uri"][0] == "feed.jsonl.gz#L1"
    assert quarantined(batch) == {"feed.jsonl.gz": "broken_gzip"}
    assert batch.quarantine["detail"][0].startswith(f"after line {batch.documents.height}")


def test_a_changed_record_replaces_its_document_and_a_removed_one_is_marked_deleted(tmp_path):
    source, output = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    records = [json.dumps({**RECORD, "title": f"Pier story number {n}"}) for n in range(3)]
    write_jsonl(source / "feed.jsonl", records)
    run_stages(source, output, STARTED)
    records[1] = json.dumps({**RECORD, "title": "Pier story number 1, corrected"})
    write_jsonl(source / "feed.jsonl", records[:2])
    batch = plan.run(Batch("run-2", STARTED), settings_for(source, output))
    assert [s.source_uri for s in batch.sources] == ["feed.jsonl#L2"]
    assert (batch.counts["files_changed"], batch.counts["files_unchanged"], batch.counts["files_removed"]) == (1, 1, 1)
    assert batch.document_updates[0].rows() == [(doc_id_for("feed.jsonl#L3"), True)]


def test_parquet_rows_are_read_with_a_field_mapping_of_the_users(tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    table = pa.table(
        {
            "headline": ["Ferries return to the grain pier", "An empty row"],
            "article_body": ["\n".join(PARAGRAPHS[:2]), None],
            "writers": [["Karin Berg"], []],
            "extra": [1, 2],
        }
    )
    pq.write_table(table, source / "export.parquet")
    (source / "broken.parquet").write_bytes(b"PAR1 not really")
    mapping = tmp_path / "fields.yaml"
    mapping.write_text("text: article_body\ntitle: headline\nauthors: [writers]\n")
    batch = read_source(source, tmp_path / "out", record_fields=mapping)
    doc = batch.documents.row(0, named=True)
    assert doc["source_uri"] == "export.parquet#row=0" and doc["source_format"] == "parquet"
    assert doc["raw_text"].startswith("Ferries return to the grain pier\n\nThe harbour board")
    assert doc["authors"] == ["Karin Berg"]
    assert quarantined(batch) == {"broken.parquet": "unreadable_parquet", "export.parquet#row=1": "record_without_text"}


def test_an_unknown_field_in_the_mapping_names_the_fields_it_can_map(tmp_path):
    (tmp_path / "in").mkdir()
    write_jsonl(tmp_path / "in" / "feed.jsonl", [json.dumps(RECORD)])
    mapping = tmp_path / "fields.yaml"
    mapping.write_text("body_text: article_body\n")
    with pytest.raises(ValueError, match=r"unknown article fields \['body_text'\].*declared_lang"):
        read_source(tmp_path / "in", tmp_path / "out", record_fields=mapping)


def warc_bytes(records: list[tuple[str, str, bytes]]) -> bytes:
    """A gzipped WARC file (one member per record) of responses (target URI, content type, body)."""
    stream = io.BytesIO()
    writer = WARCWriter(stream, gzip=True)
    for uri, content_type, body in records:
        headers = StatusAndHeaders("200 OK", [("Content-Type", content_type)], protocol="HTTP/1.1")
        record = writer.create_warc_record(
            uri, "response", payload=io.BytesIO(body), http_headers=headers, warc_headers_dict={"WARC-Date": "2026-01-02T03:04:05Z"}
        )
        writer.write_record(record)
    return stream.getvalue()


def test_warc_html_responses_become_documents_and_other_records_are_counted(tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    page = news_page(date=False).encode("utf-8")
    (source / "crawl.warc.gz").write_bytes(
        warc_bytes([("https://tidning.example/logo.png", "image/png", b"\x89PNG..."), ("https://tidning.example/p?id=7", "text/html; charset=utf-8", page)])
    )
    batch = read_source(source, tmp_path / "out")
    doc = batch.documents.row(0, named=True)
    assert doc["source_uri"].startswith("crawl.warc.gz#offset=") and doc["source_format"] == "warc"
    assert doc["fetched_url"] == "https://tidning.example/p?id=7"
    assert doc["fetched_at"] == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert doc["published_at"] is None  # the page states no date; the fetch time is not one
    assert doc["raw_text"].startswith("Old grain pier to be rebuilt for ferries\n\n")
    assert doc["size_bytes"] == len(page)
    assert batch.counts["warc_records_not_html"] == 1 and batch.quarantine.height == 0
    assert counters.grouped(batch.counts)["files"]["warc_records_not_html"] == 1  # a counter the summary knows


def test_a_truncated_warc_record_is_quarantined_after_the_records_before_it(tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    page = news_page().encode("utf-8")
    data = warc_bytes([("https://tidning.example/a", "text/html", page), ("https://tidning.example/b", "text/html", page)])
    (source / "crawl.warc.gz").write_bytes(data[: len(data) - 300])
    batch = read_source(source, tmp_path / "out")
    assert batch.documents["fetched_url"].to_list() == ["https://tidning.example/a"]
    (uri, code), = quarantined(batch).items()
    assert code == "truncated_warc_record" and uri.startswith("crawl.warc.gz#offset=")
    assert int(uri.rsplit("=", 1)[1]) > 0


def test_every_known_suffix_is_found_and_others_are_not(tmp_path):
    names = ["a.txt", "b.HTML", "c.htm.gz", "d.jsonl.gz", "e.parquet", "f.warc", "g.warc.gz", "h.json", "i.gz", "j.html.bz2"]
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in formats.find_source_files(tmp_path).files] == names[:7]


def test_the_pages_json_ld_writes_the_authors_names_and_leaves_organisations_out_beside_people():
    structured = [
        {"@type": "NewsArticle", "author": [{"@type": "Person", "name": "Karin B. Berg"}, {"@type": "NewsMediaOrganization", "name": "Harbour Post"}]},
        {"@type": "Person", "name": "Karin B. Berg"},
        {"@type": "NewsMediaOrganization", "name": "Harbour Post"},
    ]
    # trafilatura drops the initial's dot and lists the outlet among the authors
    assert authors("Karin B Berg; Harbour Post", None, structured) == ["Karin B. Berg"]
    # an organisation alone is the author
    assert authors("Harbour Post", None, structured) == ["Harbour Post"]
    assert authors("Karin B Berg; Harbour Post", None) == ["Karin B Berg", "Harbour Post"]


def test_a_desk_credit_is_no_author():
    assert authors("Harbour Post Staff", None) == [] and authors("Staff reports; Karin Berg", None) == ["Karin Berg"]


def test_where_the_metadata_names_only_the_site_the_visible_byline_names_the_authors():
    # the author meta tag names the site (its og:site_name); trafilatura's byline elements name the reporter
    page = news_page(head='<meta name="author" content="Lindqvist Tidning">', byline='<p class="author">Karin Berg</p>')
    assert read_page(page).authors == ["Karin Berg"]
    # no author metadata: the links to author pages under the headline, not those of a list of other stories before it
    aside = '<aside><h2>Most read</h2><p>Ice on the fjord, by <a href="/author/nek/">Nils Ek</a></p></aside>'
    byline = '<p>By <a href="/author/kberg/">Karin Berg</a> and <a href="/author/olind/">Olof Lind, Harbour Wire</a></p>'
    assert read_page(news_page(head="", byline=byline, aside=aside)).authors == ["Karin Berg", "Olof Lind"]
    assert read_page(news_page(head="", aside=aside)).authors == []
    # nor a photographer's credit in a picture's caption
    photo = '<figure><img src="ice.jpg" alt=""><figcaption>The pier. By <a href="/author/pek/">Per Ek</a></figcaption></figure>'
    assert read_page(news_page(head="", byline=photo + byline)).authors == ["Karin Berg", "Olof Lind"]


def test_the_sites_host_and_the_copyright_holder_are_no_authors_beside_a_person():
    assert authors("Karin Berg; Harbourpost Com", None, page_urls=("https://www.harbourpost.com/news/a",)) == ["Karin Berg"]
    tree = trafilatura.load_html(
        '<html><head><meta name="copyright" content="Copyright (c) Harbour Media 2025">'
        '<meta name="author" content="Karin B. Berg, Olof Lind"></head><body><p>Text</p></body></html>'
    )
    # the author meta tag also writes the names (trafilatura drops the initial's dot)
    assert authors("Harbour Media; Karin B Berg", None, tree=tree) == ["Karin B. Berg"]
    assert authors("Harbour Media", None, tree=tree) == ["Harbour Media"]


def test_the_date_line_under_the_headline_is_the_publication_day_but_not_an_update():
    def day(head: str, line: str):
        return read_page(news_page(date=False, head=head, byline=f"<p>By Karin Berg</p><p>{line}</p>")).published_on

    # a last-modified tag mirroring the server's response is when the page was served, not published
    served = '<meta name="last-modified" content="Sat, 17 Feb 2024 16:02:01 GMT">'
    assert day(served, "Date: December 13, 2023") == date(2023, 12, 13)
    # the page prints its own local day of a UTC timestamp
    utc = '<meta property="article:published_time" content="2025-11-03T22:30:00Z">'
    assert day(utc, "November 4, 2025 — 9.30am") == date(2025, 11, 4)
    # an update the page prints is not the publication; nor is a numeric date that reads both ways
    updated = utc + '<meta property="article:modified_time" content="2025-11-06T10:00:00Z">'
    assert day(updated, "Updated November 6, 2025") == date(2025, 11, 3)
    assert day(utc, "4/11/2025") == date(2025, 11, 3)
