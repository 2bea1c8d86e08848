"""A run's files cut into batches: every file once, in order, in batches of even sizes."""

from datetime import UTC, datetime

import pytest

from newsflow.batch import Batch

STARTED = datetime(2026, 11, 23, tzinfo=UTC)


@pytest.mark.parametrize(("files", "size", "sizes"), [(2225, 2000, [1112, 1113]), (5, 2, [1, 2, 2]), (4, 4, [4]), (0, 3, [])])
def test_batches_hold_every_file_once_in_even_sizes(files, size, sizes):
    batches = Batch("run", STARTED, "flow-run", sources=list(range(files))).batches(size)
    assert [len(b.sources) for b in batches] == sizes
    assert [source for b in batches for source in b.sources] == list(range(files))
    assert [b.index for b in batches] == list(range(len(sizes)))
    assert all((b.run_id, b.flow_run_id) == ("run", "flow-run") for b in batches)
