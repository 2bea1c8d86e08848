"""Header fields on real corpora: title and dateline against gold, fields invented, documents published.

    .venv/bin/python bench/bench_headers.py [--reuters DIR] [--bbc DIR] [--multilingual DIR] [--limit N]

1. reuters-dev (1,000 wire stories, gold title and dateline): title exact (spacing folded), target >= 0.99;
   dateline exact, narrative and figure sheets separately, target >= 0.98 each. A wire story has no
   standfirst, photo caption, credit or byline: every one found is invented (target 0).
2. bbc-news (2,225 articles, plain text: headline, then body paragraphs): none of those either (target 0).
3. multilingual-dev (928 documents): published (not quarantined by validation), target 928 / 928; the
   one-line files have a null title.

The corpora are read, cleaned, language-called, extracted and validated by the pipeline's own stages
(validation with the project's GX context). A corpus that is absent is skipped.
"""

import argparse
import json
import sys
from pathlib import Path

import polars as pl

from benchlib import BBC_NEWS, CORPORA, cleaned_batch, corpus_missing

from newsflow.analysis.extraction import headers
from newsflow.batch import Batch
from newsflow.settings import Settings
from newsflow.stages import extract, language, validate

TITLE_TARGET, DATELINE_TARGET, PUBLISHED_TARGET = 0.99, 0.98, 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reuters", type=Path, default=CORPORA / "reuters-dev")
    parser.add_argument("--bbc", type=Path, default=BBC_NEWS)
    parser.add_argument("--multilingual", type=Path, default=CORPORA / "multilingual-dev")
    parser.add_argument("--limit", type=int, default=None, help="only the first N documents of each corpus")
    args = parser.parse_args()
    failed = False
    if not corpus_missing(args.reuters):
        failed |= measure_reuters(args.reuters, args.limit)
    if not corpus_missing(args.bbc):
        failed |= report_invented("bbc-news", extracted(args.bbc, args.limit)[0])
    if not corpus_missing(args.multilingual):
        failed |= measure_published(args.multilingual, args.limit)
    sys.exit(1 if failed else 0)


def extracted(corpus: Path, limit: int | None) -> tuple[Batch, Settings]:
    """The corpus after the clean, language and extract stages, and the settings that read it."""
    settings = Settings(source_dir=corpus)
    batch = cleaned_batch(settings)
    if limit:
        batch = batch.updated(documents=batch.documents.head(limit))
        batch = batch.updated(paragraphs=batch.paragraphs.join(batch.documents.select("doc_id"), on="doc_id"))
    return extract.run(language.run(batch, settings), settings), settings


def file_name(documents: pl.DataFrame) -> list[str]:
    return [Path(uri).name for uri in documents["source_uri"]]


def measure_reuters(corpus: Path, limit: int | None) -> bool:
    gold = json.loads((corpus / "gold.json").read_text())
    batch, _ = extracted(corpus / "texts", limit)
    rows = list(zip(file_name(batch.documents), batch.documents["title"], batch.documents["dateline"]))
    titles = sum(" ".join((title or "").split()) == gold[name]["title"] for name, title, _ in rows)
    failed = show("reuters-dev title exact", titles, len(rows), TITLE_TARGET)
    for kind in ("narrative", "table"):
        of_kind = [(name, found) for name, _, found in rows if gold[name]["kind"] == kind]
        exact = sum(found == gold[name]["dateline"] for name, found in of_kind)
        failed |= show(f"reuters-dev dateline exact ({kind})", exact, len(of_kind), DATELINE_TARGET)
    return report_invented("reuters-dev", batch) or failed


def report_invented(corpus: str, batch: Batch) -> bool:
    """Standfirsts, captions, photo credits and bylines found where the corpus has none."""
    kinds = batch.paragraphs["kind"]
    captions = batch.paragraphs.filter(pl.col("kind") == headers.CAPTION)["text"]
    invented = {
        "standfirsts": int((kinds == headers.STANDFIRST).sum()),
        "captions": len(captions),
        "credits": sum(headers.has_photo_credit(text) for text in captions),
        "bylines": int(batch.documents["byline"].is_not_null().sum()),
    }
    print(f"{corpus} invented ({batch.documents.height} documents): "
          + ", ".join(f"{name} {count}" for name, count in invented.items()) + " (target 0 each)")
    return any(invented.values())


def measure_published(corpus: Path, limit: int | None) -> bool:
    batch, settings = extracted(corpus, limit)
    seen = batch.documents.height
    published = validate.run(batch, settings).documents
    one_line = published.filter(pl.col("n_paragraphs") == 1)
    print(f"multilingual-dev one-line documents with a null title: {one_line['title'].is_null().sum()} / {one_line.height}")
    return show("multilingual-dev documents published", published.height, seen, PUBLISHED_TARGET)


def show(name: str, count: int, total: int, target: float) -> bool:
    """Print the figure beside its target; True when it misses it."""
    share = count / total if total else 0.0
    print(f"{name:45s}: {count} / {total} = {share:.3f} (target >= {target:.2f})")
    return share < target


if __name__ == "__main__":
    main()
