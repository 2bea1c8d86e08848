"""What a newsflow process sets before its libraries load, by the command's entry point (never on import).

`newsflow` (and `python -m newsflow`) call `prepare_process()` first; the flow runs of a process work
pool get the same variables from prefect.yaml's job variables; worker processes inherit them. A
library user who imports `newsflow.datasets` gets none of it.
"""

import os

from newsflow.runtime.memory import release_freed_memory

# No telemetry (there may be no network); newsflow's own log lines in Prefect's logs and UI, and
# no warning when stage functions log outside a flow; time for the temporary server on a busy machine.
COMMAND_ENVIRONMENT = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "GX_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_LOGGING_EXTRA_LOGGERS": "newsflow",
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
}


def prepare_process() -> None:
    """Set the command's environment defaults (values already set win) and return freed memory to the system."""
    for name, value in COMMAND_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    release_freed_memory()  # before the libraries allocate
