"""plan: choose a run's sources, the new and changed files of the source folder (by content hash).

Every file is read to hash it; none is kept. What cannot be read is quarantined, the unchanged are
skipped, and the documents of removed files are marked deleted.
"""

import hashlib
from dataclasses import replace
from pathlib import Path

import polars as pl

from newsflow import quarantine
from newsflow.batch import Batch, Source, Sources
from newsflow.contracts import contracts_digest, refused_fingerprint
from newsflow.runtime.progress import track
from newsflow.settings import Settings
from newsflow.sources import formats
from newsflow.sources.files import Refused, doc_id_for, source_uri_for
from newsflow.storage.tables import read_published


class MassDeletion(RuntimeError):
    """A run would mark more of the corpus deleted than settings.max_deleted_share allows."""


def run(batch: Batch, settings: Settings) -> Batch:
    """Choose the run's sources: the new and changed files. Quarantine what cannot be read, skip the
    unchanged, and mark the documents of removed files deleted. Every file is read to hash it; none is kept."""
    source_dir = settings.source_dir
    listing = formats.find_source_files(source_dir)
    previous, live = ({}, {}) if settings.full_refresh else previous_state(settings.output_dir)
    sources, manifest, unchanged, skipped = [], {}, set(), {}
    contracts = contracts_digest(settings.contracts_dir)
    folders = [f"{source_uri_for(folder, source_dir)}/" for folder in listing.unreadable_folders]
    quarantined = [quarantine.record("unreadable_folder", source_uri=folder) for folder in folders]
    for path in track(listing.files, "plan"):
        # A file holds one document, or one per record (newsflow.sources.formats names each).
        for source_uri, fingerprint, outcome in formats.listed(path, source_uri_for(path, source_dir), settings, skipped):
            manifest[source_uri] = fingerprint
            if previous.get(source_uri) in (fingerprint, refused_fingerprint(fingerprint, contracts)):
                unchanged.add(source_uri)
                continue
            source = Source(str(path), source_uri, doc_id_for(source_uri))
            if isinstance(outcome, Refused):
                quarantined.append(outcome.record(source, fingerprint))
            else:
                sources.append(source)
    # the files of a folder that cannot be read are unseen, not removed
    removed = sorted(uri for uri in live if uri not in manifest and not uri.startswith(tuple(folders)))
    check_deletions(len(removed), len(live), settings)
    counts = {
        "files_seen": len(listing.files),
        "files_new": sum(uri not in previous for uri in manifest),
        "files_changed": sum(uri in previous and uri not in unchanged for uri in manifest),
        "files_unchanged": len(unchanged),
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


def check_deletions(removed: int, live: int, settings: Settings) -> None:
    """Stop a run that would mark more than settings.max_deleted_share of the live documents deleted."""
    if removed > settings.max_deleted_share * live and not settings.allow_mass_delete:
        raise MassDeletion(
            f"{removed} of the {live} published documents have no file in {settings.source_dir} any more "
            f"({removed / live:.0%}, more than NEWSFLOW_MAX_DELETED_SHARE={settings.max_deleted_share:.0%}); nothing was "
            "published. Check the source folder; if the files were really removed, run again with --allow-mass-delete"
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
