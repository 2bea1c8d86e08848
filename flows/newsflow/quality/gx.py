"""The Great Expectations adapter: each contract's expectations as a GX suite, run by one Checkpoint per table in
the file-backed GX project of the run's output folder (project_dir: a folder of settings.gx_dir), which also holds
the Data Docs.

Great Expectations takes seconds to import, so it is imported here, inside the functions only.
"""

import hashlib
import html
import json
import os
import re
import shutil
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
from newsflow.quality import data_docs
from newsflow.quality.checks import (
    DOCUMENT_REFERENCES,
    MAX_VALUE_CHARS,
    ROW,
    Outcome,
    TableCheck,
    contract_path,
    validation_frame,
)
from newsflow.settings import Settings
from newsflow.storage import stores
from newsflow.storage.lock import exclusive

# published_at is a wall-clock time of unknown zone; the latest clock on Earth runs at UTC+14.
LATEST_UTC_OFFSET = timedelta(hours=14)


# The Data Docs index links this many of the latest validation results (a 100,000-article run makes ~350). It reads
# every result it links: linking the whole history, a build took 0.4 s after 30 results and 1.0 s after 280.
DATA_DOCS_INDEX_RESULTS = 500



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


def project_dir(settings: Settings) -> Path:
    """The GX project of settings.output_dir: a folder of settings.gx_dir named after the output and a digest of
    where it is. Each output folder has its own results and Data Docs (one project for all mixed every output's
    runs in one index)."""
    output = str(settings.output_dir).rstrip("/") if stores.is_remote(settings.output_dir) else Path(settings.output_dir).resolve()
    label = re.sub(r"[^A-Za-z0-9]+", "-", stores.name(output)).strip("-") or "output"
    return Path(settings.gx_dir).resolve() / f"{label}-{hashlib.sha256(str(output).encode()).hexdigest()[:8]}"


def open_project(settings: Settings) -> Project:
    """The GX project of the run's output folder, created on first use."""
    return gx_project(project_dir(settings))


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
        [(key, result)] = run.run_results.items()
        outcomes = []
        for checked in result.results:
            expectation = expectations[checked.expectation_config.id]
            if checked.exception_info.get("raised_exception"):
                raise ContractError(
                    f"{contract_path(contract, self.settings)}: {expectation.label()} cannot be checked: "
                    f"{checked.exception_info['exception_message']}"
                )
            outcomes.append(Outcome(table, expectation, bool(checked.success), checked.result))
            checked.result = shown(checked.result)  # a new dict: the outcome keeps the values as they are
        self.project.context.validation_results_store.set(key, result)  # the page is rendered from the stored result
        return TableCheck(table, rows, outcomes)


def shown(value: Any) -> Any:
    """A validation result's values as a Data Docs page may show them: every string cut at MAX_VALUE_CHARS (GX
    keeps whole values: one result file reached 5.8 MB) and HTML-escaped, since GX's pages insert some of them
    as markup (an article's <script> ran in the browser)."""
    if isinstance(value, str):
        return html.escape(value[:MAX_VALUE_CHARS])
    if isinstance(value, dict):
        return {name: shown(item) for name, item in value.items()}
    if isinstance(value, list | tuple):
        return [shown(item) for item in value]
    return value


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


def build_data_docs(batch: Batch, settings: Settings) -> Batch:
    """Render the Data Docs pages of the run's validation results and suites, and the site's index, once per run (the
    index reads every result it links: ~0.4 s a build on seeds-sized runs). The batch is returned as it is."""
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    with exclusive(project_dir(settings), f"run {batch.run_id}"):
        project = open_project(settings)
        results = [key for key in project.context.validation_results_store.list_keys() if key.run_id.run_name == batch.run_id]
        suites = sorted({key.expectation_suite_identifier.name for key in results})
        project.context.build_data_docs(resource_identifiers=[*map(ExpectationSuiteIdentifier, suites), *results])
        offline_pages(project, suites, batch.run_id)
    return batch


def offline_pages(project: Project, suites: list[str], run_id: str | None = None) -> None:
    """The index, the pages of `suites` and the validation pages of run `run_id`, just built, made to load their
    scripts and styles from the site (newsflow.quality.data_docs)."""
    site = Path(data_docs_index(project)).parent
    pages = [site / "index.html", *(site / "expectations" / f"{suite}.html" for suite in suites)]
    if run_id is not None:
        pages += [page for suite in suites for page in (site / "validations" / suite / run_id).rglob("*.html")]
    data_docs.make_offline(site, pages)


RESULT_VALUES_SHOWN = 3  # failing values per expectation in the UI's validation table


def run_results(settings: Settings, run_id: str) -> list[dict]:
    """Every expectation the run checked, as the UI's validation table shows it: table, expectation (and its columns),
    level, rows checked, rows failed and a few failing values, summed over the run's batches (read from the stored
    validation results, as the Data Docs are)."""
    results_dir = project_dir(settings) / "uncommitted" / "validations"
    rows: dict[tuple[str, str], dict] = {}
    for path in sorted(results_dir.glob(f"*/{run_id}/*/*.json")):
        stored = json.loads(path.read_text(encoding="utf-8"))
        for checked in stored["results"]:
            config, result = checked["expectation_config"], checked["result"]
            kwargs = config["kwargs"]
            columns = kwargs.get("column_list") or [kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs]
            row = rows.setdefault(
                (stored["suite_name"], config["id"]),
                {
                    "table": stored["suite_name"],
                    "expectation": f"{config['type']}({', '.join(columns)})",
                    "level": config["meta"].get("level"),
                    "rows_checked": None,
                    "rows_failed": None,
                    "failing_values": [],
                    "success": True,
                },
            )
            for count, key in (("rows_checked", "element_count"), ("rows_failed", "unexpected_count")):
                if key in result:  # a table-level expectation counts no rows
                    row[count] = (row[count] or 0) + result[key]
            row["success"] &= bool(checked["success"])
            failing = result.get("partial_unexpected_list") or []
            if not checked["success"] and "observed_value" in result:  # what a table-level expectation found instead
                failing = [result["observed_value"]]
            # stored as shown() left them for the pages (cut, HTML-escaped); the UI's table shows text as it is
            row["failing_values"] = (row["failing_values"] + [html.unescape(str(value)) for value in failing])[:RESULT_VALUES_SHOWN]
    return [{**row, "failing_values": " | ".join(row["failing_values"])} for row in rows.values()]


def data_docs_index(project: Project) -> str:
    """Where the Data Docs index is (built once per run: build_data_docs)."""
    [site] = project.context.get_docs_sites_urls(only_if_exists=False)
    return str(Path(unquote(urlparse(site["site_url"]).path)))


def prune_validation_results(settings: Settings, run_ids: set[str], dry_run: bool = True) -> list[str]:
    """The files of the validation results of `run_ids` and of their Data Docs pages, deleted unless `dry_run`;
    the index is then rebuilt without them."""
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    with exclusive(project_dir(settings), "newsflow datasets vacuum"):
        project = open_project(settings)
        results = Path(project.context.validation_results_store.store_backend.full_base_directory)
        stores = (results, Path(data_docs_index(project)).parent / "validations")
        # both stores keep a result under <suite>/<run name>/
        folders = [folder for store in stores for folder in store.glob("*/*") if folder.name in run_ids and folder.is_dir()]
        files = sorted(str(path) for folder in folders for path in folder.rglob("*") if path.is_file())
        if folders and not dry_run:
            for folder in folders:
                shutil.rmtree(folder)
            suites = sorted(suite.name for suite in project.context.suites.all())
            # the suites' pages (cheap) and the index
            project.context.build_data_docs(resource_identifiers=[*map(ExpectationSuiteIdentifier, suites)])
            offline_pages(project, suites)
    return files
