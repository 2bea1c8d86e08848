"""Language detection: accuracy on the lingua test data, cost on the BBC corpus.

    .venv/bin/python bench/bench_language.py [--lingua DIR] [--bbc DIR] [--lines N]

1. Accuracy. For every language langdetect knows that lingua-testdata has (50), the first
   N lines of sentences/ and of word-pairs/ are called by the stage's detector and by plain
   langdetect (detect_langs top-1, seeded). Accuracy is given two ways: correct / lines
   called (und is not a call) and correct / all lines; und is the share of lines called und.
   Anchor: plain langdetect on sentences, 98.2%.
2. Calibration of the thresholds: how often calls are right by letter bytes and by how many
   of langdetect's 7 trials agree (raw detector, no thresholds).
3. Cost on the BBC corpus (2,225 English articles): ms per document of the language stage
   (all cores, then one) next to plain langdetect, one detect() per document on one core.
   Anchor: langdetect's own cost, ~6 ms per 2 KB article.
4. Mixed-language documents on BBC: documents flagged as is (all are English), and recall
   when one lingua sentence in another language is added to each as a paragraph.
5. Document language on multilingual-dev (928 documents, 16 languages, labels.tsv): the language
   stage's document call against the label, per language. Target >= 0.99 for each.

A corpus that is absent is skipped with a message.
"""

import argparse
import os
import resource
import sys
import time
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import polars as pl
from langdetect import DetectorFactory, detect, detect_langs
from langdetect.detector_factory import PROFILES_DIRECTORY, init_factory
from langdetect.lang_detect_exception import LangDetectException

from benchlib import CORPORA, cleaned_batch

from newsflow.analysis.language import UND, Thresholds, detect_text, is_list, voting_letters
from newsflow.batch import Batch
from newsflow.settings import Settings
from newsflow.stages import language

PLAIN_SENTENCE_ACCURACY = 0.982
LANGDETECT_MS_PER_DOC = 6.0
SETS = ("sentences", "word-pairs")
RAW = Thresholds(min_letter_bytes=0, min_prob=0.0, mixed_min_letters=1)
KNOWN = frozenset(name.split("-")[0] for name in os.listdir(PROFILES_DIRECTORY))  # zh-cn, zh-tw -> zh


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lingua", type=Path, default=CORPORA / "lingua-testdata")
    parser.add_argument("--bbc", type=Path, default=CORPORA / "bbc-news")
    parser.add_argument("--multilingual", type=Path, default=CORPORA / "multilingual-dev")
    parser.add_argument("--lines", type=int, default=300, help="first N lines per language and set (default 300)")
    args = parser.parse_args()
    settings = Settings()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    if args.lingua.is_dir():
        records = lingua_records(args.lingua, args.lines, settings)
        print_accuracy(records)
        print_calibration(records, settings)
    else:
        print(f"lingua test data not found at {args.lingua}: accuracy skipped (pass --lingua DIR)")
    if args.bbc.is_dir():
        batch = bbc_batch(args.bbc)
        print_cost(batch, settings)
        if args.lingua.is_dir():
            print_mixed(batch, args.lingua, settings)
    else:
        print(f"BBC corpus not found at {args.bbc}: cost skipped (pass --bbc DIR)")
    if args.multilingual.is_dir():
        print_document_accuracy(args.multilingual)
    else:
        print(f"multilingual-dev not found at {args.multilingual}: document accuracy skipped (pass --multilingual DIR)")


# 5. multilingual-dev -----------------------------------------------------------------------

DOCUMENT_TARGET = 0.99


def print_document_accuracy(root: Path) -> None:
    """The language stage's document call on every labelled file, per language, beside the target."""
    labels = dict(line.split("\t") for line in (root / "labels.tsv").read_text().splitlines() if line.strip())
    settings = Settings(source_dir=root)
    batch = language.run(cleaned_batch(settings), settings)
    right, total = Counter(), Counter()
    for uri, lang in batch.documents.select("source_uri", "lang").iter_rows():
        expected = labels[uri]
        total[expected] += 1
        right[expected] += lang == expected
    print(f"document language on multilingual-dev ({sum(total.values())} documents; target >= {DOCUMENT_TARGET:.2f} each):")
    for code in sorted(total):
        share = right[code] / total[code]
        print(f"  {code}: {right[code]:4d} / {total[code]:4d} = {share:.3f}{'' if share >= DOCUMENT_TARGET else '  BELOW TARGET'}")
    print(f"  all: {sum(right.values())} / {sum(total.values())}")


# 1-2. lingua ------------------------------------------------------------------------------


def lingua_records(root: Path, n_lines: int, settings: Settings) -> list[dict]:
    languages = sorted(path.stem for path in (root / "sentences").glob("*.txt") if path.stem in KNOWN)
    tasks = [(kind, lang, first_lines(root / kind / f"{lang}.txt", n_lines)) for kind in SETS for lang in languages]
    thresholds = language.thresholds(settings)
    with ProcessPoolExecutor(settings.language_workers, initializer=seed_langdetect) as pool:
        chunks = pool.map(call_lines, tasks, [thresholds] * len(tasks))
        return [record for chunk in chunks for record in chunk]


def first_lines(path: Path, n_lines: int) -> list[str]:
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return lines[:n_lines]


def seed_langdetect() -> None:
    DetectorFactory.seed = 0
    init_factory()


def call_lines(task: tuple[str, str, list[str]], thresholds: Thresholds) -> list[dict]:
    kind, lang, lines = task
    records = []
    for line in lines:
        raw = detect_text(line, RAW)
        records.append(
            {
                "kind": kind,
                "lang": lang,
                "plain": plain_top(line),
                "ours": detect_text(line, thresholds).lang,
                "raw": raw.lang,
                "raw_prob": raw.prob or 0.0,
                "letter_bytes": len(voting_letters(line).encode()),
            }
        )
    return records


def plain_top(text: str) -> str | None:
    try:
        return detect_langs(text)[0].lang.split("-")[0]
    except LangDetectException:  # no feature in the text: no answer
        return None


def scores(records: list[dict]) -> tuple[float, float, float, float]:
    """plain accuracy, ours correct/called, ours correct/all, ours und share."""
    n = len(records)
    plain = sum(r["plain"] == r["lang"] for r in records) / n
    called = [r for r in records if r["ours"] != UND]
    correct = sum(r["ours"] == r["lang"] for r in called)
    return plain, correct / len(called) if called else 0.0, correct / n, 1 - len(called) / n


def print_accuracy(records: list[dict]) -> None:
    print("\n== 1. accuracy on lingua-testdata (first lines of each language langdetect knows)")
    print("plain = langdetect detect_langs top-1, seeded; ours = the stage; acc/called = correct / lines called,")
    print("acc/all = correct / all lines (und counts as not correct), und = share of lines called und")
    for kind in SETS:
        of_kind = [r for r in records if r["kind"] == kind]
        by_lang = defaultdict(list)
        for record in of_kind:
            by_lang[record["lang"]].append(record)
        print(f"\n{kind}: {len(by_lang)} languages, {len(of_kind)} lines")
        print(f"{'lang':>5} {'lines':>6} {'plain':>7} {'acc/called':>11} {'acc/all':>8} {'und':>6}")
        for lang, group in sorted(by_lang.items()):
            plain, called, all_, und = scores(group)
            print(f"{lang:>5} {len(group):>6} {plain:>7.1%} {called:>11.1%} {all_:>8.1%} {und:>6.1%}")
        plain, called, all_, und = scores(of_kind)
        print(f"{'all':>5} {len(of_kind):>6} {plain:>7.2%} {called:>11.2%} {all_:>8.2%} {und:>6.1%}")
        if kind == "sentences":
            print(f"anchor: plain langdetect on sentences {PLAIN_SENTENCE_ACCURACY:.1%}; ours must not fall below it")


def print_calibration(records: list[dict], settings: Settings) -> None:
    print("\n== 2. calibration: share of raw calls that are right (no thresholds)")
    print(f"by letter bytes, calls with probability >= {settings.language_min_prob} "
          f"(setting language_min_letter_bytes = {settings.language_min_letter_bytes}):")
    for kind in SETS:
        buckets = Counter(), Counter()
        for r in records:
            if r["kind"] == kind and r["raw_prob"] >= settings.language_min_prob:
                bucket = min(r["letter_bytes"] // 5 * 5, 40)
                buckets[0][bucket] += 1
                buckets[1][bucket] += r["raw"] == r["lang"]
        cells = [f"{b}{'+' if b == 40 else f'-{b + 4}'}: {buckets[1][b] / n:.0%} ({n})" for b, n in sorted(buckets[0].items())]
        print(f"  {kind:<10} " + "  ".join(cells))
    print(f"by trials agreeing (probability ~ k/7), texts of >= {settings.language_min_letter_bytes} letter bytes "
          f"(setting language_min_prob = {settings.language_min_prob}):")
    for kind in SETS:
        buckets = Counter(), Counter()
        for r in records:
            if r["kind"] == kind and r["raw"] != UND and r["letter_bytes"] >= settings.language_min_letter_bytes:
                agreeing = round(r["raw_prob"] * 7)
                buckets[0][agreeing] += 1
                buckets[1][agreeing] += r["raw"] == r["lang"]
        cells = [f"{k}/7: {buckets[1][k] / n:.0%} ({n})" for k, n in sorted(buckets[0].items())]
        print(f"  {kind:<10} " + "  ".join(cells))


# 3-4. BBC ---------------------------------------------------------------------------------


def bbc_batch(root: Path) -> Batch:
    """The BBC articles (one folder per topic; README.TXT is not one) read and cleaned by the pipeline's own stages."""
    batch = cleaned_batch(Settings(source_dir=root))
    articles = batch.documents.filter(pl.col("source_uri").str.contains("/"))
    return batch.updated(documents=articles, paragraphs=batch.paragraphs.join(articles.select("doc_id"), on="doc_id"))


def print_cost(batch: Batch, settings: Settings) -> None:
    documents = batch.documents
    n = documents.height
    print(f"\n== 3. cost on BBC: {n} documents, {documents['n_chars'].mean() / 1000:.1f} K characters and "
          f"{batch.paragraphs.height / n:.1f} paragraphs per document on average")
    warm_up = [["The minister said the talks would continue on Tuesday."]] * settings.language_workers
    start_up, _, _ = timed(lambda: language.detect_documents(warm_up, forced_pool(settings)))
    print(f"pool start-up ({settings.language_workers} spawned workers, profiles loaded): {start_up:.2f} s wall")
    seed_langdetect()
    texts = documents["text"].to_list()
    plain = timed(lambda: [detect(text) for text in texts])
    one_core = timed(lambda: language.run(batch, settings.model_copy(update={"language_workers": 1})))
    pool = timed(lambda: language.run(batch, forced_pool(settings)))
    result = pool[2]
    print(f"{'ms per document':<64} {'wall':>6} {'CPU':>6}  vs plain: wall   CPU")
    for label, (wall, cpu, _) in (
        ("plain langdetect, one detect() per document, 1 core", plain),
        ("language stage, every paragraph, 1 core", one_core),
        (f"language stage, every paragraph, {settings.language_workers} workers (start-up included)", pool),
    ):
        print(f"{label:<64} {wall / n * 1000:>6.2f} {cpu / n * 1000:>6.2f}  "
              f"{wall / plain[0]:>13.2f}x {cpu / plain[1]:>5.2f}x")
    print(f"anchor: langdetect's own cost, ~{LANGDETECT_MS_PER_DOC:.0f} ms per 2 KB article on one core; "
          f"load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (shared machine: wall times are noisy)")
    print(f"documents by language: {dict(Counter(result.documents['lang']).most_common())}; "
          f"mixed: {result.counts['documents_mixed_lang']}; "
          f"paragraphs und: {result.counts['paragraphs_lang_und'] / result.paragraphs.height:.1%}")


def forced_pool(settings: Settings) -> Settings:
    return settings.model_copy(update={"language_pool_min_documents": 1})


def timed(work):
    """Wall time, CPU time (this process and the worker processes it waited for) and result of some work."""
    def cpu() -> float:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.process_time() + children.ru_utime + children.ru_stime

    wall, used = time.perf_counter(), cpu()
    result = work()
    return time.perf_counter() - wall, cpu() - used, result


def print_mixed(batch: Batch, lingua: Path, settings: Settings) -> None:
    print("\n== 4. mixed-language documents on BBC (all English)")
    paragraphs = batch.paragraphs.group_by("doc_id", maintain_order=True).agg("text")["text"].to_list()
    languages = sorted(path.stem for path in (lingua / "sentences").glob("*.txt") if path.stem in KNOWN - {"en"})
    sentences = {lang: first_lines(lingua / "sentences" / f"{lang}.txt", 1000) for lang in languages}
    inserted = []
    for i, doc in enumerate(paragraphs):
        lang = languages[i % len(languages)]
        sentence = sentences[lang][i // len(languages) % len(sentences[lang])]
        position = 1 + i % len(doc)
        inserted.append((lang, position, [*doc[:position], sentence, *doc[position:]]))
    as_is = language.detect_documents(paragraphs, settings)
    with_foreign = language.detect_documents([doc for _, _, doc in inserted], settings)
    print(f"one lingua sentence in another language inserted as a paragraph into each document; "
          f"setting language_mixed_min_letters = {settings.language_mixed_min_letters}")
    print(f"{'min letters':>11} {'BBC flagged mixed':>18} {'recall, inserted':>17}")
    for min_letters in (20, 30, 40, 50, 60, 80):
        flagged = sum(is_mixed(result, doc, min_letters) for result, doc in zip(as_is, paragraphs))
        found = sum(is_mixed(result, doc, min_letters) for result, (_, _, doc) in zip(with_foreign, inserted))
        print(f"{min_letters:>11} {flagged:>11} ({flagged / len(as_is):.1%}) {found / len(inserted):>16.1%}")
    calls = Counter(
        "und" if (call := result.paragraphs[position]).lang == UND else "right" if call.lang == lang else "wrong"
        for (lang, position, _), result in zip(inserted, with_foreign)
    )
    print(f"the inserted sentences themselves: {dict(calls)}; documents still called en: "
          f"{sum(result.lang == 'en' for result in with_foreign)}/{len(with_foreign)}")


def is_mixed(result, paragraphs: list[str], min_letters: int) -> bool:
    """The stage's mixed rule at another threshold (lists of names and numbers do not count)."""
    return any(
        c.lang not in (UND, result.lang) and c.letters >= min_letters and not is_list(text)
        for c, text in zip(result.paragraphs, paragraphs)
    )


if __name__ == "__main__":
    sys.exit(main())
