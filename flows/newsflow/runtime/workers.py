"""Worker process pools that last a whole run.

The CPU-bound stages (language detection, the spaCy model) run in spawned worker processes,
whose start-up costs seconds: a fresh interpreter, langdetect's profiles, the model. Inside
`kept()` (the flow wraps its batches in it) a pool is started when the first batch begins
(`start()`: the workers load while the flow's process reads and cleans the batch) and reused by
the next batches. A worker's memory stays flat: it imports only what its work needs
(no data frames), and the model forgets the words of each chunk it reads (spaCy's memory zones).
Outside `kept()` a pool lasts one call.
"""

import multiprocessing
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager

_lock = threading.Lock()
_kept: dict[int, ProcessPoolExecutor] | None = None  # by number of workers


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
            for executor in pools:
                executor.shutdown(cancel_futures=True)


def is_kept() -> bool:
    """Inside `kept()`: pools last until it ends."""
    return _kept is not None


@contextmanager
def pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """A pool of `workers` spawned processes (spawned, not forked: the flow runs stages in threads).

    The stages share it: a worker that detected languages for one batch runs the model for the
    next. What a worker loads (langdetect's profiles, the model) it keeps, in a module cache.
    """

    def start() -> ProcessPoolExecutor:
        context = multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(workers, mp_context=context, initializer=die_with, initargs=(os.getpid(),))

    if _kept is None:
        with start() as executor:
            yield executor
        return
    with _lock:
        executor = _kept.get(workers) or _kept.setdefault(workers, start())
    try:
        yield executor
    except BrokenProcessPool:
        _forget(workers, executor)
        raise


def _forget(workers: int, executor: ProcessPoolExecutor) -> None:
    """A broken pool is shut down; the next call starts a new one."""
    with _lock:
        if _kept is not None and _kept.get(workers) is executor:
            del _kept[workers]
    executor.shutdown(cancel_futures=True)


def map_in_order(function: Callable, items: Sequence, workers: int, setting: str, chunksize: int = 1) -> Iterator:
    """`function` of each item, in order: in this process when `workers` is under 2, else in the pool of `workers`.

    In the pool every call is submitted at once, before the first result is asked for: the workers start on them while
    the caller goes on (the flow computes a batch's signatures while its NER runs). A worker that dies (memory ran out, or a script started the run without the `__main__` guard
    that spawned workers need) fails the call with what to do; `setting` is the variable that sets the number of workers.
    """
    if workers < 2:
        return map(function, items)
    chunks = [items[i : i + chunksize] for i in range(0, len(items), chunksize)]
    with pool(workers) as executor:
        futures = [executor.submit(_each, function, chunk) for chunk in chunks]
    return _results(futures, workers, executor, f"{len(items)} items, {workers} workers", setting)


def _results(futures: list[Future], workers: int, executor: ProcessPoolExecutor, what: str, setting: str) -> Iterator:
    try:
        for future in futures:
            yield from future.result()
    except BrokenProcessPool as error:
        _forget(workers, executor)
        raise RuntimeError(
            f"a worker process stopped abruptly ({what}): if you call the flow from a "
            "script, put the call under `if __name__ == \"__main__\":` (workers are spawned and import it); if memory "
            f"ran out, set {setting} lower"
        ) from error


def _each(function: Callable, chunk: Sequence) -> list:
    return [function(item) for item in chunk]


def start(workers: int, load: Callable[[], object]) -> None:
    """Inside `kept()`: start the pool of `workers` now, each worker running `load` (imports, a model),
    without waiting. The workers start while the flow's process runs the stages before the first that
    needs them (the flow's process uses one core; the others are idle). Outside `kept()`: nothing."""
    if _kept is None:
        return
    with pool(workers) as executor:
        for _ in range(workers):  # each idle worker takes one
            executor.submit(_call, load)


def die_with(parent: int) -> None:
    """A worker's first act: watch the process that started it, and exit when that one is gone.

    A run killed with SIGKILL cannot shut its pools down, and its workers (~200 MB each, with the model) lived on.
    A thread that polls the parent each second works whatever thread spawned the worker (the kernel's
    parent-death signal fires when that thread ends, and Prefect's task threads come and go).
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(1)

    threading.Thread(target=watch, name="exit with parent", daemon=True).start()


# The watcher of `stopped_with_this_process`: it waits while its parent lives and the process watched exists,
# then stops that process if it is still there.
_WATCHER = """
import os, signal, sys, time
parent, watched = int(sys.argv[1]), int(sys.argv[2])
while os.getppid() == parent and os.path.exists(f"/proc/{watched}"):
    time.sleep(1)
if os.path.exists(f"/proc/{watched}"):
    os.kill(watched, signal.SIGTERM)
"""


def stopped_with_this_process(pid: int) -> None:
    """Stop process `pid` (a child of this one) when this process ends, however it ends.

    A run killed with SIGKILL left Prefect's temporary server (~150 MB, and its port) running. A child is not
    told that its parent died, so a small watcher process, which polls its parent each second, stops it.
    """
    subprocess.Popen(
        [sys.executable, "-c", _WATCHER, str(os.getpid()), str(pid)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def _call(load: Callable[[], object]) -> None:
    load()  # what it loaded stays in the worker: it is not pickled back
