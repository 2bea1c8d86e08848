"""A run's files cut into batches: every file once, in order, in batches of even sizes."""

import pickle
from datetime import UTC, datetime

import pytest

from newsflow.batch import Batch, Source, Sources
from newsflow.sources.files import doc_id_for

STARTED = datetime(2026, 11, 23, tzinfo=UTC)


@pytest.mark.parametrize(("files", "size", "sizes"), [(2225, 2000, [1112, 1113]), (5, 2, [1, 2, 2]), (4, 4, [4]), (0, 3, [])])
def test_batches_hold_every_file_once_in_even_sizes(files, size, sizes):
    batches = Batch("run", STARTED, "flow-run", sources=list(range(files))).batches(size)
    assert [len(b.sources) for b in batches] == sizes
    assert [source for b in batches for source in b.sources] == list(range(files))
    assert [b.index for b in batches] == list(range(len(sizes)))
    assert all((b.run_id, b.flow_run_id) == ("run", "flow-run") for b in batches)


def test_a_runs_files_are_held_as_columns_and_read_back_as_sources_batch_by_batch():
    files = [Source(f"/articles/{i:03d}.txt", f"{i:03d}.txt", doc_id_for(f"{i:03d}.txt")) for i in range(5)]
    sources = Sources.of(files)
    batches = Batch("run", STARTED, sources=sources).batches(2)
    assert [list(b.sources) for b in batches] == [files[0:1], files[1:3], files[3:5]]
    assert sources[3] == files[3] and len(sources) == 5 and not Sources.of([])
    assert pickle.loads(pickle.dumps(batches[2])).sources == batches[2].sources  # as Dask sends a batch to a worker
