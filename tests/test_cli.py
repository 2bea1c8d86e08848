"""The newsflow command as a user runs it."""

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from conftest import SEEDS

from newsflow.cli import app

NEWSFLOW = Path(sys.executable).with_name("newsflow")


def test_run_help_explains_every_option():
    result = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "--source" in result.output and "every *.txt under it is read" in result.output
    assert "--output" in result.output and "one sub-folder per table" in result.output


def test_missing_source_folder_is_refused_clearly(tmp_path):
    result = CliRunner().invoke(
        app, ["run", "--source", str(tmp_path / "nope"), "--output", str(tmp_path / "out")], env={"COLUMNS": "200"}
    )  # wide enough that the long tmp path does not wrap the message
    assert result.exit_code == 2
    assert "does not exist" in result.output
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
    summary = result.stdout
    assert "files seen" in summary and "documents published" in summary and "quarantined" in summary
    for table in ("documents", "paragraphs", "quarantine", "runs"):
        assert table in summary
    assert "│ documents  │ 0       │ 5    │" in summary
