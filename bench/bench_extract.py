"""Speed of the extract stage next to bare spaCy NER, measured in the same run.

    .venv/bin/python bench/bench_extract.py [CORPUS] [--processes N] [--limit N] [--rounds N]

CORPUS defaults to ../shared/corpora/bbc-news (relative to the repository). Both figures use
the same model, only the components NER needs and the same number of processes; the stage
must reach at least 80% of the bare figure. The documents are read and cleaned first (not
timed) and taken as English, as the language stage would find them. The machine may be
shared: the two are measured in alternation and the best round of each is compared.
"""

import argparse
import sys
import time
from pathlib import Path

import polars as pl

from benchlib import BBC_NEWS, bare_ner, cleaned_batch, corpus_missing

from newsflow.settings import Settings
from newsflow.stages import extract

REQUIRED_SHARE = 0.8
# Measured when the anchor was set (NER only, bbc-news, idle machine).
ANCHORS = {1: 19.0, 2: 26.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", nargs="?", type=Path, default=BBC_NEWS, help="folder of *.txt articles")
    parser.add_argument("--processes", type=int, default=Settings().ner_processes, help="NER processes (default: all cores)")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N articles")
    parser.add_argument("--rounds", type=int, default=2, help="alternate bare and stage this many times; the best of each counts")
    args = parser.parse_args()
    if corpus_missing(args.corpus):
        return

    settings = Settings(source_dir=args.corpus, ner_processes=args.processes)
    batch = cleaned_batch(settings)
    if args.limit:
        batch = batch.updated(documents=batch.documents.head(args.limit))
    batch = batch.updated(documents=batch.documents.with_columns(lang=pl.lit("en")))
    texts = batch.documents["text"].to_list()
    print(f"{len(texts)} documents from {args.corpus}, {args.processes} process(es), model {settings.spacy_model}")

    bare_rates, stage_rates = [], []
    for round_ in range(1, args.rounds + 1):  # alternated, so that a burst of load from others hits both
        seconds, n_entities = bare_ner(texts, settings.spacy_model, args.processes)
        bare_rates.append(len(texts) / seconds)
        started = time.perf_counter()
        extracted = extract.run(batch, settings)
        stage_rates.append(len(texts) / (time.perf_counter() - started))
        print(f"round {round_}: bare {bare_rates[-1]:.1f} docs/s, stage {stage_rates[-1]:.1f} docs/s")

    bare, stage = max(bare_rates), max(stage_rates)
    anchor = ANCHORS.get(args.processes)
    anchor_note = f" (anchor: ~{anchor:.0f} docs/s on an idle machine)" if anchor else ""
    print(f"bare spaCy NER  : {bare:6.1f} docs/s, best of {args.rounds}{anchor_note}; {n_entities} entity spans")
    print(
        f"extract stage   : {stage:6.1f} docs/s, best of {args.rounds}; {extracted.counts['entities']} entities, "
        f"{extracted.counts['quotes']} quotes, {extracted.counts['quantities']} quantities"
    )
    print(f"stage / bare    : {stage / bare:6.0%} (anchor: at least {REQUIRED_SHARE:.0%})")
    sys.exit(0 if stage >= REQUIRED_SHARE * bare else 1)


if __name__ == "__main__":
    main()
