"""Worker process pools that last a whole run.

The CPU-bound stages (language detection, the spaCy model) run in spawned worker processes,
whose start-up costs seconds: a fresh interpreter, langdetect's profiles, the model. Inside
`kept()` (the flow wraps its run in it) a pool is started by the first batch that needs it and
reused by the next ones; it is replaced by a fresh one after `RECYCLE_AFTER_USES` uses, so memory
that long-lived workers gather (spaCy's string store grows with every new word) is given back.
Outside `kept()` a pool lasts one call. (Not `max_tasks_per_child`: on Python 3.11-3.13 a pool
using it can hang when a worker is replaced, CPython issue 115634.)
"""

import multiprocessing
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager

# Calls (a stage over one batch) a kept pool serves before it is replaced: with batches of 2,000
# files and two stages per batch, every 10,000 documents.
RECYCLE_AFTER_USES = 10

_lock = threading.Lock()
_kept: dict[int, "_Kept"] | None = None  # by number of workers


class _Kept:
    def __init__(self, start: Callable[[], ProcessPoolExecutor]):
        self.start, self.executor, self.uses = start, None, 0

    def use(self) -> ProcessPoolExecutor:
        if self.executor is not None and self.uses >= RECYCLE_AFTER_USES:
            self.shutdown()
        if self.executor is None:
            self.executor, self.uses = self.start(), 0
        self.uses += 1
        return self.executor

    def shutdown(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(cancel_futures=True)
            self.executor = None


@contextmanager
def kept() -> Iterator[None]:
    """Pools asked for inside this block are kept until it ends, then shut down."""
    global _kept
    with _lock:
        outermost, _kept = _kept is None, {} if _kept is None else _kept
    try:
        yield
    finally:
        if outermost:
            with _lock:
                pools, _kept = list(_kept.values()), None
            for kept_pool in pools:
                kept_pool.shutdown()


@contextmanager
def pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """A pool of `workers` spawned processes (spawned, not forked: the flow runs stages in threads).

    The stages share it: a worker that detected languages for one batch runs the model for the
    next. What a worker loads (langdetect's profiles, the model) it keeps, in a module cache.
    """

    def start() -> ProcessPoolExecutor:
        return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))

    if _kept is None:
        with start() as executor:
            yield executor
        return
    with _lock:
        kept_pool = _kept.setdefault(workers, _Kept(start))
        executor = kept_pool.use()
    try:
        yield executor
    except BrokenProcessPool:
        with _lock:
            kept_pool.shutdown()  # the next call starts a new one
        raise
