"""Memory a stage frees goes back to the system, so a long run's resident memory follows what it holds.

By default it does not: glibc gives each thread its own heap (up to 8 per core; Prefect and Delta
Lake run many threads) and keeps freed blocks of up to 32 MB for reuse, and pyarrow allocates
through its own jemalloc pool, as does Polars. On 100,000 articles (NER and langdetect stubbed, in one process)
the flow's process peaked at 2.59 GB and stayed at 2.32 GB after publish, though most of it was
free; with these settings, 1.83 GB and 1.59 GB. `release_freed_memory()`, called by the command
before its libraries load, sets glibc, pyarrow and Polars to return memory when it is freed, for the importing process
(mallopt); the processes it starts (worker processes, Prefect's temporary server) inherit the
pyarrow pool, Polars' setting and the number of heaps. Values already in the environment win.
"""

import ctypes
import multiprocessing
import os
import sys

# glibc's allocator tunables, as environment variables and as mallopt() parameters.
ARENAS = ("MALLOC_ARENA_MAX", -8, 2)  # two heaps per process, whatever the number of threads
# Blocks of 128 KB and more are mapped alone (unmapped when freed), and free memory above 1 MB at a
# heap's top is returned. Not in worker processes, which free little: in one short test NER ran ~10% slower
# with them, though within this machine's run-to-run noise.
THRESHOLDS = (("MALLOC_MMAP_THRESHOLD_", -3, 128 * 1024), ("MALLOC_TRIM_THRESHOLD_", -1, 1024 * 1024))


# Polars allocates through its own jemalloc, which keeps freed pages for ~10 s by default. Returned at once, 8 MB of
# a freed 320 MB frame stays resident instead of 313; a stubbed 100,000-article run's process peaked at 1.08 GiB
# instead of 1.12 (writing the signatures table) and held 0.91 instead of 1.08 once published.
POLARS_ALLOCATOR = ("_RJEM_MALLOC_CONF", "dirty_decay_ms:0,muzzy_decay_ms:0")  # read when polars is imported


def release_freed_memory() -> None:
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")  # read when pyarrow first allocates
    os.environ.setdefault(*POLARS_ALLOCATOR)
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None) if sys.platform == "linux" else None  # glibc's
    in_worker = multiprocessing.parent_process() is not None
    for name, parameter, value in (ARENAS,) if in_worker else (ARENAS, *THRESHOLDS):
        if name in os.environ:  # glibc read it when this process started
            continue
        if name == ARENAS[0]:  # the processes this one starts inherit it
            os.environ[name] = str(value)
        if mallopt is not None:
            mallopt(parameter, value)
