"""The one lock newsflow takes on a folder: runs take turns with an output folder, batches with the GX project."""

import fcntl
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

LOCK_FILE = ".newsflow.lock"


class LockTimeout(RuntimeError):
    """Another process kept the folder locked for too long."""


@contextmanager
def exclusive(folder: Path, holder: str, wait_seconds: float | None = None, setting: str = "") -> Iterator[None]:
    """Hold the folder's lock (a file in it, created with the folder) while the block runs.

    Waits for another holder: without limit when wait_seconds is None, else at most that long, then raises
    LockTimeout naming the holder and `setting`, the variable that sets the wait.
    """
    Path(folder).mkdir(parents=True, exist_ok=True)
    with open(Path(folder) / LOCK_FILE, "a+") as lock:
        deadline = None if wait_seconds is None else time.monotonic() + wait_seconds
        waited = False
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                lock.seek(0)
                other = lock.read().strip() or "another process"
                if deadline is not None and time.monotonic() >= deadline:
                    raise LockTimeout(
                        f"{folder} is locked by {other} for over {wait_seconds:.0f} s; wait for it to finish or raise {setting}"
                    ) from None
                if not waited:  # said once, so a waiting run is not silent
                    limit = "" if wait_seconds is None else f" (at most {wait_seconds:.0f} s: {setting})"
                    log.warning("waiting for %s to finish with %s%s", other, folder, limit)
                    waited = True
                time.sleep(1.0 if deadline is None else min(1.0, max(0.0, deadline - time.monotonic())))
        lock.seek(0)
        lock.truncate()
        lock.write(f"{holder} (pid {os.getpid()})")
        lock.flush()
        try:
            yield
        finally:
            lock.truncate(0)
            fcntl.flock(lock, fcntl.LOCK_UN)
