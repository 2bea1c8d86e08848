"""Worker pools kept for a run: one start-up for every batch, replaced when broken, stopped at the end."""

import os
import signal
import subprocess
import sys
import time
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from pathlib import Path

import pytest

from newsflow.runtime import workers


def test_a_kept_pool_serves_every_call_and_is_shut_down_at_the_end():
    with workers.kept():
        with workers.pool(2) as first:
            worker_pid = first.submit(os.getpid).result()
        with workers.pool(2) as second:
            assert second is first and worker_pid != os.getpid()
            assert second.submit(os.getpid).result() in {p.pid for p in first._processes.values()}
        with workers.pool(1) as other_size:
            assert other_size is not first
    with pytest.raises(RuntimeError, match="shutdown"):
        first.submit(os.getpid)


def test_a_broken_kept_pool_is_replaced_by_the_next_call():
    with workers.kept():
        with pytest.raises(BrokenProcessPool):
            with workers.pool(1) as broken:
                broken.submit(os._exit, 1).result()
        with workers.pool(1) as replacement:
            assert replacement is not broken and replacement.submit(os.getpid).result() != os.getpid()


def test_without_a_run_each_call_has_its_own_pool():
    with workers.pool(1) as first:
        assert first.submit(os.getpid).result() != os.getpid()
    with workers.pool(1) as second:
        assert second is not first
    with pytest.raises(RuntimeError, match="shutdown"):
        first.submit(os.getpid)


def _note_pid(folder):
    (folder / str(os.getpid())).touch()


def test_started_workers_are_spawned_at_once_and_load_before_the_work_asked_of_them(tmp_path):
    with workers.kept():
        workers.start(2, partial(_note_pid, tmp_path))
        with workers.pool(2) as started:
            pids = {str(p.pid) for p in started._processes.values()}
            assert len(pids) == 2  # spawned by start(), before any work was asked for
            started.submit(os.getpid).result()  # queued after the two loads: at least one has finished
        loaded = {p.name for p in tmp_path.iterdir()}
        assert loaded and loaded <= pids


def test_what_started_workers_load_stays_in_them():
    """Loading the model in the workers brings nothing back: the flow's process never imports spaCy."""
    code = (
        "import os, sys\n"
        "from functools import partial\n"
        "from newsflow.runtime import workers\n"
        "from newsflow.analysis.extraction.entities import load_model\n"
        "if __name__ == '__main__':\n"
        "    with workers.kept():\n"
        "        workers.start(2, partial(load_model, 'en_core_web_sm'))\n"
        "        with workers.pool(2) as started:\n"
        "            started.submit(os.getpid).result()  # queued after the two loads: at least one has finished\n"
        "    print('spacy' in sys.modules)\n"
    )
    imported = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert imported.strip() == "False"


def test_outside_a_run_start_starts_nothing(monkeypatch):
    monkeypatch.setattr(workers, "pool", lambda n: pytest.fail("a pool was started outside kept()"))
    workers.start(2, os.getpid)


def test_worker_processes_import_no_data_frame_library():
    """A spawned worker imports the script that started the run, then what its work needs: none of these."""
    code = (
        "import sys, newsflow.__main__, newsflow.analysis.extraction, newsflow.analysis.language; "
        "print(sorted({'polars', 'pyarrow', 'pandas', 'deltalake', 'prefect', 'typer'} & set(sys.modules)))"
    )
    imported = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert imported.strip() == "[]"


def test_mapping_in_order_runs_in_this_process_below_two_workers_and_in_the_pool_from_two():
    assert list(workers.map_in_order(abs, [-3, 2, -1], 1, "NEWSFLOW_X")) == [3, 2, 1]
    pids = set(workers.map_in_order(_pid_of, range(6), 2, "NEWSFLOW_X"))
    assert os.getpid() not in pids and 1 <= len(pids) <= 2


def test_mapping_submits_every_call_at_once_before_a_result_is_asked_for(tmp_path):
    marks = [tmp_path / f"call-{i}" for i in range(3)]
    with workers.kept():
        results = workers.map_in_order(Path.touch, marks, 2, "NEWSFLOW_X")
        for _ in range(300):  # the workers run the calls while this process goes on (it has not read a result)
            if all(mark.exists() for mark in marks):
                break
            time.sleep(0.1)
        assert all(mark.exists() for mark in marks)
        assert list(results) == [None, None, None]


def test_a_worker_that_dies_while_mapping_fails_with_what_to_do():
    with pytest.raises(RuntimeError, match=r"2 items, 2 workers.*__main__.*set NEWSFLOW_NER_PROCESSES lower"):
        list(workers.map_in_order(os._exit, [1, 1], 2, "NEWSFLOW_NER_PROCESSES"))


def _pid_of(_item) -> int:
    return os.getpid()



# A run that keeps a pool of two workers, writes their pids, and waits to be killed. The workers' function
# lives in a module of its own: spawned workers import it.
KEPT_POOL_THEN_WAIT = """
import sys, time
from newsflow.runtime import workers
from worker_pid import pid

if __name__ == "__main__":
    with workers.kept(), workers.pool(2) as executor:
        open(sys.argv[1], "w").write(" ".join(map(str, sorted(set(executor.map(pid, range(8)))))))
        time.sleep(600)
"""
WORKER_PID = "import os, time\n\ndef pid(_):\n    time.sleep(0.05)\n    return os.getpid()\n"


def test_workers_exit_when_the_run_that_started_them_is_killed(tmp_path):
    (tmp_path / "run.py").write_text(KEPT_POOL_THEN_WAIT)
    (tmp_path / "worker_pid.py").write_text(WORKER_PID)
    pids_file = tmp_path / "pids"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.Popen([sys.executable, str(tmp_path / "run.py"), str(pids_file)], env=env)
    deadline = time.monotonic() + 60
    while not (pids_file.exists() and pids_file.read_text()):
        assert time.monotonic() < deadline and run.poll() is None
        time.sleep(0.2)
    pids = [int(pid) for pid in pids_file.read_text().split()]
    assert len(pids) == 2
    run.send_signal(signal.SIGKILL)  # nothing of the run's own shut-down runs
    run.wait()
    time.sleep(3)  # the workers look at their parent each second
    assert [pid for pid in pids if Path(f"/proc/{pid}").exists()] == []


# A run that starts Prefect's temporary server as `newsflow run` does, writes the server's pid, and waits to be killed.
SERVER_THEN_WAIT = """
import sys, time
from prefect.server.api.server import SubprocessASGIServer
from newsflow import cli

if __name__ == "__main__":
    cli._load_pipeline()
    open(sys.argv[1], "w").write(str(SubprocessASGIServer().server_process.pid))
    time.sleep(600)
"""


def test_the_temporary_server_stops_when_the_run_that_started_it_is_killed(tmp_path):
    (tmp_path / "run.py").write_text(SERVER_THEN_WAIT)
    pid_file = tmp_path / "pid"
    env = {key: value for key, value in os.environ.items() if key != "PREFECT_API_URL"}
    run = subprocess.Popen([sys.executable, str(tmp_path / "run.py"), str(pid_file)], env={**env, "PREFECT_HOME": str(tmp_path / "prefect")})
    deadline = time.monotonic() + 120
    while not (pid_file.exists() and pid_file.read_text()):
        assert time.monotonic() < deadline and run.poll() is None
        time.sleep(0.2)
    pid = int(pid_file.read_text())
    run.send_signal(signal.SIGKILL)
    run.wait()
    time.sleep(3)  # the watcher looks at its parent each second; the server then shuts down
    alive = Path(f"/proc/{pid}").exists()
    if alive:
        os.kill(pid, signal.SIGTERM)
    assert not alive


def test_a_run_stops_at_once_when_its_temporary_server_dies(tmp_path):
    (tmp_path / "run.py").write_text(SERVER_THEN_WAIT)
    pid_file = tmp_path / "pid"
    env = {key: value for key, value in os.environ.items() if key != "PREFECT_API_URL"}
    run = subprocess.Popen(
        [sys.executable, str(tmp_path / "run.py"), str(pid_file)],
        env={**env, "PREFECT_HOME": str(tmp_path / "prefect"), "COLUMNS": "300"}, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 120
    while not (pid_file.exists() and pid_file.read_text()):
        assert time.monotonic() < deadline and run.poll() is None
        time.sleep(0.2)
    os.kill(int(pid_file.read_text()), signal.SIGKILL)
    try:
        code = run.wait(timeout=10)  # Prefect's client retried for ~300 s
    finally:
        run.kill()
    assert code == 1
    assert "run stopped: Prefect's temporary server exited (code -9)" in run.stderr.read()
