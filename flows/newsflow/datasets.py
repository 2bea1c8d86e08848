"""Reading the published datasets: consistent releases, versions, history, diffs and clean-up.

A release is what one run left behind: the version of every table, recorded in the runs
table. `load(table)` reads a table as the latest completed release left it, so a run in
progress is never seen; `snapshot(*tables)` reads several at the same release.
"""

from pathlib import Path

import polars as pl
import pyarrow as pa
from deltalake import DeltaTable

from newsflow.contracts import TABLES, load_contract
from newsflow.settings import Settings
from newsflow.storage import stores
from newsflow.storage.delta_files import FILE_BYTES
from newsflow.storage.lock import output_lock
from newsflow.storage.tables import FILE_ROWS, exists, open_table, read_published, table_path

DEFAULT_OUTPUT = Path("output")


def releases(output_dir: Path = DEFAULT_OUTPUT) -> pl.DataFrame:
    """The completed runs, oldest first, each with the version of every table it released."""
    runs = read_published(output_dir, "runs")
    if runs is None:
        raise FileNotFoundError(f"no datasets in {output_dir}: run `newsflow run --output {output_dir}` first")
    # in the order they committed: a run that waited for the lock commits after the one it waited for
    return runs.filter(pl.col("status") == "completed").sort("finished_at").select("run_id", "finished_at", "table_versions")


def release_versions(release: str | None = None, output_dir: Path = DEFAULT_OUTPUT) -> dict[str, int]:
    """The version of every table in a release (a run id), or in the latest release."""
    completed = releases(output_dir)
    if release is not None:
        completed = completed.filter(pl.col("run_id") == release)
        if completed.is_empty():
            raise KeyError(f"no completed run {release!r} in {output_dir}; `newsflow datasets releases` lists them")
    if completed.is_empty():
        raise KeyError(f"no completed run in {output_dir} yet")
    return dict(completed.row(-1, named=True)["table_versions"])


def load(
    table: str,
    release: str | None = None,
    version: int | None = None,
    output_dir: Path = DEFAULT_OUTPUT,
    include_deleted: bool = False,
) -> pl.DataFrame:
    """A table as a Polars frame: at `version`, or as released by run `release`, or in the latest release.

    Documents whose files are gone (is_deleted) are left out unless `include_deleted`."""
    if release is not None and version is not None:
        raise ValueError("pass release or version, not both")
    if version is None and table != "runs":
        version = release_versions(release, output_dir)[table]
    delta = _open(table, output_dir)
    if version is not None and not 0 <= version <= delta.version():
        raise ValueError(f"table {table} has versions 0 to {delta.version()}, not {version}")
    frame = pl.scan_delta(str(table_path(output_dir, table)), version=version)
    if not include_deleted and "is_deleted" in frame.collect_schema():
        frame = frame.filter(~pl.col("is_deleted"))
    return frame.collect()


def snapshot(
    *tables: str, release: str | None = None, output_dir: Path = DEFAULT_OUTPUT, include_deleted: bool = False
) -> dict[str, pl.DataFrame]:
    """Several tables as one release left them (the latest, or run `release`), in one call: a run that publishes
    meanwhile changes none of them. Calling load() once per table can mix two releases."""
    versions = release_versions(release, output_dir)
    return {
        table: load(table, version=versions.get(table), output_dir=output_dir, include_deleted=include_deleted)
        for table in tables or TABLES
    }


def _open(table: str, output_dir: Path) -> DeltaTable:
    if not exists(output_dir, table):
        raise FileNotFoundError(f"no table {table} in {output_dir}: run `newsflow run --output {output_dir}` first")
    return open_table(output_dir, table)


def list_tables(output_dir: Path = DEFAULT_OUTPUT) -> pl.DataFrame:
    """Every table with its latest version, row count and the run that last changed it."""
    rows = []
    for table in TABLES:
        if exists(output_dir, table):
            delta = _open(table, output_dir)
            last = delta.history(1)[0]
            rows.append(
                {
                    "table": table,
                    "version": delta.version(),
                    "rows": delta.count(),
                    "last_run": last.get("newsflow.run_id"),
                    "changed_at": last.get("timestamp"),
                }
            )
    if not rows:
        raise FileNotFoundError(f"no tables in {output_dir}: run `newsflow run --output {output_dir}` first")
    return pl.DataFrame(rows, schema={"table": pl.String, "version": pl.Int64, "rows": pl.Int64, "last_run": pl.String, "changed_at": pl.Int64}).with_columns(
        pl.from_epoch("changed_at", time_unit="ms").dt.replace_time_zone("UTC")
    )


def history(table: str, output_dir: Path = DEFAULT_OUTPUT) -> pl.DataFrame:
    """One row per version of a table: when, what operation, which run, rows added and removed.

    The rows are counted from the files each version added and removed (their numRecords): the pipeline commits the
    files it wrote itself (newsflow.storage.delta_files), and such a commit's operationMetrics count 0 rows.
    """
    delta = _open(table, output_dir)
    entries = sorted(delta.history(), key=lambda entry: entry["version"])
    rows, files = [], {}  # files of the version before: path -> rows
    for entry in entries:
        delta.load_as_version(entry["version"])
        actions = pa.table(delta.get_add_actions(flatten=True)).select(["path", "num_records"])
        current = dict(zip(actions["path"].to_pylist(), actions["num_records"].to_pylist(), strict=True))
        rows.append(
            {
                "version": entry["version"],
                "changed_at": entry["timestamp"],
                "operation": entry.get("operation"),
                "run_id": entry.get("newsflow.run_id"),
                "note": entry.get("newsflow.operation"),
                "rows_added": sum(n for path, n in current.items() if path not in files),
                "rows_removed": sum(n for path, n in files.items() if path not in current),
            }
        )
        files = current
    return pl.DataFrame(
        rows,
        schema={
            "version": pl.Int64,
            "changed_at": pl.Int64,
            "operation": pl.String,
            "run_id": pl.String,
            "note": pl.String,
            "rows_added": pl.Int64,
            "rows_removed": pl.Int64,
        },
    ).with_columns(pl.from_epoch("changed_at", time_unit="ms").dt.replace_time_zone("UTC"))


def diff(table: str, from_version: int, to_version: int, output_dir: Path = DEFAULT_OUTPUT) -> dict[str, list[str]]:
    """Which keys (doc_id, story_id, run_id, ...) a table gained, lost and changed between two versions."""
    contract = load_contract(Settings().contracts_dir, table)
    key = contract.write_key[0] if contract.write_key else contract.columns[0].name
    before, after = (_content_by_key(load(table, version=v, output_dir=output_dir), key) for v in (from_version, to_version))
    return {
        "added": sorted(after.keys() - before.keys()),
        "removed": sorted(before.keys() - after.keys()),
        "changed": sorted(k for k in after.keys() & before.keys() if after[k] != before[k]),
    }


def _content_by_key(frame: pl.DataFrame, key: str) -> dict[str, int]:
    """A hash of all rows of each key; two versions of a key differ when any of its rows differs."""
    hashed = frame.select(pl.col(key).cast(pl.String), row=pl.struct(pl.all()).hash())
    return dict(hashed.group_by(key).agg(pl.col("row").sort().hash()).iter_rows())


def optimize(output_dir: Path = DEFAULT_OUTPUT) -> dict[str, tuple[int, int]]:
    """Compact every table's small files (runs that change a few rows leave them) into files of up to FILE_BYTES, or,
    for a table written by replace, of about FILE_ROWS rows (so that a later run still rewrites little).

    Returns, per table, how many files were removed and added. The rows do not change, and every release stays
    readable (the old files go with `vacuum`). The output folder's lock is held, so no run publishes meanwhile.
    """
    settings = Settings(output_dir=output_dir)
    with output_lock(output_dir, "newsflow datasets optimize", settings):
        done = {}
        for table in TABLES:
            if exists(output_dir, table):
                delta = _open(table, output_dir)
                target = FILE_BYTES
                if load_contract(settings.contracts_dir, table).write_mode == "replace":
                    files = pa.table(delta.get_add_actions(flatten=True))
                    rows, size = sum(files["num_records"].to_pylist()), sum(files["size_bytes"].to_pylist())
                    target = min(FILE_BYTES, max(1, size * FILE_ROWS // max(1, rows)))
                metrics = delta.optimize.compact(target_size=target)
                done[table] = (metrics["numFilesRemoved"], metrics["numFilesAdded"])
    return done


def vacuum(keep: int, dry_run: bool = True, output_dir: Path = DEFAULT_OUTPUT) -> dict[str, list[str]]:
    """Data files each table would delete (or deletes) when only the last `keep` releases stay readable, and the
    files of the GX validation results (and their Data Docs pages) of this folder's runs older than those releases.

    What is newer than the latest release (the commits of an interrupted run, which the next run's recovery
    undoes) is kept too. The output folder's lock is held, so no run publishes meanwhile.
    """
    from newsflow.quality import gx  # imports Great Expectations, which only this command needs

    if keep < 1:
        raise ValueError("keep at least 1 release")
    settings = Settings(output_dir=output_dir)
    with output_lock(output_dir, "newsflow datasets vacuum", settings):
        kept_releases = releases(output_dir).tail(keep)
        kept = [dict(r) for r in kept_releases["table_versions"].to_list()] or [{}]
        removed = {}
        for table in TABLES:
            if exists(output_dir, table):
                delta = _open(table, output_dir)
                newest = delta.version()
                since = newest if table == "runs" else kept[-1].get(table, 0)  # runs is read at its latest version
                versions = {release.get(table, newest) for release in kept} | set(range(since, newest + 1))
                options = dict(retention_hours=0, enforce_retention_duration=False, keep_versions=sorted(versions))
                # deltalake lists a removed file again at every vacuum (its tombstone stays in the log)
                folder = table_path(output_dir, table)
                removed[table] = [name for name in delta.vacuum(dry_run=True, **options) if stores.exists(stores.join(folder, name))]
                if removed[table] and not dry_run:
                    delta.vacuum(dry_run=False, **options)
        runs = read_published(output_dir, "runs", ["run_id", "finished_at"])
        oldest_kept = kept_releases["finished_at"].min()
        older = runs.filter(pl.col("finished_at") < oldest_kept) if oldest_kept is not None else runs.clear()
        removed["validation results"] = gx.prune_validation_results(settings, set(older["run_id"]), dry_run)
    return removed
