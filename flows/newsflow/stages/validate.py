"""validate: check every table's new rows against the expectations in schemas/ with Great Expectations.

Each contract's expectations become a GX suite at run time, run by one Checkpoint per table in
the file-backed GX project at settings.gx_dir, which also holds the Data Docs.
- A row that fails a `row` expectation is not published: a quarantine record names the table,
  the expectation, the column and the value. When the row is a document or one of its paragraphs
  (they make up its text), the document's rows in every table are withheld too, with a record.
- A failed `table` expectation fails the run: ValidationFailed carries the summary, and nothing
  of the run is published.

Great Expectations takes seconds to import, so it is imported here, inside the functions only.
"""

import json
import os
import time
import warnings
from dataclasses import asdict, dataclass, field
from datetime import UTC, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import polars as pl
import yaml

from newsflow.analysis.cleaning import BoilerplateRule, load_boilerplate_rules
from newsflow.batch import Batch
from newsflow.contracts import Contract, ContractError, Expectation, load_contract
from newsflow.settings import Settings
from newsflow.storage.lock import exclusive
from newsflow.storage.tables import read_published

STAGE = "validate"
ROW = "row"  # the row's position in the run's frame: how GX's unexpected rows map back to it
DOCUMENT_COLUMN_PREFIX = "documents."
DOCUMENT_REFERENCES = ("doc_id", "other_doc_id")
# Rows that make up a document's text: when one fails, the whole document is withheld.
DOCUMENT_TABLES = frozenset({"documents", "paragraphs"})
# published_at is a wall-clock time of unknown zone; the latest clock on Earth runs at UTC+14.
LATEST_UTC_OFFSET = timedelta(hours=14)
MAX_VALUE_CHARS = 300
# The Data Docs index links this many of the latest validation results (a 100,000-article run makes ~350). It reads
# every result it links: linking the whole history, a build took 0.4 s after 30 results and 1.0 s after 280.
DATA_DOCS_INDEX_RESULTS = 500


class ValidationFailed(Exception):
    """A table-level expectation failed, so nothing of the run may be published."""

    def __init__(self, message: str, summary: dict):
        super().__init__(message)
        self.summary = summary


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


def run(batch: Batch, settings: Settings) -> Batch:
    # The GX project is files: batches validated side by side (on Dask) take turns with it.
    with exclusive(Path(settings.gx_dir), f"run {batch.run_id}"):
        return _run(batch, settings)


def _run(batch: Batch, settings: Settings) -> Batch:
    started = time.perf_counter()
    checker = Checker(gx_project(Path(settings.gx_dir).resolve()), expectation_parameters(batch, settings), batch, settings)
    frames = {table: frame for table, frame in batch.frames().items() if table != "quarantine"}
    checks = {table: checker.check(table, frame) for table, frame in frames.items()}

    failed, withheld, records = rows_not_published(checks.values(), batch)
    checked = batch.updated(
        counts={
            "rows_failed_validation": sum(map(len, failed.values())),
            "rows_withheld_with_document": sum(map(len, withheld.values())),
        },
        quarantined=records,
        **{table: _without_rows(frame, failed.get(table, set()) | withheld.get(table, set())) for table, frame in frames.items()},
    )
    checks["quarantine"] = checker.check("quarantine", checked.quarantine)

    [site] = checker.project.context.get_docs_sites_urls(only_if_exists=False)  # built once per run: build_data_docs()
    summary = validation_summary(checks.values(), _path_of(site["site_url"]), time.perf_counter() - started)
    if fatal := [o for check in checks.values() for o in check.outcomes if o.fails_run]:
        listed = "; ".join(f"{o.table}: {o.expectation.label()}, {_describe(o)}" for o in fatal)
        raise ValidationFailed(
            f"validation failed, nothing of run {batch.run_id} is published: {listed}. Fix the input, or the "
            f"expectation in {settings.contracts_dir} if it is wrong; Data Docs: {summary['data_docs']}",
            summary,
        )
    return checked.updated(counts={"expectations_evaluated": summary["expectations_evaluated"]}, validation=summary)


def import_great_expectations():
    os.environ["GX_ANALYTICS_ENABLED"] = "false"  # read when great_expectations is imported
    import great_expectations

    return great_expectations


@dataclass
class Project:
    """The file-backed GX project in one folder, and each table's Checkpoint in it.

    A process opens the project once and makes a table's suite, validation definition and
    Checkpoint once, then reuses them for every batch while the table's expectations stay the
    same (opening and saving them took ~0.3 s of each 1,113-article batch's validation). They
    are saved again when another process saved its own since (Dask workers, another run).
    """

    context: Any
    source: Any  # the GX pandas data source; each table is one of its dataframe assets
    checkpoints: dict[str, tuple[str, Any, dict[str, Expectation]]] = field(default_factory=dict)  # per table

    def run(self, contract: Contract, settings: Settings, **parameters) -> tuple[Any, dict[str, Expectation]]:
        """Run the table's Checkpoint with `parameters`: its result, and the contract's expectation behind each GX
        expectation id. When another process saved its own since, GX refuses the stale objects: they are saved again."""
        from great_expectations.exceptions.resource_freshness import CheckpointRelatedResourcesFreshnessError

        checkpoint, expectations = self.checkpoint(contract, settings)
        try:
            return checkpoint.run(**parameters), expectations
        except CheckpointRelatedResourcesFreshnessError:
            checkpoint, expectations = self.checkpoint(contract, settings, remake=True)
            return checkpoint.run(**parameters), expectations

    def checkpoint(self, contract: Contract, settings: Settings, remake: bool = False) -> tuple[Any, dict[str, Expectation]]:
        """The table's Checkpoint, and the contract's expectation behind each GX expectation id; `remake` saves
        them again, when another process saved its own since."""
        expectations = json.dumps([asdict(e) for e in contract.expectations], sort_keys=True, default=str)
        made = self.checkpoints.get(contract.table)
        if remake or made is None or made[0] != expectations:
            made = self.checkpoints[contract.table] = (expectations, *self._make_checkpoint(contract, settings))
        return made[1], made[2]

    def _make_checkpoint(self, contract: Contract, settings: Settings) -> tuple[Any, dict[str, Expectation]]:
        import great_expectations as gx

        table = contract.table
        suite = self.context.suites.add_or_update(
            gx.ExpectationSuite(name=table, expectations=[gx_expectation(e, contract, settings) for e in contract.expectations])
        )
        if table in self.source.get_asset_names():  # made before for other expectations
            self.source.delete_asset(table)
        batch_definition = self.source.add_dataframe_asset(table).add_batch_definition_whole_dataframe("rows of one run")
        definition = self.context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=table, data=batch_definition, suite=suite)
        )
        checkpoint = self.context.checkpoints.add_or_update(
            gx.Checkpoint(
                name=table,
                validation_definitions=[definition],
                result_format={"result_format": "COMPLETE", "unexpected_index_column_names": [ROW, contract.columns[0].name]},
            )
        )
        return checkpoint, {entry.id: e for entry, e in zip(suite.expectations, contract.expectations, strict=True)}


@cache
def gx_project(gx_dir: Path) -> Project:
    """The file-backed GX project, created on first use: analytics and progress bars off, the Data Docs index limited."""
    gx = import_great_expectations()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="file", context_root_dir=gx_dir)
    context.variables.analytics_enabled = False
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    sites = context.variables.data_docs_sites
    for site in sites.values():
        site.setdefault("site_index_builder", {"class_name": "DefaultSiteIndexBuilder"})["validation_results_limit"] = DATA_DOCS_INDEX_RESULTS
    context.variables.data_docs_sites = sites
    context.variables.save()
    return Project(context, context.data_sources.add_or_update_pandas("newsflow"))


def expectation_parameters(batch: Batch, settings: Settings) -> dict:
    """Values the contracts name as {$PARAMETER: name}: the numeric settings and what this run provides."""
    numeric = {name: value for name, value in settings.model_dump().items() if isinstance(value, int | float)}
    codes = yaml.safe_load(Path(settings.language_codes_file).read_text(encoding="utf-8"))["codes"]
    return {
        **numeric,
        "boilerplate_patterns": [whole_line_pattern(rule) for rule in load_boilerplate_rules(settings.boilerplate_rules)],
        "language_codes": [*codes, "und"],
        "ingested_at_latest_local_time": (batch.started_at.astimezone(UTC) + LATEST_UTC_OFFSET).replace(tzinfo=None),
    }


def whole_line_pattern(rule: BoilerplateRule) -> str:
    """The rule as a search pattern that matches what the rule matches: a whole line, in any case."""
    return rf"(?i)^(?:{rule.pattern.pattern})\Z"


@dataclass
class Checker:
    """Checks the tables of one run in the GX project, each with its own Checkpoint."""

    project: Project
    parameters: dict
    batch: Batch
    settings: Settings

    def check(self, table: str, frame: pl.DataFrame) -> TableCheck:
        """Run the table's suite over its rows; its Data Docs page is rendered when the run ends (build_data_docs)."""
        from great_expectations.core.run_identifier import RunIdentifier

        contract = load_contract(self.settings.contracts_dir, table)
        if not contract.expectations:  # nothing to check; its rows may still be withheld with their document
            # Only the columns naming a document: a whole frame would be copied (signatures holds a row per document).
            return TableCheck(table, frame.select(c for c in DOCUMENT_REFERENCES if c in frame.columns).with_row_index(ROW), [])
        rows = validation_frame(frame, contract, self.batch, self.settings)
        with warnings.catch_warnings():
            # pandas warns that the boilerplate rules have groups; GX only asks whether they match.
            warnings.filterwarnings("ignore", "This pattern is interpreted as a regular expression", UserWarning)
            run, expectations = self.project.run(
                contract,
                self.settings,
                batch_parameters={"dataframe": rows.to_pandas()},
                expectation_parameters=self.parameters,
                run_id=RunIdentifier(run_name=self.batch.run_id),
            )
        [result] = run.run_results.values()
        outcomes = []
        for checked in result.results:
            expectation = expectations[checked.expectation_config.id]
            if checked.exception_info.get("raised_exception"):
                raise ContractError(
                    f"{contract_path(contract, self.settings)}: {expectation.label()} cannot be checked: "
                    f"{checked.exception_info['exception_message']}"
                )
            outcomes.append(Outcome(table, expectation, bool(checked.success), checked.result))
        return TableCheck(table, rows, outcomes)


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


def gx_expectation(expectation: Expectation, contract: Contract, settings: Settings):
    """The GX expectation a contract entry names; a row expectation must judge rows one by one."""
    from great_expectations.expectations.expectation import (
        ColumnMapExpectation,
        ColumnPairMapExpectation,
        MulticolumnMapExpectation,
    )
    from great_expectations.expectations.registry import get_expectation_impl

    where = f"{contract_path(contract, settings)}: {expectation.label()}"
    try:
        kind = get_expectation_impl(expectation.type)
    except Exception:
        raise ContractError(f"{where}: Great Expectations has no expectation {expectation.type!r}") from None
    judges_rows = issubclass(kind, ColumnMapExpectation | ColumnPairMapExpectation | MulticolumnMapExpectation)
    if expectation.level == "row" and not judges_rows:
        raise ContractError(f"{where}: it judges the whole table, not each row; list it under table")
    try:
        return kind(**expectation.kwargs, description=expectation.description or None, meta={"level": expectation.level})
    except Exception as error:  # pydantic names the argument that is wrong
        raise ContractError(f"{where}: {error}") from None


def rows_not_published(checks, batch: Batch) -> tuple[dict[str, set[int]], dict[str, set[int]], list[dict]]:
    """Per table, the rows that fail a row expectation and the rows withheld with a failed document; their records."""
    # the file and its content hash, so a later run skips the file until it changes
    files = (
        {d: {"source_uri": u, "fingerprint": h} for d, u, h in batch.documents.select("doc_id", "source_uri", "content_sha256").iter_rows()}
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
                {
                    "stage": STAGE,
                    **files.get(doc_id, {}),
                    "doc_id": doc_id,
                    "code": "withheld_with_document",
                    "reason": "not published: it belongs to a document that failed validation "
                    "(see its failed_expectation record)",
                    "detail": f"{document_rows.height} row(s)",
                    "table_name": check.table,
                }
            )
        withheld[check.table] = set(rows[ROW].to_list())
    return failed, withheld, records


def failed_row_record(table: str, expectation: Expectation, row: dict) -> dict:
    columns = expectation.columns
    value = str(row[columns[0]]) if len(columns) == 1 else ", ".join(f"{c}={row[c]}" for c in columns)
    rule = f": {expectation.description}" if expectation.description else ""
    return {
        "stage": STAGE,
        "doc_id": row.get("doc_id"),
        "code": "failed_expectation",
        "reason": f"the {table} row fails {expectation.label()}{rule}; it is not published. "
        f"Fix the article, or the expectation in schemas/{table}.yaml if it is wrong",
        "detail": json.dumps(expectation.kwargs, default=str),
        "table_name": table,
        "expectation": expectation.type,
        "column_name": ", ".join(columns),
        "value": value if len(value) <= MAX_VALUE_CHARS else value[: MAX_VALUE_CHARS - 1] + "…",
    }


def build_data_docs(batch: Batch, settings: Settings) -> Batch:
    """Render the Data Docs pages of the run's validation results and suites, and the site's index, once per run (the
    index reads every result it links: ~0.4 s a build on seeds-sized runs). The batch is returned as it is."""
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    with exclusive(Path(settings.gx_dir), f"run {batch.run_id}"):
        context = gx_project(Path(settings.gx_dir).resolve()).context
        results = [key for key in context.validation_results_store.list_keys() if key.run_id.run_name == batch.run_id]
        suites = {key.expectation_suite_identifier.name for key in results}
        context.build_data_docs(resource_identifiers=[*map(ExpectationSuiteIdentifier, sorted(suites)), *results])
    return batch


def validation_summary(checks, data_docs: Path, seconds: float) -> dict:
    """What the run keeps about validation: per suite, the rows and expectations checked and failed; the Data Docs."""
    checks = list(checks)
    suites = {
        check.table: {
            "rows": check.rows.height,
            "expectations": len(check.outcomes),
            "failed": sum(o.failed for o in check.outcomes),
            "failed_rows": len({row for o in check.outcomes for row in o.failed_rows}),
        }
        for check in checks
    }
    outcomes = [o for check in checks for o in check.outcomes]
    return {
        "success": not any(o.fails_run for o in outcomes),
        "suites": suites,
        "expectations_evaluated": len(outcomes),
        "failures": [o.summary() for o in outcomes if o.failed],
        "data_docs": str(data_docs),
        "seconds": round(seconds, 2),
    }


def combine(summary: dict | None, more: dict | None) -> dict | None:
    """One summary for a run whose tables were validated in several calls (its batches, then its groups)."""
    if summary is None or more is None:
        return summary or more
    suites = {table: dict(counts) for table, counts in summary["suites"].items()}
    for table, counts in more["suites"].items():
        totals = suites.setdefault(table, dict.fromkeys(counts, 0))
        for key, value in counts.items():
            totals[key] += value
    return {
        "success": summary["success"] and more["success"],
        "suites": suites,
        "expectations_evaluated": summary["expectations_evaluated"] + more["expectations_evaluated"],
        "failures": summary["failures"] + more["failures"],
        "data_docs": more["data_docs"],
        "seconds": round(summary["seconds"] + more["seconds"], 2),
    }


def contract_path(contract: Contract, settings: Settings) -> Path:
    return Path(settings.contracts_dir) / f"{contract.table}.yaml"


def _describe(outcome: Outcome) -> str:
    """What was found, and what should hold when the contract says it."""
    observed = outcome.observed()
    if "unexpected_percent" in observed:
        found = f"{observed['unexpected_percent']:.1f}% of rows unexpected"
    else:
        found = f"observed {observed.get('observed_value')}"
    return f"{found} ({outcome.expectation.description})" if outcome.expectation.description else found


def _path_of(url: str) -> Path:
    return Path(unquote(urlparse(url).path))


def _without_rows(frame: pl.DataFrame, rows: set[int]) -> pl.DataFrame:
    if not rows:
        return frame
    return frame.with_row_index(ROW).filter(~pl.col(ROW).is_in(list(rows))).drop(ROW)
