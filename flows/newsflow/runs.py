"""Identity and provenance of a pipeline run: its id, and what every commit says about it."""

import json
import subprocess
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from newsflow import __version__
from newsflow.settings import PROJECT_ROOT


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

    @classmethod
    def completed(cls, batch, started_at: datetime, flow_run_id: str | None, changed: dict[str, int]) -> "RunRecord":
        counts = {
            **batch.counts,
            "documents_published": batch.documents.height,
            "quarantined": batch.quarantine.height,
            "tables_changed": len(changed),
        }
        return cls(batch.run_id, started_at, utc_now(), "completed", counts, flow_run_id, batch.validation)

    @classmethod
    def failed(
        cls, batch, started_at: datetime, flow_run_id: str | None, error: BaseException, validation: dict | None
    ) -> "RunRecord":
        return cls(batch.run_id, started_at, utc_now(), "failed", dict(batch.counts), flow_run_id, validation, str(error))


def new_run_id(started_at: datetime) -> str:
    """Sortable and unique: the UTC start time and a random suffix."""
    return f"{started_at:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def utc_now() -> datetime:
    return datetime.now(UTC)


def commit_metadata(
    run_id: str, flow_run_id: str | None, manifest_sha256: str = "", validation: dict | None = None
) -> dict[str, str]:
    """What every Delta commit of a run records about the code, the input, the run and its validation."""
    metadata = {"newsflow.run_id": run_id, "newsflow.version": __version__}
    if manifest_sha256:
        metadata["newsflow.source_manifest_sha256"] = manifest_sha256
    if flow_run_id:
        metadata["newsflow.flow_run_id"] = flow_run_id
    if validation is not None:
        metadata["newsflow.validation"] = json.dumps(validation)
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
