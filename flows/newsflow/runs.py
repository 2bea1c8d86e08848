"""Identity and provenance of a pipeline run: its id, and what every commit says about it."""

import json
import os
import re
import subprocess
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from newsflow import __version__
from newsflow.settings import PROJECT_ROOT, Settings
from newsflow.storage import stores


@dataclass
class RunRecord:
    """One row of the runs table."""

    run_id: str
    started_at: datetime
    finished_at: datetime
    status: str
    counts: dict[str, int]
    flow_run_id: str | None = None
    validation: dict | None = None
    error: str | None = None
    table_versions: dict[str, int] = field(default_factory=dict)
    stage_seconds: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, batch, settings: Settings, error: BaseException | None = None) -> "RunRecord":
        """The record of a run that ended with `batch`: completed, or failed with `error` (its folders named by
        their role: without_local_paths)."""
        counts = dict(batch.counts)
        staged = counts.pop("documents_staged", 0)  # published only if the run completes
        if error is None:
            counts |= {
                "documents_published": staged,
                "quarantined": batch.quarantine.height,
                "tables_changed": len(batch.published),
            }
        return cls(
            run_id=batch.run_id,
            started_at=batch.started_at,
            finished_at=utc_now(),
            status="completed" if error is None else "failed",
            counts=counts,
            flow_run_id=batch.flow_run_id,
            validation=batch.validation.to_dict() if batch.validation is not None else None,
            error=None if error is None else without_local_paths(str(error), settings),
            stage_seconds=dict(batch.stage_seconds),
        )


def without_local_paths(text: str, settings: Settings) -> str:
    """`text` with this machine's folders named by their role: <output>, <source>, <gx>, <contracts>, and paths in
    the project relative to it. The runs table is read on other machines, and absolute paths told them where
    and under whose home the project lives."""
    roots = {
        settings.output_dir: "<output>",
        settings.source_dir: "<source>",
        settings.gx_dir: "<gx>",
        settings.contracts_dir: "<contracts>",
        PROJECT_ROOT: ".",
    }
    spellings = {}
    for root, role in roots.items():
        if not stores.is_remote(root):  # an object store's URI is no path of this machine
            for spelling in (str(Path(root).resolve()), os.path.abspath(root)):
                spellings.setdefault(spelling, role)
    for spelling in sorted(spellings, key=len, reverse=True):  # a folder inside another is named by its own role
        # not out-old or out.d for out; a full stop may end the sentence
        text = re.sub(re.escape(spelling) + r"(?![\w-]|\.\w)", spellings[spelling], text)
    return text


def new_run_id(started_at: datetime) -> str:
    """Sortable and unique: the UTC start time and a random suffix.

    Great Expectations reads a run name as a date when it can: after "-" a suffix such as "75a04a1a" read as a UTC
    offset of 75 hours and failed its Data Docs (~1 id in 14,000); after "_" no name parses.
    """
    return f"{started_at:%Y%m%dT%H%M%SZ}_{uuid.uuid4().hex[:8]}"


def utc_now() -> datetime:
    return datetime.now(UTC)


def commit_metadata(batch) -> dict[str, str]:
    """What every Delta commit of a run records about the code, the input, the run and its validation."""
    metadata = {"newsflow.run_id": batch.run_id, "newsflow.version": __version__}
    if batch.manifest_sha256:
        metadata["newsflow.source_manifest_sha256"] = batch.manifest_sha256
    if batch.flow_run_id:
        metadata["newsflow.flow_run_id"] = batch.flow_run_id
    if batch.validation is not None:
        metadata["newsflow.validation"] = json.dumps(batch.validation.to_dict())
    if commit := git_commit():
        metadata["newsflow.git_commit"] = commit
    return metadata


def git_commit() -> str | None:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=5, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None
