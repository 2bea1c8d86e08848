"""Worker pools kept for a run: one start-up for every batch, replaced when broken, stopped at the end."""

import os
import subprocess
import sys
from concurrent.futures.process import BrokenProcessPool

import pytest

from newsflow import workers


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


def test_worker_processes_import_no_data_frame_library():
    """A spawned worker imports the script that started the run, then what its work needs: none of these."""
    code = (
        "import sys, newsflow.__main__, newsflow.extraction, newsflow.language_detector; "
        "print(sorted({'polars', 'pyarrow', 'pandas', 'deltalake', 'prefect', 'typer'} & set(sys.modules)))"
    )
    imported = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert imported.strip() == "[]"
