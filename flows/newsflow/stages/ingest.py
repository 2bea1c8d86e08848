"""ingest: read every article file under the source folder, or say why it was not read.

Each file becomes a document row (source_uri, size, hash, encoding, raw text) or a
quarantine record with a reason that says what to do. Nothing stops the run.
"""

import codecs
import contextlib
import hashlib
import os
import re
import stat
from dataclasses import dataclass, replace
from pathlib import Path

import charset_normalizer
import polars as pl

from newsflow.batch import Batch, Source, Sources
from newsflow.runtime.progress import track
from newsflow.settings import Settings
from newsflow.storage.tables import read_published

ARTICLE_SUFFIX = ".txt"
_ARTICLE_SCHEMA = {
    "source_uri": pl.String,
    "doc_id": pl.String,
    "size_bytes": pl.Int64,
    "content_sha256": pl.String,
    "encoding": pl.String,
    "raw_text": pl.String,
}
_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
_FALLBACK_ENCODINGS = ("cp1252", "latin-1")
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")  # all but tab, newlines and form feeds
_LETTERS = re.compile(r"[^\W\d_]")
_NON_ASCII_LETTERS = re.compile(r"[^\W\d_a-zA-Z]")
_MAX_NON_ASCII_SHARE = 0.3
# A text in which more than this share of characters are control characters is not prose.
_MAX_CONTROL_SHARE = 0.01


@dataclass
class Refused(Exception):
    """A file that cannot become a document; `reason` tells the user what to do."""

    code: str
    reason: str
    detail: str = ""


def plan(batch: Batch, settings: Settings) -> Batch:
    """Choose the run's sources: the new and changed files. Quarantine what cannot be read, skip the
    unchanged, and mark the documents of removed files deleted. Every file is read to hash it; none is kept."""
    source_dir = Path(settings.source_dir)
    files = find_article_files(source_dir)
    previous, live = ({}, {}) if settings.full_refresh else previous_state(settings.output_dir)
    sources, quarantined, manifest = [], [], {}
    for path in track(files, "plan"):
        source_uri = path.relative_to(source_dir).as_posix()
        fingerprint, outcome = examine(path, settings.max_file_bytes)
        manifest[source_uri] = fingerprint
        if previous.get(source_uri) == fingerprint:
            continue
        source = Source(str(path), source_uri, doc_id_for(source_uri))
        if isinstance(outcome, Refused):
            quarantined.append(_refusal(source, outcome, fingerprint))
        else:
            sources.append(source)
    removed = sorted(uri for uri in live if uri not in manifest)
    counts = {
        "files_seen": len(files),
        "files_new": sum(uri not in previous for uri in manifest),
        "files_changed": sum(uri in previous and previous[uri] != fp for uri, fp in manifest.items()),
        "files_unchanged": sum(previous.get(uri) == fp for uri, fp in manifest.items()),
        "files_removed": len(removed),
        "files_quarantined": len(quarantined),
    }
    deleted = pl.DataFrame({"doc_id": [live[uri] for uri in removed], "is_deleted": True}) if removed else None
    return replace(
        batch.updated(counts=counts, quarantined=quarantined, document_updates=deleted),
        sources=Sources.of(sources),
        manifest_sha256=hashlib.sha256("".join(f"{u}\t{f}\n" for u, f in sorted(manifest.items())).encode()).hexdigest(),
    )


def run(batch: Batch, settings: Settings) -> Batch:
    """Read the batch's sources into documents (a file that changed into something unreadable since the plan is quarantined)."""
    articles, quarantined = [], []
    for source in track(batch.sources, "ingest"):
        fingerprint, outcome = examine(Path(source.path), settings.max_file_bytes)
        if isinstance(outcome, Refused):
            quarantined.append(_refusal(source, outcome, fingerprint))
        else:
            articles.append({"source_uri": source.source_uri, "doc_id": source.doc_id, **outcome})
    documents = pl.DataFrame(articles, schema=_ARTICLE_SCHEMA).with_columns(
        ingested_at=pl.lit(batch.started_at, dtype=pl.Datetime("us", "UTC")),
        run_id=pl.lit(batch.run_id),
        is_deleted=pl.lit(False),
    )
    return batch.updated(documents=documents, counts={"files_quarantined": len(quarantined)}, quarantined=quarantined)


def _refusal(source: Source, refused: Refused, fingerprint: str) -> dict:
    return {"stage": "ingest", "source_uri": source.source_uri, "doc_id": source.doc_id, **vars(refused), "fingerprint": fingerprint}


def previous_state(output_dir: Path) -> tuple[dict[str, str], dict[str, str]]:
    """What earlier runs saw: each file's latest fingerprint, and the doc_id of each live document's file.

    A file's latest record is its document or its quarantine row, whichever came from the later run.
    """
    documents = read_published(output_dir, "documents", ["source_uri", "doc_id", "content_sha256", "is_deleted", "run_id"])
    quarantine = read_published(output_dir, "quarantine", ["source_uri", "fingerprint", "run_id"])
    if documents is None or quarantine is None:
        return {}, {}
    live = documents.filter(~pl.col("is_deleted"))
    latest = (
        pl.concat(
            [
                live.select("source_uri", fingerprint="content_sha256", run_id="run_id"),
                quarantine.drop_nulls(["source_uri", "fingerprint"]),
            ]
        )
        .sort("run_id")
        .unique("source_uri", keep="last")
    )
    return dict(latest.select("source_uri", "fingerprint").iter_rows()), dict(live.select("source_uri", "doc_id").iter_rows())


def examine(path: Path, max_file_bytes: int) -> tuple[str, dict | Refused]:
    """A file's fingerprint (its SHA-256, or its problem if it cannot be read) and its article or refusal."""
    try:
        data = read_file(path, max_file_bytes)
    except Refused as refused:
        return f"{refused.code}: {refused.detail}", refused
    fingerprint = hashlib.sha256(data).hexdigest()
    try:
        text, encoding = decode_text(data)
    except Refused as refused:
        return fingerprint, refused
    return fingerprint, {"size_bytes": len(data), "content_sha256": fingerprint, "encoding": encoding, "raw_text": text}


def find_article_files(source_dir: Path) -> list[Path]:
    """Every *.txt under source_dir, recursively, in a stable order (broken symlinks included)."""
    if not source_dir.is_dir():
        raise FileNotFoundError(f"source folder {source_dir} does not exist or is not a folder; pass --source DIR")
    return sorted(p for p in source_dir.rglob("*") if p.suffix.lower() == ARTICLE_SUFFIX and not p.is_dir())


def doc_id_for(source_uri: str) -> str:
    """The id a file keeps across runs: it is named by its path, not its content."""
    return hashlib.sha256(source_uri.encode("utf-8")).hexdigest()[:16]


def read_file(path: Path, max_file_bytes: int) -> bytes:
    """The bytes of one file, or Refused saying why they cannot be read."""
    if path.is_symlink() and not path.exists():
        raise Refused(
            "broken_symlink",
            "broken symbolic link: point it at an existing article or remove it",
            f"target {os.readlink(path)} does not exist",
        )
    try:
        info = path.stat()
    except OSError as error:
        raise Refused("unreadable", "file cannot be examined: check its permissions", str(error)) from None
    if not stat.S_ISREG(info.st_mode):
        raise Refused("not_a_file", "not a regular file: keep only article files in the source folder")
    if info.st_size > max_file_bytes:
        raise Refused(
            "too_large",
            "file is over the size limit: split it into articles or raise NEWSFLOW_MAX_FILE_BYTES",
            f"{info.st_size} bytes, limit {max_file_bytes}",
        )
    try:
        with path.open("rb") as handle:
            data = handle.read(max_file_bytes + 1)
    except OSError as error:
        raise Refused("unreadable", "file cannot be read: check its permissions and the disk", str(error)) from None
    if len(data) > max_file_bytes:  # grew after stat, or a special file that reports size 0
        raise Refused(
            "too_large",
            "file is over the size limit: split it into articles or raise NEWSFLOW_MAX_FILE_BYTES",
            f"more than {max_file_bytes} bytes",
        )
    return data


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode an article: UTF-8 first, then cp1252 for Western text, the detected encoding, latin-1."""
    if not data.strip():
        raise Refused("empty_file", "file is empty: add the article text or remove the file", f"{len(data)} bytes")
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _checked(data.decode(encoding), encoding), encoding
    if b"\x00" in data:
        raise Refused("binary_file", "binary file, not text: move it out of the source folder", "contains NUL bytes")
    try:
        return _checked(data.decode("utf-8"), "utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    with contextlib.suppress(UnicodeDecodeError, Refused):
        text = _checked(data.decode("cp1252"), "cp1252")
        # Western text has few accented letters; most non-ASCII letters means another script in a legacy code page.
        if len(_NON_ASCII_LETTERS.findall(text)) <= _MAX_NON_ASCII_SHARE * len(_LETTERS.findall(text)):
            return text, "cp1252"
    detected = charset_normalizer.from_bytes(data).best()
    candidates = ([detected.encoding] if detected else []) + list(_FALLBACK_ENCODINGS)
    for encoding in candidates:
        with contextlib.suppress(UnicodeDecodeError, Refused):
            return _checked(data.decode(encoding), encoding), codecs.lookup(encoding).name
    raise Refused(
        "undecodable",
        "text encoding not recognised: re-save the file as UTF-8",
        f"not valid in utf-8, {', '.join(candidates)}",
    )


def _checked(text: str, encoding: str) -> str:
    controls = len(_CONTROL_CHARS.findall(text))
    if controls > _MAX_CONTROL_SHARE * len(text):
        raise Refused(
            "binary_file",
            "binary file, not text: move it out of the source folder",
            f"{controls} control characters in {len(text)} when read as {encoding}",
        )
    return text
