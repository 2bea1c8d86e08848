"""The `newsflow` command."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from deltalake import DeltaTable
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from newsflow import progress
from newsflow.catalog import table_path
from newsflow.runs import RunRecord

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

SourceOption = Annotated[
    Path,
    typer.Option("--source", help="Folder of article files; every *.txt under it is read, recursively."),
]
OutputOption = Annotated[
    Path,
    typer.Option("--output", help="Folder for the Delta Lake tables, one sub-folder per table (created if missing)."),
]


@app.command()
def run(source: SourceOption = Path("seeds"), output: OutputOption = Path("output")) -> None:
    """Run the pipeline once over SOURCE and publish the tables into OUTPUT, then print a summary."""
    if not source.is_dir():
        console.print(f"[red]error:[/red] source folder {source} does not exist or is not a folder")
        raise typer.Exit(2)
    from newsflow.pipeline import news_pipeline  # Prefect loads in a second; keep --help instant

    with _progress_bar() as bar:
        try:
            record = news_pipeline(source=source, output=output)
        except Exception as error:  # the flow has logged the details and recorded the failed run
            console.print(f"[red]run failed:[/red] {error}")
            raise typer.Exit(1) from None
    _print_summary(record, output)


@contextmanager
def _progress_bar() -> Iterator[None]:
    """A progress bar per stage, fed by newsflow.progress while the flow runs."""
    stage_tasks: dict[str, TaskID] = {}
    with Progress(
        TextColumn("{task.description:>8}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as bar:

        def update(stage: str, done: int, total: int) -> None:
            if stage not in stage_tasks:
                stage_tasks[stage] = bar.add_task(stage, total=total)
            bar.update(stage_tasks[stage], completed=done, total=total)

        with progress.listening(update):
            yield


def _print_summary(record: RunRecord, output: Path) -> None:
    counts = Table(title=f"run {record.run_id}: {record.status}", show_header=False)
    for name, value in record.counts.items():
        counts.add_row(name.replace("_", " "), str(value))
    tables = Table("table", "version", "rows", title=f"tables in {output}")
    for table, version in record.table_versions.items():
        tables.add_row(table, str(version), str(DeltaTable(str(table_path(output, table))).count()))
    out = Console()
    out.print(counts)
    out.print(tables)
    if record.validation:
        failed = len(record.validation["failures"])
        out.print(f"validation: {record.validation['expectations_evaluated']} expectations, {failed} failed")
        out.print(f"Data Docs: {Path(record.validation['data_docs']).as_uri()}", soft_wrap=True)
