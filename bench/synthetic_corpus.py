"""A synthetic news corpus of N articles built from a real one, with a known set of planted copies.

    .venv/bin/python bench/synthetic_corpus.py [CORPUS] [--out DIR] [--articles N] [--seed S]

CORPUS defaults to ../shared/corpora/bbc-news; DIR to /tmp/newsflow-synthetic-100k for 100,000
articles (never inside the repository). DIR/articles/ receives N article files:

- originals/: the corpus's own articles, as they are (so their natural copies come along);
- variants/: distinct articles, each an original with heavy edits (headline reworded, about half
  its paragraphs replaced by paragraphs of other articles, 15% of the remaining words replaced, and
  every name and number replaced by one invented for the variant), checked to have word 5-gram
  Jaccard at most 0.5 with its original. A variant is another event told in recycled words: with the
  names kept, the paragraphs drawn from random articles linked 72% of 10,000 synthetic articles (90%
  of 30,000) into one story group, where bbc-news's largest holds 82 of its 2,225 (3.7%);
- exact/: exact copies of an original or variant, half byte for byte, half with only whitespace,
  line endings and the headline's case changed (the same normalised words);
- near/: near copies of an original or variant: a new headline, a footer, a sentence edited,
  inserted or deleted, one to three of these, checked to have Jaccard in [0.8, 1).

DIR/manifest.csv lists every planted pair (path, source_path, their doc_ids, kind, the exact
Jaccard of their word 5-grams, the edits) and the natural pairs of the originals at Jaccard >= 0.8
(kind natural), so that the recall of the duplicates stage can be computed. DIR/summary.json
holds the parameters and counts. The same corpus, seed and parameters give the same files.
"""

import argparse
import csv
import json
import random
import re
import shutil
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchlib import BBC_NEWS, corpus_missing, jaccard, shingle_set, similar_pairs

from newsflow.settings import PROJECT_ROOT
from newsflow.sources.files import Refused, decode_text, doc_id_for, find_files

NEAR_MIN_JACCARD = 0.8  # the duplicates stage's default threshold: a planted near copy is at or above it
DISTINCT_MAX_JACCARD = 0.5
VARIANT_KEEP_SHARE = 0.5
VARIANT_WORD_SUBSTITUTION = 0.15
HEADLINE_WORD_SUBSTITUTION = 0.4
# Version of the way articles are made: a corpus built another way is rebuilt (2: variants' names invented).
CORPUS_VERSION = 2
# Invented names: two to four syllables (75**4 = 32 million names of four), so two variants seldom share one.
_CONSONANTS = "bdfgklmnprstvzh"
_VOWELS = "aeiou"
MANIFEST_FIELDS = ("path", "source_path", "doc_id", "source_doc_id", "kind", "jaccard", "edits")
# Lines that republishers add; none is boilerplate to the clean stage, so they stay in the text it compares.
FOOTERS = (
    "Additional reporting by our correspondents.",
    "This story has been updated with comment from the company.",
    "Reporting by the newsdesk; editing by the night team.",
    "This article was first published on our partner site earlier today.",
    "The story was corrected to fix a spelling of a name in the fourth paragraph.",
    "Our correspondent contributed to this report from the capital.",
)
HEADLINE_PREFIXES = ("UPDATE:", "Analysis:", "In brief:", "Latest:")
_WORD = re.compile(r"[^\W\d_]+")
_NUMBER = re.compile(r"\d+")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[\"“A-Z])")


@dataclass(frozen=True)
class Article:
    path: str  # relative to DIR/articles
    text: str
    data: bytes | None = None  # an original keeps its own bytes (and encoding); None: the text in UTF-8


@dataclass(frozen=True)
class PlantedPair:
    path: str
    source_path: str
    kind: str  # variant, exact_bytes, exact_format, near, natural
    jaccard: float
    edits: str = ""


@dataclass
class Summary:
    corpus: str
    articles: int
    seed: int
    exact_share: float
    near_share: float
    counts: dict[str, int] = field(default_factory=dict)
    version: int = CORPUS_VERSION


@dataclass(frozen=True)
class Pools:
    """Material for edits, drawn from the whole source corpus: words at their natural frequency, body paragraphs."""

    words: list[str]
    paragraphs: list[str]
    lower_case: frozenset[str]  # the words the corpus writes in lower case: a capitalised word not among them is a name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", nargs="?", type=Path, default=BBC_NEWS, help="folder of *.txt articles to build from")
    parser.add_argument("--out", type=Path, help="output folder, outside the repository (default /tmp/newsflow-synthetic-<N>)")
    parser.add_argument("--articles", type=int, default=100_000, help="number of article files (default 100,000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--exact-share", type=float, default=0.05, help="share of exact copies (default 0.05)")
    parser.add_argument("--near-share", type=float, default=0.05, help="share of near copies (default 0.05)")
    args = parser.parse_args()
    if corpus_missing(args.corpus):
        return
    summary = Summary(str(args.corpus.resolve()), args.articles, args.seed, args.exact_share, args.near_share)
    out = args.out or default_out(args.articles)
    built = ensure_corpus(out, summary, progress=print)
    print(f"{out / 'articles'}: {built.counts}")


def default_out(n_articles: int) -> Path:
    """/tmp/newsflow-synthetic-100k for 100,000 articles."""
    return Path(f"/tmp/newsflow-synthetic-{f'{n_articles // 1000}k' if n_articles % 1000 == 0 else n_articles}")


def ensure_corpus(out: Path, wanted: Summary, progress=lambda message: None) -> Summary:
    """The corpus described by `wanted` in `out`, built unless `out` already holds it."""
    existing = out / "summary.json"
    if existing.is_file():
        summary = Summary(**{"version": 1, **json.loads(existing.read_text())})
        if (summary.corpus, summary.articles, summary.seed, summary.exact_share, summary.near_share, summary.version) == (
            wanted.corpus, wanted.articles, wanted.seed, wanted.exact_share, wanted.near_share, wanted.version
        ):
            progress(f"reusing the synthetic corpus in {out}")
            return summary
    return build(Path(wanted.corpus), out, wanted.articles, wanted.seed, wanted.exact_share, wanted.near_share, progress)


def build(
    corpus: Path, out: Path, n_articles: int, seed: int = 0, exact_share: float = 0.05, near_share: float = 0.05,
    progress=lambda message: None,
) -> Summary:
    """Write `n_articles` files under out/articles, out/manifest.csv and out/summary.json; see the module's doc."""
    out = out.resolve()
    if out.is_relative_to(PROJECT_ROOT):
        raise ValueError(f"{out} is inside the repository: write the synthetic corpus elsewhere (default {default_out(n_articles)})")
    if out.exists() and any(out.iterdir()) and not (out / "summary.json").is_file():
        raise ValueError(f"{out} holds other files: pass an empty or new folder, or a synthetic corpus to rebuild")
    if not 0 <= exact_share + near_share <= 0.5:
        raise ValueError("exact and near copies may make at most half of the corpus")
    (out / "summary.json").unlink(missing_ok=True)  # until this build completes, the folder holds no corpus
    rng = random.Random(seed)
    originals = read_originals(corpus)
    if not originals:
        raise ValueError(f"no readable *.txt article in {corpus}")
    words = [word for article in originals for word in _WORD.findall(article.text)]
    pools = Pools(
        words=words,
        paragraphs=[p for article in originals for p in paragraphs_of(article.text)[1:]],
        lower_case=frozenset(word for word in words if word.islower()),
    )
    n_exact, n_near = round(n_articles * exact_share), round(n_articles * near_share)
    n_base = n_articles - n_exact - n_near
    if n_base < len(originals):
        originals = sorted(rng.sample(originals, n_base), key=lambda article: article.path)
    progress(f"{len(originals)} originals from {corpus}; building {n_base - len(originals)} variants")

    articles_dir = out / "articles"
    if articles_dir.exists():
        shutil.rmtree(articles_dir)
    for article in originals:
        write_article(articles_dir, article)
    base, pairs = list(originals), []
    for i in range(n_base - len(originals)):
        source = originals[i % len(originals)]
        variant, similarity = distinct_variant(source.text, rng, pools)
        base.append(write_article(articles_dir, Article(f"variants/{i // 1000:03d}/{i:06d}.txt", variant)))
        pairs.append(PlantedPair(base[-1].path, source.path, "variant", similarity))
        if (i + 1) % 10_000 == 0:
            progress(f"  {i + 1} variants")

    progress(f"planting {n_exact} exact and {n_near} near copies")
    for i, source in enumerate(rng.sample(base, n_exact)):
        path = f"exact/{i // 1000:03d}/{i:06d}.txt"
        if i % 2 == 0:
            write_article(articles_dir, Article(path, source.text, source.data))
            pairs.append(PlantedPair(path, source.path, "exact_bytes", 1.0))
        else:
            text, edits = format_variant(source.text, rng)
            write_article(articles_dir, Article(path, text))
            pairs.append(PlantedPair(path, source.path, "exact_format", 1.0, edits))
    near_sources = iter(rng.sample(base, len(base)))
    for i in range(n_near):
        path = f"near/{i // 1000:03d}/{i:06d}.txt"
        for source in near_sources:  # an article too short to stay above the threshold after an edit is passed over
            if planted := near_copy(source.text, rng, pools):
                text, similarity, edits = planted
                write_article(articles_dir, Article(path, text))
                pairs.append(PlantedPair(path, source.path, "near", similarity, edits))
                break
        else:
            raise ValueError(f"only {i} articles of {corpus} take a near copy: lower --near-share")

    progress("finding the natural pairs of the originals")
    sets = [shingle_set(article.text) for article in originals]
    pairs += [
        PlantedPair(originals[b].path, originals[a].path, "natural", similarity)
        for (a, b), similarity in sorted(similar_pairs(sets, NEAR_MIN_JACCARD).items())
    ]
    write_manifest(out / "manifest.csv", pairs)
    summary = Summary(str(corpus.resolve()), n_articles, seed, exact_share, near_share)
    summary.counts = {"originals": len(originals)} | {
        kind: sum(pair.kind == kind for pair in pairs) for kind in ("variant", "exact_bytes", "exact_format", "near", "natural")
    }
    (out / "summary.json").write_text(json.dumps(asdict(summary), indent=2) + "\n")
    return summary


def read_originals(corpus: Path) -> list[Article]:
    """The corpus's readable articles, decoded as the ingest stage decodes them (a README is not an article)."""
    articles = []
    for path in find_files(corpus, lambda name: name.lower().endswith(".txt")).files:
        if path.name.upper().startswith("README"):
            continue
        data = path.read_bytes()
        try:
            text, _, _ = decode_text(data)
        except Refused:
            continue
        articles.append(Article(f"originals/{path.relative_to(corpus).as_posix()}", text, data))
    return articles


def write_article(articles_dir: Path, article: Article) -> Article:
    target = articles_dir / article.path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(article.text.encode() if article.data is None else article.data)
    return article


def paragraphs_of(text: str) -> list[str]:
    """The non-empty lines of an article; the first is the headline."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def joined(paragraphs: list[str]) -> str:
    return "\n\n".join(paragraphs) + "\n"


def substitute_words(text: str, rate: float, rng: random.Random, pools: Pools) -> str:
    """`text` with each word replaced, at `rate`, by a word of the corpus (capitalised where the old one was)."""

    def replace(match: re.Match) -> str:
        if rng.random() >= rate:
            return match.group()
        word = rng.choice(pools.words)
        return word[0].upper() + word[1:] if match.group()[0].isupper() else word

    return _WORD.sub(replace, text)


def distinct_variant(text: str, rng: random.Random, pools: Pools) -> tuple[str, float]:
    """Another article made from `text` (see the module's doc) and its Jaccard with `text`, at most DISTINCT_MAX_JACCARD."""
    original = shingle_set(text)
    headline, *body = paragraphs_of(text)
    own = set(body)
    for rate in (VARIANT_WORD_SUBSTITUTION, 2 * VARIANT_WORD_SUBSTITUTION, 4 * VARIANT_WORD_SUBSTITUTION):
        kept = [substitute_words(p, rate, rng, pools) for p in body if rng.random() < VARIANT_KEEP_SHARE]
        drawn = rng.sample(pools.paragraphs, min(2 * len(body), len(pools.paragraphs)))
        new_body = kept + [p for p in drawn if p not in own][: len(body) - len(kept)]
        rng.shuffle(new_body)
        variant = invented_names(joined([substitute_words(headline, HEADLINE_WORD_SUBSTITUTION, rng, pools), *new_body]), rng, pools)
        similarity = jaccard(shingle_set(variant), original)
        if similarity <= DISTINCT_MAX_JACCARD:
            return variant, similarity
    raise ValueError(f"no distinct variant of an article of {len(text)} characters even with 60% of its words replaced")


def invented_names(text: str, rng: random.Random, pools: Pools) -> str:
    """`text` with each name (a capitalised word the corpus never writes in lower case) and each number replaced,
    the same one by the same invention throughout."""
    invented: dict[str, str] = {}

    def name(match: re.Match) -> str:
        word = match.group()
        if not word[0].isupper() or word.lower() in pools.lower_case:
            return word
        if word.lower() not in invented:
            syllables = "".join(rng.choice(_CONSONANTS) + rng.choice(_VOWELS) for _ in range(rng.randint(2, 4)))
            invented[word.lower()] = syllables.capitalize()
        return invented[word.lower()].upper() if word.isupper() and len(word) > 1 else invented[word.lower()]

    def number(match: re.Match) -> str:
        digits = match.group()
        if digits not in invented:
            invented[digits] = str(rng.randint(10 ** (len(digits) - 1) if len(digits) > 1 else 0, 10 ** len(digits) - 1))
        return invented[digits]

    return _NUMBER.sub(number, _WORD.sub(name, text))


def format_variant(text: str, rng: random.Random) -> tuple[str, str]:
    """`text` with only its layout changed (Windows line ends, doubled spaces, trailing spaces, an upper-case headline).

    The words stay the same, so the duplicates stage's normalised text, and its hash, do too.
    """
    edits = sorted(rng.sample(("crlf", "double_spaces", "trailing_spaces", "headline_upper"), rng.randint(1, 3)))
    headline, *body = paragraphs_of(text)
    if "headline_upper" in edits:
        headline = headline.upper()
    lines = [headline, *body]
    if "double_spaces" in edits:
        lines = [line.replace(" ", "  ") if rng.random() < 0.5 else line for line in lines]
    if "trailing_spaces" in edits:
        lines = [line + " " * rng.randint(1, 3) for line in lines]
    variant = joined(lines)
    if "crlf" in edits:
        variant = variant.replace("\n", "\r\n")
    if shingle_set(variant) != shingle_set(text):
        raise AssertionError("a layout change altered the words")
    return variant, "+".join(edits)


def near_copy(text: str, rng: random.Random, pools: Pools, attempts: int = 5) -> tuple[str, float, str] | None:
    """A republished `text` (see the module's doc), its Jaccard with `text` in [NEAR_MIN_JACCARD, 1), and its edits.

    None when no attempt stays at or above the threshold (a short article: one sentence weighs a lot).
    """
    original = shingle_set(text)
    for attempt in range(attempts):
        edits = rng.sample(("headline", "footer", "sentence_edited", "sentence_inserted", "sentence_deleted"), rng.randint(1, 3 if attempt < 2 else 1))
        copy = joined(_edited(paragraphs_of(text), edits, rng, pools))
        similarity = jaccard(shingle_set(copy), original)
        if NEAR_MIN_JACCARD <= similarity < 1:
            return copy, similarity, "+".join(sorted(edits))
    return None


def _edited(paragraphs: list[str], edits: list[str], rng: random.Random, pools: Pools) -> list[str]:
    headline, *body = paragraphs
    if "headline" in edits:
        headline = f"{rng.choice(HEADLINE_PREFIXES)} {substitute_words(headline, HEADLINE_WORD_SUBSTITUTION, rng, pools)}"
    for edit in ("sentence_edited", "sentence_inserted", "sentence_deleted"):
        if edit in edits and body:
            index = rng.randrange(len(body))
            sentences = _SENTENCE_BREAK.split(body[index])
            at = rng.randrange(len(sentences))
            if edit == "sentence_edited":
                sentences[at] = substitute_words(sentences[at], 0.3, rng, pools)
            elif edit == "sentence_inserted":
                sentences.insert(at, rng.choice(_SENTENCE_BREAK.split(rng.choice(pools.paragraphs))))
            elif len(sentences) > 1:
                del sentences[at]
            body[index] = " ".join(sentences)
    if "footer" in edits:
        body.append(rng.choice(FOOTERS))
    return [headline, *body]


def write_manifest(path: Path, pairs: list[PlantedPair]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, MANIFEST_FIELDS)
        writer.writeheader()
        for pair in pairs:
            writer.writerow(
                {
                    **asdict(pair),
                    "doc_id": doc_id_for(pair.path),
                    "source_doc_id": doc_id_for(pair.source_path),
                    "jaccard": repr(pair.jaccard),
                }
            )


def read_manifest(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [{**row, "jaccard": float(row["jaccard"])} for row in csv.DictReader(handle)]


if __name__ == "__main__":
    sys.exit(main())
