"""What the expectations found on a table's rows, and which rows are therefore not published.

A row that fails a `row` expectation is not published: a quarantine record names the table, the
expectation, the column and the value. When the row is a document or one of its paragraphs (they
make up its text), the document's rows in every table are withheld too, with a record. A failed
`table` expectation fails the run.
"""

import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from newsflow import quarantine
from newsflow.batch import Batch
from newsflow.contracts import Contract, ContractError, Expectation, contracts_digest, refused_fingerprint
from newsflow.settings import Settings
from newsflow.storage.tables import read_published

ROW = "row"  # the row's position in the run's frame: how GX's unexpected rows map back to it
DOCUMENT_COLUMN_PREFIX = "documents."
DOCUMENT_REFERENCES = ("doc_id", "other_doc_id")
# Rows that make up a document's text: when one fails, the whole document is withheld.
DOCUMENT_TABLES = frozenset({"documents", "paragraphs"})
MAX_VALUE_CHARS = 300


@dataclass
class Outcome:
    """One expectation checked on one table's rows."""

    table: str
    expectation: Expectation
    success: bool
    result: dict

    @property
    def failed_rows(self) -> list[int]:
        """The rows a row expectation refuses (whatever `mostly` says); none for a table expectation."""
        if self.expectation.level != "row":
            return []
        return [int(entry[ROW]) for entry in self.result.get("unexpected_index_list") or ()]

    @property
    def failed(self) -> bool:
        return bool(self.failed_rows) if self.expectation.level == "row" else not self.success

    @property
    def fails_run(self) -> bool:
        # A quarantine row cannot itself be quarantined: any failure there fails the run.
        return self.failed and (self.expectation.level == "table" or self.table == "quarantine")

    def observed(self) -> dict:
        keys = ("observed_value", "unexpected_count", "unexpected_percent")
        return json.loads(json.dumps({key: self.result[key] for key in keys if key in self.result}, default=str))

    def summary(self) -> dict:
        expectation = self.expectation
        return {
            "table": self.table,
            "level": expectation.level,
            "expectation": expectation.type,
            "columns": expectation.columns,
            **self.observed(),
        }


@dataclass
class TableCheck:
    """A table's rows as validated (with ROW and the computed columns), and what each expectation found."""

    table: str
    rows: pl.DataFrame
    outcomes: list[Outcome]


def validation_frame(frame: pl.DataFrame, contract: Contract, batch: Batch, settings: Settings) -> pl.DataFrame:
    """The contract's columns (missing ones as nulls), ROW, and the computed columns the expectations name.

    A column named documents.<column> is the value of the row's document (this run's, else the
    published one); any other column not in the contract is a Polars SQL expression over the row.
    """
    schema = contract.polars_schema()
    rows = frame.select(
        pl.col(name) if name in frame.columns else pl.lit(None, dtype=schema[name]).alias(name) for name in schema
    ).with_row_index(ROW)
    computed = list(dict.fromkeys(c for e in contract.expectations for c in e.columns if c not in schema))
    lookups = [c for c in computed if c.startswith(DOCUMENT_COLUMN_PREFIX)]
    if lookups:
        rows = rows.join(document_columns(lookups, batch, settings), on="doc_id", how="left", maintain_order="left")
    try:
        return rows.with_columns(pl.sql_expr(c).alias(c) for c in computed if c not in lookups)
    except (pl.exceptions.PolarsError, ValueError) as error:
        raise ContractError(f"{contract_path(contract, settings)}: a computed column cannot be evaluated: {error}") from None


def document_columns(names: list[str], batch: Batch, settings: Settings) -> pl.DataFrame:
    """doc_id and the named documents columns (documents.n_chars, ...) of this run's and earlier documents."""
    columns = [name.removeprefix(DOCUMENT_COLUMN_PREFIX) for name in names]
    published = read_published(settings.output_dir, "documents", ["doc_id", *columns])
    frames = [f for f in (batch.documents, published) if f is not None]
    try:
        documents = pl.concat([f.select("doc_id", *columns) for f in frames]).unique("doc_id", keep="first", maintain_order=True)
    except pl.exceptions.ColumnNotFoundError as error:
        raise ContractError(f"an expectation names a documents column that does not exist: {error}") from None
    return documents.rename(dict(zip(columns, names)))


def rows_not_published(checks, batch: Batch, contracts_dir: Path) -> tuple[dict[str, set[int]], dict[str, set[int]], list[dict]]:
    """Per table, the rows that fail a row expectation and the rows withheld with a failed document; their records."""
    # the file, its content and the contracts, so a later run skips the file until it or a contract changes
    contracts = contracts_digest(contracts_dir)
    files = (
        {
            d: {"source_uri": u, "fingerprint": refused_fingerprint(h, contracts)}
            for d, u, h in batch.documents.select("doc_id", "source_uri", "content_sha256").iter_rows()
        }
        if batch.documents is not None
        else {}
    )
    failed: dict[str, set[int]] = {}
    records, failed_documents = [], set()
    for check in checks:
        for outcome in check.outcomes:
            for row in check.rows.filter(pl.col(ROW).is_in(outcome.failed_rows)).iter_rows(named=True):
                doc_id = row.get("doc_id")
                records.append({**failed_row_record(check.table, outcome.expectation, row), **files.get(doc_id, {})})
                if check.table in DOCUMENT_TABLES and doc_id is not None:
                    failed_documents.add(doc_id)
            failed.setdefault(check.table, set()).update(outcome.failed_rows)
    withheld: dict[str, set[int]] = {}
    for check in checks:
        references = [c for c in DOCUMENT_REFERENCES if c in check.rows.columns]
        if not references or not failed_documents:
            continue
        failed_document = pl.coalesce(pl.when(pl.col(c).is_in(list(failed_documents))).then(pl.col(c)) for c in references)
        rows = check.rows.with_columns(failed_document.alias("failed_document")).filter(
            pl.col("failed_document").is_not_null() & ~pl.col(ROW).is_in(list(failed.get(check.table, ())))
        )
        for (doc_id,), document_rows in rows.group_by("failed_document", maintain_order=True):
            records.append(
                quarantine.record(
                    "withheld_with_document",
                    **files.get(doc_id, {}),
                    doc_id=doc_id,
                    detail=f"{document_rows.height} row(s)",
                    table_name=check.table,
                )
            )
        withheld[check.table] = set(rows[ROW].to_list())
    return failed, withheld, records


def failed_row_record(table: str, expectation: Expectation, row: dict) -> dict:
    columns = expectation.columns
    value = str(row[columns[0]]) if len(columns) == 1 else ", ".join(f"{c}={row[c]}" for c in columns)
    rule = f": {expectation.description}" if expectation.description else ""
    return quarantine.record(
        "failed_expectation",
        reason=f"the {table} row fails {expectation.label()}{rule}; it is not published. "
        f"Fix the article, or the expectation in schemas/{table}.yaml if it is wrong",
        doc_id=row.get("doc_id"),
        detail=json.dumps(expectation.kwargs, default=str),
        table_name=table,
        expectation=expectation.type,
        column_name=", ".join(columns),
        value=value if len(value) <= MAX_VALUE_CHARS else value[: MAX_VALUE_CHARS - 1] + "…",
    )


def describe(outcome: Outcome) -> str:
    """What was found, and what should hold when the contract says it."""
    observed = outcome.observed()
    if "unexpected_percent" in observed:
        found = f"{observed['unexpected_percent']:.1f}% of rows unexpected"
    else:
        found = f"observed {observed.get('observed_value')}"
    return f"{found} ({outcome.expectation.description})" if outcome.expectation.description else found


def contract_path(contract: Contract, settings: Settings) -> Path:
    return Path(settings.contracts_dir) / f"{contract.table}.yaml"


def without_rows(frame: pl.DataFrame, rows: set[int]) -> pl.DataFrame:
    if not rows:
        return frame
    return frame.with_row_index(ROW).filter(~pl.col(ROW).is_in(list(rows))).drop(ROW)

