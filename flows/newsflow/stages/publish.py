"""publish: write a run's frames as Delta Lake tables under the output folder.

Every frame is checked against its contract first (catalog.conform), so a frame that does
not match fails with the table and column named. Each written table gets one commit whose
metadata says which run wrote it.
"""

import json
from pathlib import Path

import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, write_deltalake

from newsflow.batch import Batch
from newsflow.catalog import TABLES, conform, load_contract, table_path
from newsflow.runs import RunRecord
from newsflow.settings import Settings

# Tables that accumulate history; the others hold the current state of the source folder.
APPEND_TABLES = frozenset({"duplicates", "quarantine", "runs"})


def publish_tables(batch: Batch, settings: Settings, commit_metadata: dict[str, str]) -> dict[str, int]:
    """Write every frame the run produced; returns the new version of each table written."""
    return {
        table: write_table(table, frame, settings, "append" if table in APPEND_TABLES else "overwrite", commit_metadata)
        for table, frame in batch.frames().items()
    }


def write_table(table: str, frame, settings: Settings, mode: str, commit_metadata: dict[str, str]) -> int:
    """One commit to one table; appending nothing to an existing table commits nothing."""
    contract = load_contract(settings.contracts_dir, table)
    data = conform(table, frame, contract)
    path = table_path(settings.output_dir, table)
    if mode == "append" and data.num_rows == 0 and DeltaTable.is_deltatable(str(path)):
        return DeltaTable(str(path)).version()
    write_deltalake(
        str(path),
        data,
        mode=mode,
        schema_mode="overwrite" if mode == "overwrite" else "merge",
        description=contract.description,
        commit_properties=CommitProperties(custom_metadata=commit_metadata),
    )
    return DeltaTable(str(path)).version()


def current_versions(output_dir: Path) -> dict[str, int]:
    """The latest version of every table that exists under output_dir."""
    return {
        table: DeltaTable(str(path)).version()
        for table in TABLES
        if DeltaTable.is_deltatable(str(path := table_path(output_dir, table)))
    }


def record_run(record: RunRecord, settings: Settings, commit_metadata: dict[str, str]) -> int:
    """Append the run's row to the runs table; returns the runs table's new version."""
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
    }
    contract = load_contract(settings.contracts_dir, "runs")
    return write_table("runs", pa.Table.from_pylist([row], schema=contract.arrow_schema), settings, "append", commit_metadata)
