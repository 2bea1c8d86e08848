"""The newsflow command as a user runs it."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from conftest import SEEDS

from newsflow import datasets
from newsflow.cli import app

NEWSFLOW = Path(sys.executable).with_name("newsflow")


def test_run_help_explains_every_option():
    result = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "--source" in result.output and "read recursively: text (*.txt), HTML pages" in result.output
    assert "--output" in result.output and "one sub-folder per table" in result.output
    assert "--full-refresh" in result.output


def test_missing_source_folder_is_refused_clearly(tmp_path):
    result = CliRunner().invoke(
        app, ["run", "--source", str(tmp_path / "nope"), "--output", str(tmp_path / "out")], env={"COLUMNS": "300"}
    )
    assert result.exit_code == 2
    assert "does not exist" in " ".join(result.output.split())  # the console wraps long paths at 80 columns
    assert not (tmp_path / "out").exists()


def bad_folders(tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    """Wrong --source and --output values a user may type, each with the start of the line the command prints."""
    (tmp_path / "empty").mkdir()
    (tmp_path / "unread").mkdir()
    (tmp_path / "unread" / "notes.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / "a-file").write_text("not a folder")
    seeds, out = ["--source", str(SEEDS)], ["--output", str(tmp_path / "out")]
    return {
        "empty source": (["--source", str(tmp_path / "empty"), *out], f"source folder {tmp_path / 'empty'} holds no article file"),
        "only unread files": (["--source", str(tmp_path / "unread"), *out], f"source folder {tmp_path / 'unread'} holds no article file"),
        "output is a file": ([*seeds, "--output", str(tmp_path / "a-file")], f"output {tmp_path / 'a-file'} is a file, not a folder"),
        "output under a file": (
            [*seeds, "--output", str(tmp_path / "a-file" / "out")],
            f"output folder {tmp_path / 'a-file' / 'out'} cannot be created or written ({tmp_path / 'a-file'} is a file)",
        ),
    }


def test_a_bad_output_or_an_unreadable_source_is_one_line_before_the_server_starts(tmp_path):
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-home"), "COLUMNS": "400"}
    for case, (args, message) in bad_folders(tmp_path).items():
        result = subprocess.run([str(NEWSFLOW), "run", *args], capture_output=True, text=True, env=env, timeout=120)
        assert result.returncode == 2, case
        assert result.stdout == "" and result.stderr.splitlines() == [result.stderr.strip()], case  # one line, no server
        assert result.stderr.startswith(f"error: {message}") and "; pass " in result.stderr, case
    assert not (tmp_path / "out").exists()


def test_run_over_the_seeds_prints_a_summary_and_no_traceback(tmp_path):
    """A user's run: the real command in its own process, with its own temporary Prefect server."""
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-home"), "COLUMNS": "120"}
    result = subprocess.run(
        [str(NEWSFLOW), "run", "--source", str(SEEDS), "--output", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "Error" not in result.stderr
    # The command starts Prefect's server before importing the flow; the flow's client uses that one.
    assert result.stderr.count("Starting temporary server") == 1
    summary = result.stdout
    assert "files seen" in summary and "documents published" in summary and "quarantined" in summary
    for table in ("documents", "paragraphs", "quarantine", "runs"):
        assert table in summary
    assert "│ documents  │ 1       │ 5    │" in summary  # version 0 is the empty table


def test_datasets_commands_describe_a_published_output(seeds_run):
    output = str(seeds_run[0])
    runner = CliRunner()
    listed = runner.invoke(app, ["datasets", "list", "--output", output], env={"COLUMNS": "200"})
    assert listed.exit_code == 0 and "│ documents  │ 1       │ 5    │" in listed.output
    history = runner.invoke(app, ["datasets", "history", "documents", "--output", output], env={"COLUMNS": "200"})
    assert history.exit_code == 0 and seeds_run[1].run_id in history.output
    version_1 = next(line for line in history.output.splitlines() if line.startswith("│ 1 "))
    assert version_1.replace(" ", "").endswith("│5│0│")  # rows added, rows removed
    diff = runner.invoke(app, ["datasets", "diff", "documents", "0", "1", "--output", output])
    assert diff.exit_code == 0 and "added (5):" in diff.output and "removed (0): -" in diff.output
    vacuum = runner.invoke(app, ["datasets", "vacuum", "--keep", "1", "--output", output])
    assert vacuum.exit_code == 0 and "dry run: nothing deleted" in vacuum.output
    assert "validation results: would delete 0 file(s)" in vacuum.output  # the one run's results are kept


def test_datasets_optimize_says_what_it_compacted_and_leaves_a_table_of_one_file_alone(seeds_run, tmp_path):
    output = tmp_path / "output"
    shutil.copytree(seeds_run[0], output)
    versions = datasets.list_tables(output).select("table", "version").rows()
    optimized = CliRunner().invoke(app, ["datasets", "optimize", "--output", str(output)])
    # the seeds' run wrote each table in one file: nothing to compact, no new version (tests/test_incremental.py compacts)
    assert optimized.exit_code == 0 and "documents: 0 file(s) compacted into 0" in optimized.output
    assert datasets.list_tables(output).select("table", "version").rows() == versions


def test_datasets_errors_say_what_to_fix_without_a_traceback(seeds_run, tmp_path):
    runner = CliRunner()
    wrong_version = runner.invoke(app, ["datasets", "diff", "documents", "0", "7", "--output", str(seeds_run[0])])
    assert wrong_version.exit_code == 2 and "table documents has versions 0 to 1, not 7" in wrong_version.output
    no_tables = runner.invoke(app, ["datasets", "list", "--output", str(tmp_path)])
    assert no_tables.exit_code == 2 and "run `newsflow run --output" in no_tables.output


def test_a_damaged_table_log_is_one_line_naming_the_table(tmp_path):
    import pyarrow as pa
    from deltalake import write_deltalake

    write_deltalake(str(tmp_path / "documents"), pa.table({"doc_id": ["a"]}))
    [log] = (tmp_path / "documents" / "_delta_log").glob("*.json")
    log.write_text(log.read_text()[:40])  # truncated, as a full disk or a killed copy leaves it
    listed = CliRunner().invoke(app, ["datasets", "list", "--output", str(tmp_path)])
    assert listed.exit_code == 2 and "table documents" in listed.output and "Traceback" not in listed.output


def test_prefect_log_lines_print_above_the_live_progress_display(monkeypatch):
    import io
    import logging

    from prefect.logging.handlers import PrefectConsoleHandler
    from rich.console import Console

    from newsflow import cli
    from newsflow.runtime import progress

    terminal, bypassed = io.StringIO(), io.StringIO()
    monkeypatch.setattr(cli, "console", Console(file=terminal, force_terminal=True, width=100))
    monkeypatch.setattr(sys, "stderr", terminal)  # what rich's live display redirects
    logger = logging.getLogger("prefect.newsflow-test")
    handler = PrefectConsoleHandler(stream=bypassed)
    logger.addHandler(handler)
    try:
        with cli._progress_bar():
            progress.report("extract", 1, 4)
            logger.warning("a line logged while the bar is live")
        logger.warning("a line logged after")
    finally:
        logger.removeHandler(handler)
    assert "a line logged while the bar is live" in terminal.getvalue()  # through the display, above its bars
    assert "a line logged while the bar is live" not in bypassed.getvalue()
    assert "a line logged after" in bypassed.getvalue()  # the handler's own stream again
