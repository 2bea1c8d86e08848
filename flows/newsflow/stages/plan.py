"""plan: choose a run's sources, the new and changed files of the source folder (by content hash).

Every file is read to hash it; none is kept. What cannot be read is quarantined, the unchanged are
skipped, and the documents of removed files are marked deleted.
"""

import hashlib
from dataclasses import replace
from pathlib import Path

import polars as pl

from newsflow.batch import Batch, Source, Sources
from newsflow.runtime.progress import track
from newsflow.settings import Settings
from newsflow.sources import formats
from newsflow.sources.files import Refused, doc_id_for
from newsflow.storage.tables import read_published


def run(batch: Batch, settings: Settings) -> Batch:
    """Choose the run's sources: the new and changed files. Quarantine what cannot be read, skip the
    unchanged, and mark the documents of removed files deleted. Every file is read to hash it; none is kept."""
    source_dir = Path(settings.source_dir)
    files = formats.find_source_files(source_dir)
    previous, live = ({}, {}) if settings.full_refresh else previous_state(settings.output_dir)
    sources, quarantined, manifest, skipped = [], [], {}, {}
    for path in track(files, "plan"):
        # A file holds one document, or one per record (newsflow.sources.formats names each).
        for source_uri, fingerprint, outcome in formats.listed(path, path.relative_to(source_dir).as_posix(), settings, skipped):
            manifest[source_uri] = fingerprint
            if previous.get(source_uri) == fingerprint:
                continue
            source = Source(str(path), source_uri, doc_id_for(source_uri))
            if isinstance(outcome, Refused):
                quarantined.append(outcome.record(source, fingerprint))
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
        **skipped,
    }
    deleted = pl.DataFrame({"doc_id": [live[uri] for uri in removed], "is_deleted": True}) if removed else None
    return replace(
        batch.updated(counts=counts, quarantined=quarantined, document_updates=deleted),
        sources=Sources.of(sources),
        manifest_sha256=hashlib.sha256("".join(f"{u}\t{f}\n" for u, f in sorted(manifest.items())).encode()).hexdigest(),
    )


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
