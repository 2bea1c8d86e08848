"""The processes of a run return freed memory to the system (newsflow.runtime.memory)."""

import os
import subprocess
import sys

from newsflow.runtime import memory, workers

PROBE = (
    "import os, newsflow, pyarrow as pa, polars as pl; "
    "pl.DataFrame({'x': range(10)}).to_arrow(); "  # pyarrow allocates through its default pool
    "print(pa.default_memory_pool().backend_name, os.environ['MALLOC_ARENA_MAX'])"
)


def probe(**environment: str) -> str:
    names = ("ARROW_DEFAULT_MEMORY_POOL", *(name for name, _, _ in (memory.ARENAS, *memory.THRESHOLDS)))
    env = {k: v for k, v in os.environ.items() if k not in names} | environment
    return subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True).stdout.split()


def test_importing_newsflow_sets_pyarrow_and_glibc_to_return_freed_memory():
    assert probe() == ["system", "2"]


def test_what_the_environment_already_says_is_kept():
    assert probe(ARROW_DEFAULT_MEMORY_POOL="jemalloc", MALLOC_ARENA_MAX="4") == ["jemalloc", "4"]


POLARS_FREES = (
    "import newsflow, polars as pl, psutil; mb = lambda: psutil.Process().memory_info().rss / 2**20; "
    "pl.DataFrame({'x': range(10)}).sum(); before = mb(); "
    "frame = pl.int_range(0, 20_000_000, eager=True).alias('x').to_frame().with_columns(y=pl.col('x') * 2); "  # 320 MB
    "held = mb() - before; del frame; print(round(held), round(mb() - before))"
)


def test_memory_polars_frees_goes_back_to_the_system_unless_the_environment_says_otherwise():
    env = {k: v for k, v in os.environ.items() if k != memory.POLARS_ALLOCATOR[0]}
    run = lambda extra: subprocess.run([sys.executable, "-c", POLARS_FREES], env=env | extra, capture_output=True, text=True, check=True)
    held, left = map(int, run({}).stdout.split())
    assert held > 250 and left < 50
    held, left = map(int, run({memory.POLARS_ALLOCATOR[0]: "dirty_decay_ms:10000"}).stdout.split())  # jemalloc's default
    assert left > 250


def test_worker_processes_inherit_the_pyarrow_pool_and_the_number_of_heaps():
    with workers.pool(1) as pool:
        seen = pool.submit(os.getenv, "MALLOC_ARENA_MAX").result(), pool.submit(os.getenv, "ARROW_DEFAULT_MEMORY_POOL").result()
    assert seen == ("2", "system")


def test_checking_the_model_is_installed_does_not_import_spacy_into_the_flow_process():
    code = "import sys; from newsflow.analysis.extraction.entities import installed_package; installed_package('en_core_web_sm'); print('spacy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"
