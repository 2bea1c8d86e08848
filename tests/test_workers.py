"""Worker pools kept for a run: one start-up for every batch, replaced now and then, stopped at the end."""

import os

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


def test_a_kept_pool_is_replaced_after_its_uses(monkeypatch):
    monkeypatch.setattr(workers, "RECYCLE_AFTER_USES", 2)
    with workers.kept():
        used = []
        for _ in range(3):
            with workers.pool(1) as executor:
                used.append(executor)
    assert used[0] is used[1] and used[2] is not used[0]
    with pytest.raises(RuntimeError, match="shutdown"):
        used[0].submit(os.getpid)


def test_without_a_run_each_call_has_its_own_pool():
    with workers.pool(1) as first:
        assert first.submit(os.getpid).result() != os.getpid()
    with workers.pool(1) as second:
        assert second is not first
    with pytest.raises(RuntimeError, match="shutdown"):
        first.submit(os.getpid)
