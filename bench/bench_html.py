"""Reading HTML pages: article body, headline, authors and date on html-dev, and pages per second.

    .venv/bin/python bench/bench_html.py [--corpus DIR]

1. Body F1 on the ScrapingHub article-extraction benchmark (181 pages), by the benchmark's metric (its README):
   `\\w+` tokens, multisets of token 4-grams of prediction and gold, per-page TP/FP/FN normalised by their sum,
   precision and recall averaged over pages, F1 from the means. newsflow's body (sources.html.read_page's
   paragraphs) beside trafilatura 2.3.1 alone (`trafilatura.extract(html)`, its defaults) on the same pages.
   Target >= 0.96; anchors: trafilatura 2.3.1 0.953, best published 0.970.
2. On the NAEB news pages (200): title exact once normalised (NFKC, case, spaces, curly quotes), authors as an
   exact set (normalised the same way), publication date on the same day (a null counts wrong only when the gold
   has a date; a date where the gold has none is invented). newsflow beside trafilatura's own metadata
   (bare_extraction, whose date is htmldate's). Targets 0.90, 0.80, 0.90 and no invented date.
3. Pages per second: the pipeline's reading of a page (sources.formats: read, gunzip, hash, decode, extract,
   metadata) beside trafilatura alone (bare_extraction with metadata) over the same NAEB pages, in one process;
   target within 2x. The whole `newsflow run` over the pages (NER, validation, publish included) is measured by
   bench/run_benchmarks.py.

The corpus is for measurement only and is never copied into the project; absent, this benchmark is skipped.
"""

import argparse
import gzip
import json
import re
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import trafilatura

from benchlib import CORPORA

from newsflow.batch import Source
from newsflow.settings import Settings
from newsflow.sources import formats
from newsflow.sources.files import Refused, decode_text, doc_id_for
from newsflow.sources.html import NoArticle, read_page

HTML_DEV = CORPORA / "html-dev"
BODY_F1_TARGET, TITLE_TARGET, AUTHORS_TARGET, DATE_TARGET, SPEED_TARGET = 0.96, 0.90, 0.80, 0.90, 0.5
ANCHORS = {
    "body": "trafilatura 2.3.1 alone 0.953; best published 0.970",
    "title": "newspaper4k 0.838, trafilatura 0.675 (whole NAEB set)",
    "authors": "trafilatura 0.700, newspaper4k 0.546 (whole NAEB set)",
    "date": "trafilatura+htmldate 0.838 (whole NAEB set)",
}
_TOKEN = re.compile(r"\w+")
_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"'})


@dataclass
class Figure:
    name: str
    value: float
    target: str
    passed: bool | None
    anchor: str

    def line(self) -> str:
        verdict = {True: "ok", False: "BELOW", None: ""}[self.passed]
        return f"{self.name:<44} {self.value:>8.3f}  target {self.target:<12} {verdict:<6} anchor: {self.anchor}"


def body_f1(predicted: dict[str, str], gold: dict[str, str]) -> tuple[float, float, float]:
    """F1, precision and recall by the ScrapingHub benchmark's metric."""
    precisions, recalls = [], []
    for page, truth in gold.items():
        pred, true = _shingles(predicted.get(page, "")), _shingles(truth)
        tp, fp, fn = sum((pred & true).values()), sum((pred - true).values()), sum((true - pred).values())
        if total := tp + fp + fn:
            tp, fp, fn = tp / total, fp / total, fn / total
        precisions.append(tp / (tp + fp) if tp + fp else 0.0)
        recalls.append(tp / (tp + fn) if tp + fn else 0.0)
    precision, recall = sum(precisions) / len(gold), sum(recalls) / len(gold)
    return 2 * precision * recall / (precision + recall), precision, recall


def _shingles(text: str, n: int = 4) -> Counter:
    tokens = _TOKEN.findall(text)
    return Counter(tuple(tokens[i : i + n]) for i in range(max(len(tokens) - n + 1, 1))) if tokens else Counter()


def normalised(text: str | None) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text or "")).strip().casefold().translate(_QUOTES)


def newsflow_page(data: bytes, url: str | None):
    """newsflow's reading of a page, or None when it finds no article."""
    try:
        return read_page(decode_text(data)[0], url)
    except (NoArticle, Refused):
        return None


def measure_scrapinghub(folder: Path) -> list[Figure]:
    gold = {page: entry["articleBody"] for page, entry in json.loads((folder / "ground-truth.json").read_text()).items()}
    pages = {page: gzip.decompress((folder / "html" / f"{page}.html.gz").read_bytes()) for page in gold}
    ours = {}
    for page, data in pages.items():
        found = newsflow_page(data, None)
        ours[page] = "\n\n".join(found.paragraphs) if found else ""
    alone = {page: trafilatura.extract(data) or "" for page, data in pages.items()}
    f1, precision, recall = body_f1(ours, gold)
    anchor_f1, anchor_p, anchor_r = body_f1(alone, gold)
    return [
        Figure(
            f"ScrapingHub body F1 ({len(gold)} pages)", f1, f">= {BODY_F1_TARGET}", f1 >= BODY_F1_TARGET,
            f"{ANCHORS['body']}; here P {precision:.3f} R {recall:.3f}; trafilatura alone measured now "
            f"{anchor_f1:.3f} (P {anchor_p:.3f} R {anchor_r:.3f})",
        )
    ]


def measure_naeb(folder: Path) -> list[Figure]:
    gold = {page: entry for page, entry in json.loads((folder / "gold.json").read_text()).items() if not page.startswith("_")}
    ours, alone = Counter(), Counter()
    for page, entry in gold.items():
        data = gzip.decompress((folder / entry["html"]).read_bytes())
        found = newsflow_page(data, entry["url"])
        day = found.published_on.isoformat() if found and found.published_on else None
        _score(ours, entry, found.title if found else None, found.authors if found else [], day)
        document = trafilatura.bare_extraction(data, url=entry["url"], with_metadata=True)
        authors = [a.strip() for a in (document.author or "").split(";") if a.strip()] if document else []
        _score(alone, entry, document.title if document else None, authors, document.date if document else None)
    n = len(gold)
    return [
        Figure(f"NAEB title exact, normalised ({n} pages)", ours["title"] / n, f">= {TITLE_TARGET}", ours["title"] / n >= TITLE_TARGET,
               f"{ANCHORS['title']}; trafilatura here {alone['title'] / n:.3f}"),
        Figure("NAEB authors, exact set", ours["authors"] / n, f">= {AUTHORS_TARGET}", ours["authors"] / n >= AUTHORS_TARGET,
               f"{ANCHORS['authors']}; trafilatura here {alone['authors'] / n:.3f}"),
        Figure("NAEB date, same day", ours["date"] / n, f">= {DATE_TARGET}", ours["date"] / n >= DATE_TARGET,
               f"{ANCHORS['date']}; trafilatura here {alone['date'] / n:.3f}; newsflow: {ours['date_wrong']} on another "
               f"day, {ours['date_missing']} missing"),
        Figure("NAEB dates invented (gold has none)", ours["date_invented"], "0", ours["date_invented"] == 0,
               f"gold without a date: {ours['gold_undated']}; trafilatura here {alone['date_invented']}"),
    ]


def _score(tally: Counter, gold: dict, title: str | None, authors: list[str], day: str | None) -> None:
    tally["title"] += normalised(title) == normalised(gold["title"])
    tally["authors"] += {normalised(a) for a in authors} == {normalised(a) for a in gold["authors"]}
    day = day[:10] if day else None
    if gold["date"] is None:
        tally["gold_undated"] += 1
        tally["date_invented"] += day is not None
        tally["date"] += day is None
    else:
        tally["date"] += day == gold["date"]
        tally["date_missing"] += day is None
        tally["date_wrong"] += day is not None and day != gold["date"]


def measure_speed(folder: Path) -> list[Figure]:
    """The pipeline's reading of every NAEB page (as ingest reads an .html.gz file) beside trafilatura alone."""
    settings = Settings(source_dir=folder / "html")
    files = formats.find_source_files(folder / "html").files
    started = time.perf_counter()
    for path in files:
        list(formats.read(path, [Source(str(path), path.name, doc_id_for(path.name))], settings))
    ours = len(files) / (time.perf_counter() - started)
    pages = [gzip.decompress(path.read_bytes()) for path in files]
    started = time.perf_counter()
    for data in pages:
        trafilatura.bare_extraction(data, with_metadata=True)
    alone = len(pages) / (time.perf_counter() - started)
    return [
        Figure(f"pages/s, newsflow's reading ({len(files)} NAEB pages)", ours, f">= {SPEED_TARGET} x alone", ours >= SPEED_TARGET * alone,
               f"trafilatura bare_extraction with metadata alone {alone:.1f} pages/s (decompressed beforehand); ratio {ours / alone:.2f}"),
    ]


def measure(corpus: Path) -> list[Figure]:
    """Every figure of the benchmark (an empty list when the corpus is absent)."""
    if not corpus.is_dir():
        print(f"corpus not found at {corpus}: pass --corpus (see ../shared/corpora/html-dev); skipped")
        return []
    return measure_scrapinghub(corpus / "scrapinghub") + measure_naeb(corpus / "naeb") + measure_speed(corpus / "naeb")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=HTML_DEV, help="html-dev folder (default ../shared/corpora/html-dev)")
    args = parser.parse_args()
    for figure in measure(args.corpus):
        print(figure.line(), flush=True)


if __name__ == "__main__":
    main()
