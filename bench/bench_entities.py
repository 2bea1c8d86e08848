"""Named entities on CoNLL-2003 (Reuters newswire, PER/ORG/LOC tagged by hand), next to the bare model.

    .venv/bin/python bench/bench_entities.py [CORPUS] [--limit N]

CORPUS defaults to ../shared/corpora/conll2003-train (its README gives gold.json's schema). Each
document's text goes as it is through the extraction the extract stage runs (the entities table:
mentions with the label the document gives them), and through bare spaCy NER on the same model
(doc.ents as the model labels them). Labels are read as CoNLL's: PERSON -> PER; ORG -> ORG;
GPE, LOC, FAC -> LOC (NORP and the rest are CoNLL's MISC, which is not scored). Micro F1 over
exact (start, end, type) matches; the possessive `'s` is trimmed on both sides as the entities
table does. Target: at least the bare model's F1 + 0.03. A corpus that is absent is skipped.
"""

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from benchlib import CORPORA, corpus_missing

from newsflow.analysis.extraction import Article, extract_chunk
from newsflow.analysis.extraction.entities import NOT_NER_PIPES, load_model, mentions
from newsflow.settings import Settings

CONLL = CORPORA / "conll2003-train"
MARGIN = 0.03
CONLL_TYPES = {"PERSON": "PER", "ORG": "ORG", "GPE": "LOC", "LOC": "LOC", "FAC": "LOC"}
_CHUNK = 8


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", nargs="?", type=Path, default=CONLL, help="the conll2003-train folder")
    parser.add_argument("--limit", type=int, default=None, help="only the first N documents (by file name)")
    args = parser.parse_args()
    if corpus_missing(args.corpus):
        return
    ours, bare = measure(args.corpus, args.limit, Settings().spacy_model)
    sys.exit(0 if ours >= bare + MARGIN else 1)


def measure(corpus: Path, limit: int | None, model: str) -> tuple[float, float]:
    gold = json.loads((corpus / "gold.json").read_text())
    names = sorted(name for name in gold if not name.startswith("_"))[:limit]
    texts = [(corpus / "texts" / name).read_text(encoding="utf-8") for name in names]
    wanted = {(n, start, end, kind) for n, name in enumerate(names) for kind, _, _, start, end in gold[name]["mentions"]}

    nlp = load_model(model)
    bare = {
        (n, m.start, m.end, CONLL_TYPES[m.label])
        for n, doc in enumerate(nlp.pipe(texts, disable=NOT_NER_PIPES))
        for m in mentions(doc)[0]
        if m.label in CONLL_TYPES
    }
    ours = set()
    for i in range(0, len(names), _CHUNK):
        chunk = [Article(str(n), texts[n], (), True) for n in range(i, min(i + _CHUNK, len(names)))]
        for extraction in extract_chunk(model, chunk):
            n = int(extraction.doc_id)
            ours |= {(n, start, end, CONLL_TYPES[label]) for _, _, label, _, start, end in extraction.entities if label in CONLL_TYPES}

    print(f"{len(names)} documents from {corpus}, {len(wanted)} gold mentions, model {model}")
    scores = {}
    for run, found in (("bare en_core_web_sm", bare), ("newsflow entities", ours)):
        scores[run] = _f1(found, wanted)
        by_type = ", ".join(f"{kind} {_f1({f for f in found if f[3] == kind}, {w for w in wanted if w[3] == kind}):.3f}" for kind in ("PER", "ORG", "LOC"))
        print(f"{run:20}: micro F1 {scores[run]:.3f} ({by_type}; {len(found)} mentions)")
    confusions = Counter((w[3], f[3]) for f in ours - wanted for w in wanted if w[:3] == f[:3])
    print("ours, right span wrong type (gold -> ours):", ", ".join(f"{g}->{o} {c}" for (g, o), c in confusions.most_common()))
    ours_f1, bare_f1 = scores["newsflow entities"], scores["bare en_core_web_sm"]
    mark = "pass" if ours_f1 >= bare_f1 + MARGIN else "FAIL"
    print(f"newsflow - bare: {ours_f1 - bare_f1:+.3f} (target >= +{MARGIN:.2f}, {mark})")
    return ours_f1, bare_f1


def _f1(found: set, wanted: set) -> float:
    right = len(found & wanted)
    return 2 * right / (len(found) + len(wanted)) if found or wanted else 1.0


if __name__ == "__main__":
    main()
