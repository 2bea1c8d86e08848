"""Sources and outputs on object storage: the same runs, releases and recovery against a real S3-compatible server
(moto's server mode, started by the s3_server fixture)."""

import os
import signal
import socket
import threading
import time

import polars as pl
import pytest
from test_dask import TABLES, published
from test_versioning import RUN_AND_DIE_IN_PUBLISH, PipelineProcess
from typer.testing import CliRunner

from conftest import SEEDS, moto_server, upload

from newsflow import datasets
from newsflow.cli import app
from newsflow.storage import stores
from newsflow.storage.lock import LockTimeout, exclusive
from newsflow.storage.stores import check_object_store, filesystem


@pytest.fixture(scope="module")
def s3_source(s3_server):
    return upload(SEEDS, "s3://news/seeds")


def test_a_run_from_s3_to_s3_publishes_what_a_local_run_publishes_then_runs_incrementally(s3_source, seeds_run, tmp_path):
    from newsflow.pipeline import news_pipeline

    output = "s3://news/runs/first"
    record = news_pipeline(source=s3_source, output=output, batch_size=2)
    assert record.status == "completed" and record.counts["documents_published"] == 5
    ours, local = published(output), published(seeds_run[0])
    for table in TABLES:
        assert ours[table].equals(local[table]), table
    fs, prefix = filesystem(output)
    assert not fs.get_file_info(f"{prefix}/_staging").type.name == "Directory"  # the staged parts are gone

    # an unchanged source: nothing new; a changed file: only its document is processed again
    assert news_pipeline(source=s3_source, output=output).counts["files_unchanged"] == 5
    changed = sorted(p.name for p in SEEDS.glob("*.txt"))[0]
    with fs.open_output_stream(f"news/seeds/{changed}") as edited:
        edited.write((SEEDS / changed).read_bytes() + b"\nOne more paragraph from the wire.\n")
    third = news_pipeline(source=s3_source, output=output)
    assert (third.counts["files_changed"], third.counts["files_unchanged"], third.counts["documents_published"]) == (1, 4, 1)
    upload(SEEDS, s3_source)  # the source as the other tests expect it

    # time travel: the first release still reads as it was
    releases = datasets.releases(output)
    assert releases.height == 3
    first = datasets.load("paragraphs", release=releases["run_id"][0], output_dir=output)
    latest = datasets.load("paragraphs", output_dir=output)
    assert first.height == local["paragraphs"].height and latest.height == first.height + 1
    assert datasets.load("documents", version=0, output_dir=output).is_empty()

    result = CliRunner().invoke(app, ["datasets", "history", "documents", "--output", output])
    assert result.exit_code == 0 and result.output.count("WRITE") + result.output.count("CREATE") >= 3, result.output


def test_a_run_killed_while_publishing_on_s3_is_undone_by_the_next_run(s3_source, tmp_path, monkeypatch, caplog, prefect_server):
    output = "s3://news/runs/killed"
    monkeypatch.setenv("NEWSFLOW_LOCK_LEASE_SECONDS", "4")  # the killed run's lock object is taken over after 4 s
    code, log = PipelineProcess(tmp_path, "killed", s3_source, output, script=RUN_AND_DIE_IN_PUBLISH).wait()
    assert code == -signal.SIGKILL, log
    assert datasets.load("documents", version=1, output_dir=output).height == 5  # written, never released
    with caplog.at_level("WARNING", logger="newsflow.storage.lock"):  # the documented clean-up keeps what recovery needs
        datasets.vacuum(keep=1, dry_run=False, output_dir=output)
    assert "took over the lock s3://news/runs/killed/.newsflow.lock, which flow run" in caplog.text
    code, log = PipelineProcess(tmp_path, "next", "--source", s3_source, "--output", output).wait()
    assert code == 0, log
    assert "restored documents, paragraphs" in log
    for table in ("documents", "paragraphs"):
        notes = datasets.history(table, output)["note"].to_list()
        assert notes[-2:] == ["recover", None], table
    assert datasets.releases(output).height == 1


def test_two_runs_started_together_on_s3_end_like_two_runs_in_a_row(s3_source, tmp_path, prefect_server):
    output = "s3://news/runs/together"
    runs = [PipelineProcess(tmp_path, f"run{i}", "--source", s3_source, "--output", output) for i in (1, 2)]
    for run in runs:
        code, log = run.wait()
        assert code == 0, log
    completed = datasets.load("runs", output_dir=output).sort("started_at")
    assert completed["status"].to_list() == ["completed", "completed"]
    assert [c["documents_published"] for c in completed["counts"]] == [5, 0]  # the second saw the first's release
    first, second = completed.rows(named=True)
    assert second["started_at"] >= first["finished_at"]
    assert datasets.load("documents", output_dir=output).height == 5
    assert datasets.list_tables(output).filter(pl.col("table") == "documents")["version"].to_list() == [1]


@pytest.fixture(scope="module")
def refusing_endpoint():
    """A second server that checks credentials (moto's IAM knows none, so it refuses every key)."""
    server, endpoint = moto_server(INITIAL_NO_AUTH_ACTION_COUNT="0")
    yield endpoint
    server.terminate()
    server.wait()


@pytest.mark.parametrize(
    "role, place, endpoint, message",
    [
        ("output", "s3://missing-bucket/out", None, "bucket missing-bucket does not exist"),
        ("output", "s3://news/out", "http://127.0.0.1:9", "http://127.0.0.1:9 does not answer"),
        ("output", "s3://news/out", "refusing", "the credentials were refused"),
        ("source", "s3://news/no-such-prefix", None, "there is nothing under this prefix"),
    ],
)
def test_a_store_that_cannot_be_used_stops_the_run_in_one_line_before_any_work(
    s3_server, role, place, endpoint, message, request, monkeypatch, tmp_path
):
    if endpoint:
        monkeypatch.setenv("AWS_ENDPOINT_URL", request.getfixturevalue("refusing_endpoint") if endpoint == "refusing" else endpoint)
    with pytest.raises(ValueError, match=message) as refused:
        check_object_store(place, role, must_hold_objects=role == "source")
    assert "\n" not in str(refused.value)
    other = {"source": ["--output", str(tmp_path / "out")], "output": ["--source", str(SEEDS)]}[role]
    result = CliRunner().invoke(app, ["run", f"--{role}", place, *other])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    monkeypatch.undo()
    assert not stores.exists("s3://news/out") and not (tmp_path / "out").exists()  # nothing written


def test_a_lock_object_renewed_by_its_holder_is_waited_for_and_gone_once_released(s3_server):
    prefix, released = "s3://news/locks", threading.Event()

    def hold_lock():  # a lease of 4 s, renewed every second (time enough on a busy machine): held for 6 s, it never looks abandoned
        with exclusive(prefix, "run run-1", 0, "NEWSFLOW_LOCK_WAIT_SECONDS", lease_seconds=4):
            released.wait(6)

    holder = threading.Thread(target=hold_lock)
    holder.start()
    time.sleep(0.5)
    with pytest.raises(LockTimeout, match=rf"locked by run run-1 \(pid {os.getpid()} on {socket.gethostname()}\)"):
        with exclusive(prefix, "run run-2", 5, "NEWSFLOW_LOCK_WAIT_SECONDS", lease_seconds=4):
            pass
    released.set()
    holder.join()
    with exclusive(prefix, "run run-3", 0.5, lease_seconds=0.8):
        assert stores.exists(f"{prefix}/.newsflow.lock")
    assert not stores.exists(f"{prefix}/.newsflow.lock")


def test_credentials_from_an_aws_profile_reach_every_client(s3_source, tmp_path, monkeypatch):
    (tmp_path / "credentials").write_text("[reader]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_PROFILE", "reader")
    stores._credentials_once.cache_clear()  # as in a new process
    assert stores.files_under(s3_source)  # any use of the store (`newsflow datasets` too) first exports the profile's keys
    assert (os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]) == ("testing", "testing")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.setenv("AWS_PROFILE", "missing")
    stores._credentials_once.cache_clear()
    with pytest.raises(ValueError, match=r"AWS credentials: .*\(missing\) could not be found"):
        stores.check_object_stores(s3_source, "s3://news/profile-check")


def test_a_lock_object_taken_over_is_not_deleted_by_the_holder_that_lost_it(s3_server):
    import obstore

    from newsflow.storage.lock import _ObjectLock

    lock = _ObjectLock("s3://news/lost-lock", 0.4)  # renewed every 0.1 s
    assert lock.acquire("run run-1") is None
    obstore.put(lock.store, lock.key, b"run run-2")  # another run took it over (run-1 paused beyond its lease)
    time.sleep(0.5)  # run-1's next renewal finds the lock changed
    lock.release()
    assert bytes(obstore.get(lock.store, lock.key).bytes()) == b"run run-2"
