"""Versioned datasets and incremental runs: what each run changes, releases, time travel."""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest
from deltalake import DeltaTable

from conftest import SEEDS, read_table

from newsflow import datasets
from newsflow.settings import Settings
from newsflow.storage.tables import current_versions

SEED_FILES = sorted(SEEDS.glob("*.txt"))
NEWSFLOW = Path(sys.executable).with_name("newsflow")


def copy_seeds(folder, files=SEED_FILES):
    folder.mkdir(exist_ok=True)
    for path in files:
        shutil.copy(path, folder / path.name)


def test_incremental_runs_add_change_delete_and_skip(tmp_path, prefect_server):
    from newsflow.pipeline import news_pipeline

    source, output = tmp_path / "source", tmp_path / "out"
    copy_seeds(source, SEED_FILES[:3])
    first = news_pipeline(source=source, output=output)
    assert read_table(output, "documents").height == 3

    copy_seeds(source)  # all five: two are new
    second = news_pipeline(source=source, output=output)
    assert second.counts["files_new"] == 2 and second.counts["files_unchanged"] == 3
    assert second.counts["documents_published"] == 2
    assert read_table(output, "documents").height == 5
    assert datasets.diff("documents", first.table_versions["documents"], second.table_versions["documents"], output)["added"] == sorted(
        read_table(output, "documents").filter(pl.col("run_id") == second.run_id)["doc_id"]
    )

    edited = source / SEED_FILES[1].name
    old_text = datasets.load("documents", output_dir=output).filter(pl.col("source_uri") == edited.name)["text"].item()
    edited.write_text(edited.read_text(encoding="utf-8").replace("Xi Jinping meets with Putin", "Xi Jinping meets Putin"))
    third = news_pipeline(source=source, output=output)
    assert third.counts["files_changed"] == 1 and third.counts["documents_published"] == 1
    change = datasets.diff("documents", second.table_versions["documents"], third.table_versions["documents"], output)
    assert change["added"] == change["removed"] == [] and len(change["changed"]) == 1
    now = datasets.load("documents", output_dir=output).filter(pl.col("source_uri") == edited.name)["text"].item()
    assert "Xi Jinping meets Putin" in now and "Xi Jinping meets Putin" not in old_text
    at_second = datasets.load("documents", release=second.run_id, output_dir=output)
    assert at_second.filter(pl.col("source_uri") == edited.name)["text"].item() == old_text
    assert datasets.load("paragraphs", output_dir=output).filter(pl.col("text") == "To strengthen their alliance against the West, Xi Jinping meets Putin in Moscow").height == 1

    (source / SEED_FILES[4].name).unlink()
    fourth = news_pipeline(source=source, output=output)
    assert fourth.counts["files_removed"] == 1
    documents = read_table(output, "documents")
    assert documents.height == 5
    assert documents.filter(pl.col("is_deleted"))["source_uri"].to_list() == [SEED_FILES[4].name]
    assert SEED_FILES[4].name not in datasets.load("documents", output_dir=output)["source_uri"].to_list()
    assert datasets.load("documents", output_dir=output).height == 4
    assert datasets.load("documents", output_dir=output, include_deleted=True).height == 5
    assert datasets.snapshot("documents", output_dir=output)["documents"].height == 4

    before = current_versions(output)
    fifth = news_pipeline(source=source, output=output)
    after = current_versions(output)
    assert fifth.counts["tables_changed"] == 0 and fifth.counts["files_unchanged"] == 4
    assert {t: v for t, v in after.items() if v != before[t]} == {"runs": before["runs"] + 1}
    assert datasets.release_versions(output_dir=output) == {t: v for t, v in after.items() if t != "runs"}


def test_full_refresh_rebuilds_every_table_from_the_source(tmp_path, prefect_server):
    from newsflow.pipeline import news_pipeline

    source, output = tmp_path / "source", tmp_path / "out"
    copy_seeds(source)
    news_pipeline(source=source, output=output)
    (source / SEED_FILES[0].name).unlink()
    refreshed = news_pipeline(source=source, output=output, full_refresh=True)
    assert refreshed.counts["documents_published"] == 4
    assert sorted(read_table(output, "documents")["source_uri"]) == [p.name for p in SEED_FILES[1:]]
    kept = set(read_table(output, "documents")["doc_id"])
    assert set(read_table(output, "signatures")["doc_id"]) == kept  # nothing points at the dropped document
    assert set(read_table(output, "stories")["doc_ids"].explode()) <= kept


RUN_AND_DIE_IN_PUBLISH = textwrap.dedent(
    """
    import os, signal, sys
    from newsflow.stages import publish
    real_write = publish.write_table
    def write_then_die(table, *args, **kwargs):
        version = real_write(table, *args, **kwargs)
        if table == "paragraphs":  # documents and paragraphs are written, the rest is not
            os.kill(os.getpid(), signal.SIGKILL)
        return version
    publish.write_table = write_then_die
    from newsflow.pipeline import news_pipeline
    news_pipeline(source=sys.argv[1], output=sys.argv[2])
    """
)


class PipelineProcess:
    """The pipeline in its own process group with its own Prefect home, as a user or a scheduler starts it: with the
    test's Prefect server when it has one (a deployment's run is given its server's address), else starting its own."""

    def __init__(self, tmp_path, name, *args, script=None):
        from prefect.settings import PREFECT_API_URL

        env = {**os.environ, "PREFECT_HOME": str(tmp_path / f"prefect-{name}")}
        if PREFECT_API_URL.value():  # no temporary server to start (~5-10 s a process)
            env["PREFECT_API_URL"] = PREFECT_API_URL.value()
        command = [sys.executable, "-c", script, *args] if script else [str(NEWSFLOW), "run", *args]
        self.log = tmp_path / f"{name}.log"
        with self.log.open("w") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait(self) -> tuple[int, str]:
        """Exit code and output; then ends what the process left behind (a killed run orphans its Prefect server)."""
        try:
            code = self.process.wait(timeout=300)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        return code, self.log.read_text()


def test_a_run_killed_while_publishing_is_undone_by_the_next_run(tmp_path, prefect_server):
    from newsflow.pipeline import news_pipeline

    source, output, clean_output = tmp_path / "source", tmp_path / "out", tmp_path / "clean"
    copy_seeds(source)
    code, log = PipelineProcess(tmp_path, "killed", str(source), str(output), script=RUN_AND_DIE_IN_PUBLISH).wait()
    assert code == -signal.SIGKILL, log
    for table in ("documents", "paragraphs", "quarantine"):  # every table reads at a committed version
        DeltaTable(str(output / table)).to_pyarrow_table()
    assert read_table(output, "documents").height == 5 and read_table(output, "runs").height == 0

    # the documented clean-up, right after the crash, keeps what the recovery needs
    datasets.vacuum(keep=1, dry_run=False, output_dir=output)
    news_pipeline(source=source, output=output)
    for table in ("documents", "paragraphs"):  # undone by a restore commit, then written again
        notes = datasets.history(table, output).filter(~pl.col("operation").str.starts_with("VACUUM"))["note"]
        assert notes.to_list()[-2:] == ["recover", None]
    news_pipeline(source=source, output=clean_output)
    for table in ("documents", "paragraphs", "quarantine"):
        ours = datasets.load(table, output_dir=output).drop("run_id", "ingested_at", strict=False)
        clean = datasets.load(table, output_dir=clean_output).drop("run_id", "ingested_at", strict=False)
        assert ours.sort(ours.columns[:2]).equals(clean.sort(clean.columns[:2])), table


def test_two_runs_started_together_end_like_two_runs_in_a_row(tmp_path, prefect_server):
    source, output = tmp_path / "source", tmp_path / "out"
    copy_seeds(source)
    runs = [PipelineProcess(tmp_path, f"run{i}", "--source", str(source), "--output", str(output)) for i in (1, 2)]
    for run in runs:
        code, log = run.wait()
        assert code == 0, log
    completed = read_table(output, "runs").sort("started_at")
    assert completed["status"].to_list() == ["completed", "completed"]
    assert [c["documents_published"] for c in completed["counts"]] == [5, 0]  # the second saw the first's release
    first, second = completed.rows(named=True)
    assert second["started_at"] >= first["finished_at"]  # a run starts once the one it waited for has published
    assert datasets.releases(output)["run_id"].to_list() == completed["run_id"].to_list()
    assert read_table(output, "documents").height == 5
    assert current_versions(output)["documents"] == 1


@pytest.fixture
def two_releases(tmp_path, prefect_server):
    from newsflow.pipeline import news_pipeline

    source, output = tmp_path / "source", tmp_path / "out"
    copy_seeds(source, SEED_FILES[:2])
    first = news_pipeline(source=source, output=output)
    copy_seeds(source)
    with (source / SEED_FILES[0].name).open("a") as edited:  # a changed file: its rows are rewritten
        edited.write("\nOne more paragraph from the wire.\n")
    second = news_pipeline(source=source, output=output)
    return output, first, second


def test_load_reads_a_release_or_a_version(two_releases):
    output, first, second = two_releases
    assert datasets.load("documents", output_dir=output).height == 5
    assert datasets.load("documents", release=first.run_id, output_dir=output).height == 2
    assert datasets.load("paragraphs", release=first.run_id, output_dir=output)["doc_id"].n_unique() == 2
    assert datasets.load("documents", version=0, output_dir=output).height == 0
    with pytest.raises(KeyError, match="no completed run 'nope'"):
        datasets.load("documents", release="nope", output_dir=output)


def test_a_snapshot_reads_every_table_at_one_release_while_a_run_publishes(two_releases, monkeypatch):
    from newsflow.pipeline import news_pipeline

    output, first, second = two_releases
    source = output.parent / "source"
    (source / SEED_FILES[0].name).unlink()
    load, published = datasets.load, []

    def load_while_a_run_publishes(table, **kwargs):
        if not published:  # a third run publishes after the snapshot chose its release, before it read a table
            published.append(news_pipeline(source=source, output=output))
        return load(table, **kwargs)

    monkeypatch.setattr(datasets, "load", load_while_a_run_publishes)
    tables = datasets.snapshot("documents", "paragraphs", output_dir=output)
    assert published[0].counts["files_removed"] == 1
    assert tables["documents"].height == 5 and not tables["documents"]["is_deleted"].any()
    assert set(tables["paragraphs"]["doc_id"]) == set(tables["documents"]["doc_id"])
    assert datasets.snapshot("documents", release=first.run_id, output_dir=output)["documents"].height == 2


def test_list_history_and_vacuum(two_releases):
    output, first, second = two_releases
    tables = datasets.list_tables(output)
    documents = tables.filter(pl.col("table") == "documents").row(0, named=True)
    assert documents["version"] == 2 and documents["rows"] == 5 and documents["last_run"] == second.run_id
    history = datasets.history("documents", output)
    assert history["version"].to_list() == [0, 1, 2]
    assert history["run_id"].to_list()[1:] == [first.run_id, second.run_id]
    # the second run rewrote the table: the 1 unchanged document kept, the changed one and 3 new ones written
    assert history["rows_added"].to_list() == [0, 2, 5] and history["rows_removed"].to_list() == [0, 0, 2]
    dry = datasets.vacuum(keep=1, dry_run=True, output_dir=output)
    assert dry["documents"] and datasets.load("documents", version=1, output_dir=output).height == 2  # nothing deleted yet
    results = [Path(name) for name in dry["validation results"]]  # the first run's, which no kept release needs
    assert {path.suffix for path in results} == {".json", ".html"} and all(path.exists() for path in results)
    assert all(first.run_id in path.parts and second.run_id not in path.parts for path in results)
    index = Settings().gx_dir / json.loads(datasets.load("runs", output_dir=output)["validation"][0])["data_docs"]
    assert first.run_id in index.read_text()
    assert datasets.vacuum(keep=1, dry_run=False, output_dir=output)["documents"] == dry["documents"]
    assert not any(path.exists() for path in results)
    assert first.run_id not in index.read_text() and second.run_id in index.read_text()  # the index rebuilt without them
    assert datasets.load("documents", output_dir=output).height == 5
    with pytest.raises(Exception):
        datasets.load("documents", version=1, output_dir=output)
    # a vacuum's own commits are not versions it counts: run again, it deletes nothing
    assert datasets.vacuum(keep=1, dry_run=False, output_dir=output) == dict.fromkeys([*datasets.TABLES, "validation results"], [])
    assert datasets.load("documents", release=second.run_id, output_dir=output).height == 5


def test_vacuum_keeps_the_releases_it_promised_however_often_it_runs(two_releases):
    output, first, second = two_releases
    for _ in range(2):
        datasets.vacuum(keep=2, dry_run=False, output_dir=output)
    for run, documents in ((first, 2), (second, 5)):
        assert datasets.load("documents", release=run.run_id, output_dir=output).height == documents
        assert datasets.load("paragraphs", release=run.run_id, output_dir=output)["doc_id"].n_unique() == documents
    from newsflow.pipeline import news_pipeline

    news_pipeline(source=output.parent / "source", output=output)  # the vacuum's commits are not an interrupted run
    assert "recover" not in datasets.history("documents", output)["note"].to_list()
