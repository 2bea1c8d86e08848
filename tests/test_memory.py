"""The processes of a run return freed memory to the system (newsflow.runtime.memory)."""

import os
import subprocess
import sys

import yaml

from newsflow.runtime import memory, workers
from newsflow.runtime.environment import COMMAND_ENVIRONMENT
from newsflow.settings import PROJECT_ROOT

PREPARED = "from newsflow.runtime.environment import prepare_process; prepare_process(); "
PROBE = (
    "import os, pyarrow as pa, polars as pl; "
    "pl.DataFrame({'x': range(10)}).to_arrow(); "  # pyarrow allocates through its default pool
    "print(pa.default_memory_pool().backend_name, os.environ.get('MALLOC_ARENA_MAX'))"
)
MANAGED = ("ARROW_DEFAULT_MEMORY_POOL", memory.POLARS_ALLOCATOR[0], *(name for name, _, _ in (memory.ARENAS, *memory.THRESHOLDS)))


def probe(code: str, **environment: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in MANAGED and k not in COMMAND_ENVIRONMENT} | environment
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout.split()


def test_importing_newsflow_changes_nothing_global():
    code = (
        "import os, polars, prefect; before = dict(os.environ); "  # polars sets its allocator's variable itself
        "import newsflow, newsflow.datasets, newsflow.pipeline; print(dict(os.environ) == before)"
    )
    assert probe(code) == ["True"]
    assert probe("import newsflow.datasets; " + PROBE) == probe(PROBE) != ["system", "2"]  # pyarrow's own pool


def test_the_command_sets_pyarrow_and_glibc_to_return_freed_memory_before_its_libraries_load():
    assert probe(PREPARED + PROBE) == ["system", "2"]
    code = (
        "import os, sys; from newsflow.__main__ import main; sys.argv = ['newsflow', '--help']\n"
        "try: main()\nexcept SystemExit: pass\n"
        "print(os.environ['MALLOC_ARENA_MAX'], os.environ['PREFECT_LOGGING_EXTRA_LOGGERS'])"
    )
    assert probe(code)[-2:] == ["2", "newsflow"]


def test_what_the_environment_already_says_is_kept():
    assert probe(PREPARED + PROBE, ARROW_DEFAULT_MEMORY_POOL="jemalloc", MALLOC_ARENA_MAX="4") == ["jemalloc", "4"]


def test_work_pool_flow_runs_get_the_commands_environment():
    env = yaml.safe_load((PROJECT_ROOT / "prefect.yaml").read_text())["definitions"]["flow"]["work_pool"]["job_variables"]["env"]
    inherited = {"ARROW_DEFAULT_MEMORY_POOL": "system", memory.ARENAS[0]: str(memory.ARENAS[2]), memory.POLARS_ALLOCATOR[0]: memory.POLARS_ALLOCATOR[1]}
    assert env == COMMAND_ENVIRONMENT | inherited


POLARS_FREES = (
    PREPARED + "import polars as pl, psutil; mb = lambda: psutil.Process().memory_info().rss / 2**20; "
    "pl.DataFrame({'x': range(10)}).sum(); before = mb(); "
    "frame = pl.int_range(0, 20_000_000, eager=True).alias('x').to_frame().with_columns(y=pl.col('x') * 2); "  # 320 MB
    "held = mb() - before; del frame; print(round(held), round(mb() - before))"
)


def test_memory_polars_frees_goes_back_to_the_system_unless_the_environment_says_otherwise():
    held, left = map(int, probe(POLARS_FREES))
    assert held > 250 and left < 50
    held, left = map(int, probe(POLARS_FREES, **{memory.POLARS_ALLOCATOR[0]: "dirty_decay_ms:10000"}))  # jemalloc's default
    assert left > 250


def test_worker_processes_inherit_the_pyarrow_pool_and_the_number_of_heaps():
    with workers.pool(1) as pool:
        seen = pool.submit(os.getenv, "MALLOC_ARENA_MAX").result(), pool.submit(os.getenv, "ARROW_DEFAULT_MEMORY_POOL").result()
    assert seen == ("2", "system")


def test_checking_the_model_is_installed_does_not_import_spacy_into_the_flow_process():
    code = "import sys; from newsflow.analysis.extraction.entities import installed_package; installed_package('en_core_web_sm'); print('spacy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"
