"""The `newsflow` command."""

import contextlib
import functools
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from deltalake import DeltaTable
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from newsflow import counters, datasets, parameters
from newsflow.contracts import TABLES
from newsflow.runs import RunRecord
from newsflow.runtime import progress, workers
from newsflow.settings import Settings
from newsflow.storage.stores import check_object_stores, is_remote
from newsflow.storage.tables import table_path

app = typer.Typer(
    name="newsflow",
    help="Turn raw news articles into clean, validated, versioned Delta Lake datasets.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(stderr=True)


@app.callback()
def main() -> None:
    """Turn raw news articles into clean, validated, versioned Delta Lake datasets."""


# Strings, not Paths: a Path folds s3://bucket into s3:/bucket (Settings turns a folder's name into a Path).
SourceOption = Annotated[str | None, typer.Option("--source", help=parameters.SOURCE.description, show_default=False)]
OutputOption = Annotated[str | None, typer.Option("--output", help=parameters.OUTPUT.description, show_default=False)]
FullRefreshOption = Annotated[
    bool | None, typer.Option("--full-refresh/--incremental", help=parameters.FULL_REFRESH.description, show_default=False)
]
BatchSizeOption = Annotated[int | None, typer.Option("--batch-size", min=1, help=parameters.BATCH_SIZE.description, show_default=False)]
AllowMassDeleteOption = Annotated[
    bool | None, typer.Option("--allow-mass-delete", help=parameters.ALLOW_MASS_DELETE.description, show_default=False)
]


class TaskRunner(str, Enum):
    threads = "threads"
    dask = "dask"


@app.command()
def run(
    source: SourceOption = None,
    output: OutputOption = None,
    full_refresh: FullRefreshOption = None,
    batch_size: BatchSizeOption = None,
    allow_mass_delete: AllowMassDeleteOption = None,
    task_runner: Annotated[
        TaskRunner,
        typer.Option(
            help="threads: batches one after another in this process; dask: batches side by side on a Dask cluster."
        ),
    ] = TaskRunner.threads,
    dask_address: Annotated[
        str | None,
        typer.Option(help="Scheduler of an existing Dask cluster (tcp://host:8786); without it, a local cluster, one worker per core."),
    ] = None,
) -> None:
    """Run the pipeline once over SOURCE and publish the tables into OUTPUT, then print a summary.

    Only new and changed files are processed; removed files are marked deleted.
    """
    given = dict(source=source, output=output, full_refresh=full_refresh, batch_size=batch_size, allow_mass_delete=allow_mass_delete)
    settings = parameters.run_settings(**given)
    try:  # before the server starts: a wrong folder or store is the user's to fix, in one line
        parameters.readable_source(settings.source_dir)
        parameters.writable_output(settings.output_dir)
        check_object_stores(settings.source_dir, settings.output_dir)
    except ValueError as error:
        console.print(f"[red]error:[/red] {error}", soft_wrap=True)
        raise typer.Exit(2) from None
    dask = task_runner is TaskRunner.dask or dask_address
    with workers.kept():  # the flow's workers: started here when they can load while Prefect's server starts
        if not dask:
            _start_workers(settings)
        try:
            record = _run_flow(given, dask, dask_address)
        finally:
            _running.clear()  # however the run ends: Prefect stops its temporary server as this process exits
    _print_summary(record, settings)


def _run_flow(given: dict, dask: bool, dask_address: str | None) -> RunRecord:
    try:
        news_pipeline = _load_pipeline()
    except RuntimeError as error:  # Prefect's temporary server did not start in time
        console.print(f"[red]error:[/red] {error}", soft_wrap=True)
        raise typer.Exit(1) from None
    if dask:
        news_pipeline = news_pipeline.with_options(task_runner=dask_task_runner(dask_address))
    with _progress_bar():
        try:
            return news_pipeline(**given)
        except Exception as error:  # the flow has logged the details and recorded the failed run
            console.print(f"[red]run failed:[/red] {error}", soft_wrap=True)
            raise typer.Exit(1) from None


def _start_workers(settings: Settings) -> None:
    """When every file of a local source is new (a first run into `output`, or --full-refresh), start the worker
    processes of the first batch now: they load langdetect's profiles and the model while Prefect's server starts and
    the pipeline is imported (~10 s), instead of after. Other runs start them at their first batch, once they know what is new."""
    from newsflow.batch import batch_bounds
    from newsflow.sources.formats import find_source_files
    from newsflow.stages import extract, language
    from newsflow.storage import tables

    if is_remote(settings.source_dir) or is_remote(settings.output_dir):
        return
    if not settings.full_refresh and tables.exists(settings.output_dir, "documents"):
        return
    try:
        files = len(find_source_files(settings.source_dir).files)
    except OSError:  # the run says what is wrong with the folder
        return
    first_batch = batch_bounds(files, settings.batch_size)[1:2]  # its files (a JSONL or WARC file holds more documents)
    if first_batch:
        language.start_workers(settings, first_batch[0])
        extract.start_workers(settings, first_batch[0])


def _load_pipeline():
    """The flow, imported (Prefect takes seconds) while Prefect's temporary server starts, if the run needs one.

    Without PREFECT_API_URL, Prefect starts a temporary server at the flow's first call to its API
    and waits ~5 s for it. Started first, that wait imports the pipeline and Great Expectations
    (~4 s), which the run needs next.
    """
    from prefect.logging.configuration import ensure_logging_setup
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        from prefect.server.api.server import SubprocessASGIServer  # the server that get_client() starts

        ensure_logging_setup()  # Prefect's line with the server's address shows, as in its own start
        threading.Thread(target=_import_pipeline, name="import pipeline", daemon=True).start()
        server = SubprocessASGIServer()
        _running.set()
        threading.Thread(target=_exit_if_server_stops, args=(server,), name="watch server", daemon=True).start()
        server.start()
        workers.stopped_with_this_process(server.server_process.pid)
    from newsflow.pipeline import news_pipeline

    return news_pipeline


_running = threading.Event()  # set while a run needs the temporary server it started


def _exit_if_server_stops(server) -> None:
    """Stop the run at once when the temporary server it started dies (killed, out of memory).

    Without a server a run cannot go on, yet Prefect's client retried each call: the run ended after ~300 s
    of tracebacks. Exiting is what a kill of the run does, and is undone the same way: workers and the lock go
    with this process, and the next run restores what this one had half published.
    """
    while _running.is_set():
        process = server.server_process
        # 3: its port was taken, Prefect starts it again on another; 0 and -2: Ctrl+C reached it too, and the run
        # stops by its own KeyboardInterrupt
        if process is not None and process.poll() not in (None, 3, 0, -2) and _running.is_set():
            console.print(
                f"[red]run stopped:[/red] Prefect's temporary server exited (code {process.returncode}); the next run "
                "undoes what this one had published. Set PREFECT_API_URL to a server of your own (`make server`) to "
                "run without one.",
                soft_wrap=True,
            )
            os._exit(1)
        time.sleep(0.5)


def _import_pipeline() -> None:
    with contextlib.suppress(Exception):  # imported again where it is needed, and an error reported there
        import newsflow.pipeline  # noqa: F401  (imported while the server starts)
        from newsflow.quality import gx

        gx.import_great_expectations()


@app.command()
def serve(
    timezone: Annotated[
        str | None, typer.Option(help="Time zone of the schedules (IANA name), instead of the one in prefect.yaml.")
    ] = None,
) -> None:
    """Serve the deployments of prefect.yaml from this process, without a work pool, as daily-served and manual-served.

    Set PREFECT_API_URL to your server first (`make server` starts one at http://127.0.0.1:4200);
    then trigger a run from the UI or with `prefect deployment run 'news-pipeline/manual-served'`.
    """
    from newsflow.deployments import serve_deployments

    serve_deployments(timezone=timezone)


@app.command()
def alerts() -> None:
    """Set up the alerts of failed runs on the server PREFECT_API_URL names, through NEWSFLOW_ALERT_BLOCK or
    NEWSFLOW_ALERT_WEBHOOK_URL (`newsflow serve` does it itself; run this after `prefect deploy --all`)."""
    from newsflow.alerts import set_up_alerts

    settings = Settings()
    automation = set_up_alerts(settings)
    where = settings.alert_block or settings.alert_webhook_url
    Console().print(f"alerts of failed runs go to {where}" if automation else "no alert configured: alerts removed", soft_wrap=True)


@app.command()
def docs(
    output: OutputOption = None,
    port: Annotated[int | None, typer.Option(help="Port on 127.0.0.1 (default: NEWSFLOW_DATA_DOCS_PORT, else 8765).")] = None,
) -> None:
    """Serve the Great Expectations Data Docs of OUTPUT's runs on http://127.0.0.1:PORT/ until interrupted: the UI's
    Data Docs link opens it."""
    from newsflow.quality import data_docs, gx

    settings = parameters.run_settings(output=output, **({"data_docs_port": port} if port else {}))
    # opening a project that is not there would create an empty one
    index = gx.project_dir(settings).is_dir() and Path(gx.data_docs_index(gx.open_project(settings)))
    if not (index and index.exists()):
        console.print(f"[red]error:[/red] no Data Docs of {settings.output_dir} yet; `newsflow run` builds them", soft_wrap=True)
        raise typer.Exit(2)
    console.print(f"Data Docs of {settings.output_dir} at http://127.0.0.1:{settings.data_docs_port}/ (Ctrl+C stops)", soft_wrap=True)
    with contextlib.suppress(KeyboardInterrupt):
        data_docs.serve(index.parent, settings.data_docs_port)


def dask_task_runner(address: str | None):
    """Batches on Dask: an existing cluster, or a local one with a worker process per core.

    Dask gives the parallelism, so the stages inside a batch start no worker processes of their own
    (Dask's worker processes could not start them anyway).
    """
    from prefect_dask import DaskTaskRunner

    os.environ.update(NEWSFLOW_LANGUAGE_WORKERS="1", NEWSFLOW_NER_PROCESSES="1")
    if address:
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(cluster_kwargs={"n_workers": os.cpu_count() or 1, "threads_per_worker": 1, "processes": True})


@contextmanager
def _progress_bar() -> Iterator[None]:
    """A progress bar per stage, fed by newsflow.runtime.progress while the flow runs, counting over the run's batches."""
    stage_tasks: dict[str, TaskID] = {}
    earlier: dict[str, tuple[int, int]] = {}  # per stage: items of finished batches, and the last (done, total)
    with Progress(
        TextColumn("{task.description:>10}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as bar:

        def update(stage: str, done: int, total: int) -> None:
            base, (last_done, last_total) = earlier.get(stage, (0, (0, 0)))
            if done < last_done:  # a new batch started counting
                base += last_total
            earlier[stage] = (base, (done, total))
            if stage not in stage_tasks:
                stage_tasks[stage] = bar.add_task(stage, total=total)
            bar.update(stage_tasks[stage], completed=base + done, total=base + total)

        with progress.listening(update), _logs_above(bar):
            yield


@contextmanager
def _logs_above(bar: Progress) -> Iterator[None]:
    """Prefect's log lines printed above the live progress display, not through it: Prefect's console handlers print
    on consoles of their own, which the display cannot see; meanwhile their lines go through the display's console."""
    from prefect.logging.handlers import PrefectConsoleHandler

    loggers = [logging.getLogger(), *(logger for logger in logging.Logger.manager.loggerDict.values() if isinstance(logger, logging.Logger))]
    # a handler may serve several loggers
    handlers = list({id(h): h for logger in loggers for h in logger.handlers if isinstance(h, PrefectConsoleHandler)}.values())
    consoles = [h.console for h in handlers]
    for handler in handlers:
        handler.console = _AboveTheBars(handler.console, bar.console)
    try:
        yield
    finally:
        for handler, own in zip(handlers, consoles, strict=True):
            handler.console = own


@dataclass
class _AboveTheBars:
    """A Prefect console handler's console, rendering its lines as before (levels coloured) and printing them
    through the live display's console, which prints them above the bars."""

    styled: Console
    live: Console

    def print(self, message, **options) -> None:
        with self.styled.capture() as captured:
            self.styled.print(message, **options)
        self.live.print(Text.from_ansi(captured.get().rstrip("\n")), soft_wrap=True)


def _print_summary(record: RunRecord, settings: Settings) -> None:
    output = settings.output_dir
    counts = Table(title=f"run {record.run_id}: {record.status}", show_header=False)
    for group, group_counts in counters.grouped(record.counts).items():
        if group_counts:
            counts.add_row(f"[bold]{group}[/bold]", "", end_section=False)
        for name, value in group_counts.items():
            counts.add_row(f"  {name.replace('_', ' ')}", str(value), end_section=name == list(group_counts)[-1])
    tables = Table("table", "version", "rows", title=f"tables in {output}")
    for table, version in record.table_versions.items():
        tables.add_row(table, str(version), str(DeltaTable(str(table_path(output, table))).count()))
    out = Console()
    out.print(counts)
    out.print(tables)
    if record.validation:
        failed = len(record.validation["failures"])
        out.print(f"validation: {record.validation['expectations_evaluated']} expectations, {failed} failed")
        index = Path(settings.gx_dir).resolve() / record.validation["data_docs"]
        out.print(f"Data Docs: {index.as_uri()} (or `newsflow docs` to serve them)", soft_wrap=True)
    if record.status == "completed" and not record.counts.get("tables_changed"):
        out.print("nothing new: no table changed but runs")


datasets_app = typer.Typer(
    help="Inspect the published tables: versions, releases, history, diffs, clean-up.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(datasets_app, name="datasets")
DatasetsOutput = Annotated[str, typer.Option("--output", help="Folder (or s3://bucket/prefix) holding the tables.")]
TableArgument = Annotated[str, typer.Argument(help=f"One of: {', '.join(TABLES)}.")]


@datasets_app.callback()
def datasets_errors() -> None:
    """Inspect the published tables: versions, releases, history, diffs, clean-up."""


def _user_errors(command):
    """A wrong table name, version or folder is the user's to fix: say so in one line, no traceback."""

    @functools.wraps(command)
    def wrapped(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (FileNotFoundError, KeyError, ValueError) as error:
            console.print(f"[red]error:[/red] {error.args[0] if error.args else error}", soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapped


@datasets_app.command("list")
@_user_errors
def datasets_list(output: DatasetsOutput = "output") -> None:
    """Every table with its latest version, rows, and the run that last changed it."""
    _print_frame(datasets.list_tables(output), f"tables in {output}")


@datasets_app.command("releases")
@_user_errors
def datasets_releases(output: DatasetsOutput = "output") -> None:
    """Completed runs and the version of every table each released (pin one with datasets.load(release=...))."""
    releases = datasets.releases(output).with_columns(
        pl.col("table_versions").map_elements(lambda v: ", ".join(f"{t}={n}" for t, n in v.items()), return_dtype=pl.String)
    )
    _print_frame(releases, f"releases in {output}")


@datasets_app.command("history")
@_user_errors
def datasets_history(table: TableArgument, output: DatasetsOutput = "output") -> None:
    """One line per version of TABLE: when, which operation and run, rows added and removed."""
    _print_frame(datasets.history(table, output), f"history of {table}")


@datasets_app.command("diff")
@_user_errors
def datasets_diff(
    table: TableArgument,
    from_version: Annotated[int, typer.Argument(help="The older version.")],
    to_version: Annotated[int, typer.Argument(help="The newer version.")],
    output: DatasetsOutput = "output",
) -> None:
    """Keys (doc_id, story_id, ...) that TABLE gained, lost and changed from one version to another."""
    for change, keys in datasets.diff(table, from_version, to_version, output).items():
        Console().print(f"{change} ({len(keys)}): {', '.join(keys) or '-'}", soft_wrap=True)


@datasets_app.command("vacuum")
@_user_errors
def datasets_vacuum(
    keep: Annotated[int, typer.Option("--keep", min=1, help="How many of the latest releases stay readable.")],
    apply: Annotated[bool, typer.Option("--apply", help="Delete the files; without it, only list what would go.")] = False,
    output: DatasetsOutput = "output",
) -> None:
    """Delete data files that only releases older than the last KEEP need, and the GX validation results and Data Docs
    pages of older runs (a dry run unless --apply)."""
    files = datasets.vacuum(keep, dry_run=not apply, output_dir=output)
    verb = "deleted" if apply else "would delete"
    for table, paths in files.items():
        Console().print(f"{table}: {verb} {len(paths)} file(s)")
    if not apply:
        Console().print("dry run: nothing deleted; add --apply to delete. Older releases and versions stop being readable.")


@datasets_app.command("optimize")
@_user_errors
def datasets_optimize(output: DatasetsOutput = Path("output")) -> None:
    """Compact the small files that runs changing a few rows leave into larger ones (rows and releases unchanged)."""
    for table, (removed, added) in datasets.optimize(output).items():
        Console().print(f"{table}: {removed} file(s) compacted into {added}")


def _print_frame(frame: pl.DataFrame, title: str) -> None:
    table = Table(*frame.columns, title=title)
    for row in frame.iter_rows():
        table.add_row(*("" if value is None else str(value) for value in row))
    Console().print(table)
