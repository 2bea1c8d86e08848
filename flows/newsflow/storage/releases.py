"""Releases: the version of every table after a run, recorded in the runs table (runs.table_versions).

Readers load a consistent set through a release (newsflow.datasets). If publishing fails half-way,
the tables already written are restored to their previous versions; a run killed half-way is undone
by the next run before it starts (recover_interrupted_run).
"""

import json
import logging
from pathlib import Path
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.fs as pafs
from deltalake import CommitProperties, DeltaTable

from newsflow.contracts import load_contract
from newsflow.runs import RunRecord
from newsflow.settings import Settings
from newsflow.storage import stores
from newsflow.storage.staging import discard_staging
from newsflow.storage.tables import current_versions, ensure_tables, read_published, table_path, write_table

log = logging.getLogger(__name__)


def prepare_output(settings: Settings, metadata: dict[str, str]) -> list[str]:
    """Before a run: undo what an interrupted run left, create the missing tables, discard leftover staging.
    Returns the tables restored."""
    restored = recover_interrupted_run(settings, metadata)
    ensure_tables(settings, metadata)
    discard_staging(settings.output_dir)
    return restored


def last_release(output_dir: Path) -> dict[str, int]:
    """Table versions recorded by the latest run; every run, failed or not, ends on a consistent set."""
    runs = read_published(output_dir, "runs")
    if runs is None or runs.is_empty():
        return {}
    return dict(runs.sort("finished_at").row(-1, named=True)["table_versions"])


def recover_interrupted_run(settings: Settings, metadata: dict[str, str]) -> list[str]:
    """Restore tables that a killed run left beyond the last release; returns the tables restored."""
    released = last_release(settings.output_dir)
    behind = {
        table: released.get(table, 0)
        for table, version in current_versions(settings.output_dir).items()
        if table != "runs" and version > released.get(table, 0) and _interrupted(settings.output_dir, table, released.get(table, 0))
    }
    restore(settings.output_dir, behind, {**metadata, "newsflow.operation": "recover"})
    if behind:
        log.warning("an earlier run was interrupted while publishing: restored %s", ", ".join(sorted(behind)))
    return sorted(behind)


def restore(output_dir: Path, versions: dict[str, int], metadata: dict[str, str]) -> None:
    """Restore each table to its version, and delete the files a failed or killed write left beside its commits."""
    for table, version in versions.items():
        delta = DeltaTable(str(table_path(output_dir, table)))
        if delta.version() > version:
            commit = CommitProperties(custom_metadata={**metadata, "newsflow.restored_to": str(version)})
            delta.restore(version, commit_properties=commit)
        remove_uncommitted_files(output_dir, table, version)


def remove_uncommitted_files(output_dir: Path, table: str, version: int) -> list[str]:
    """Delete the table's data files written after its commit `version` that no commit names; returns them.

    deltalake writes a commit's files first and the commit last: a write that failed (disk full, a lost store) or
    was killed in between left its files in the table's folder, read by no one and never vacuumed. A file is
    deleted only when no commit of the log and not the current version names it, and it is newer than commit
    `version` (by the store's clock): a folder copied without its times (which makes every file look new) loses
    nothing. Called when a table is restored (a failed publish, an interrupted run), not on every run: it reads
    the whole log.
    """
    fs, root = stores.filesystem(table_path(output_dir, table))
    commits = f"{root}/_delta_log"
    since = fs.get_file_info(f"{commits}/{version:020d}.json").mtime
    if since is None:  # the commit is gone (its log cleaned up): nothing is known to be newer
        return []
    named = set()
    for info in fs.get_file_info(pafs.FileSelector(commits)):
        if info.base_name.endswith(".json") and info.base_name.split(".")[0].isdigit():
            with fs.open_input_stream(info.path) as stream:
                actions = [json.loads(line) for line in stream.read().decode().splitlines() if line.strip()]
            named |= {unquote(action[kind]["path"]) for action in actions for kind in ("add", "cdc") if kind in action}
    current = pa.table(DeltaTable(str(table_path(output_dir, table))).get_add_actions(flatten=True))
    named |= {unquote(path) for path in current["path"].to_pylist()}  # those a checkpoint holds
    left = [
        info.path
        for info in fs.get_file_info(pafs.FileSelector(root, recursive=True))
        if info.type == pafs.FileType.File
        and not info.path.startswith(f"{commits}/")
        and info.mtime > since
        and info.path[len(root) + 1 :] not in named
    ]
    for path in left:
        fs.delete_file(path)
    if left:
        log.warning("%s: deleted %d file(s) of a write that was never committed", table, len(left))
    return left


# Commits that change no row: a vacuum's or a compaction's (datasets.vacuum, datasets.optimize) leave a table
# beyond its release, not interrupted.
_MAINTENANCE = frozenset({"VACUUM START", "VACUUM END", "OPTIMIZE"})


def _interrupted(output_dir: Path, table: str, version: int) -> bool:
    """Whether the table holds commits after its released `version` that a run left (not maintenance), and the
    latest of them did not already restore it to `version`."""
    history = DeltaTable(str(table_path(output_dir, table))).history()  # newest first
    left = [entry for entry in history if entry["version"] > version and entry.get("operation") not in _MAINTENANCE]
    return bool(left) and left[0].get("newsflow.restored_to") != str(version)


def record_run(record: RunRecord, settings: Settings, metadata: dict[str, str]) -> None:
    """Append the run's row to the runs table, with the release it leaves (the version of every other table) in
    record.table_versions; the runs table's new version is added there too (shown, not stored)."""
    record.table_versions = {t: v for t, v in current_versions(settings.output_dir).items() if t != "runs"}
    row = {
        "run_id": record.run_id,
        "flow_run_id": record.flow_run_id,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "status": record.status,
        "counts": list(record.counts.items()),
        "table_versions": list(record.table_versions.items()),
        "validation": json.dumps(record.validation) if record.validation is not None else None,
        "error": record.error,
        "stage_seconds": list(record.stage_seconds.items()),
    }
    contract = load_contract(settings.contracts_dir, "runs")
    record.table_versions["runs"] = write_table("runs", pa.Table.from_pylist([row], schema=contract.arrow_schema), settings, metadata)

