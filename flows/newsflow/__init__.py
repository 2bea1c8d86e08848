"""newsflow: raw news articles in, clean, validated, versioned Delta Lake datasets out."""

import os
from importlib.metadata import version

from newsflow.runtime.memory import release_freed_memory

__version__ = version("newsflow")

# No telemetry (there may be no network); newsflow's own log lines in Prefect's logs and UI, and
# no warning when stage functions log outside a flow; time for the temporary server on a busy machine.
for _name, _value in {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "GX_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_LOGGING_EXTRA_LOGGERS": "newsflow",
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
}.items():
    os.environ.setdefault(_name, _value)
release_freed_memory()  # before the libraries allocate: newsflow is imported first by its command and its flows
