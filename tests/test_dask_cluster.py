"""A real Dask cluster: a `dask scheduler` and two `dask worker` processes, started as a user starts them; the
source and the output on the S3 server (the workers share nothing else with the flow's process). The batches
run on the workers, which read the source files and write the staged parts on S3 themselves, and the tables are
those of a default-runner run."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_dask import TABLES, published

from conftest import SEEDS, upload

DASK = Path(sys.executable).with_name("dask")


def free_port() -> int:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        return free.getsockname()[1]


@pytest.fixture
def cluster(tmp_path, s3_server):
    """tcp:// address of a scheduler with two single-threaded worker processes; the logs of the workers."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    # the workers get the runs' settings with each batch; these keep each worker to one process (as the CLI does)
    env = {**os.environ, "NEWSFLOW_LANGUAGE_WORKERS": "1", "NEWSFLOW_NER_PROCESSES": "1"}
    logs = [tmp_path / name for name in ("scheduler.log", "worker-1.log", "worker-2.log")]
    commands = [[str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"]] + [
        [str(DASK), "worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard", "--name", f"worker-{i}"]
        for i in (1, 2)
    ]
    processes = []
    try:
        for command, log in zip(commands, logs):
            with log.open("w") as out:
                processes.append(subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True))
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
        yield address, logs[1:]
    finally:
        for process in reversed(processes):
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def test_batches_run_on_the_workers_of_a_real_cluster_and_publish_what_the_default_runner_does(cluster, seeds_run, monkeypatch):
    from prefect_dask import DaskTaskRunner

    from newsflow.pipeline import news_pipeline

    address, worker_logs = cluster
    monkeypatch.setenv("NEWSFLOW_LANGUAGE_WORKERS", "1")
    monkeypatch.setenv("NEWSFLOW_NER_PROCESSES", "1")
    source, output = upload(SEEDS, "s3://news/cluster-seeds"), "s3://news/runs/cluster"
    record = news_pipeline.with_options(task_runner=DaskTaskRunner(address=address))(source=source, output=output, batch_size=2)

    assert record.status == "completed" and record.counts["documents_published"] == 5
    ours, default = published(output), published(seeds_run[0])
    for table in TABLES:
        assert ours[table].equals(default[table]), table
    time.sleep(1)  # the workers' last log lines
    ran = [log.read_text().count("process batch") for log in worker_logs]
    assert all(ran) and sum(ran) >= 3, ran  # three batches of two files, on both workers
