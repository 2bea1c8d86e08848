"""The one lock newsflow takes on a folder: runs take turns with an output folder, batches with the GX project.

In a folder the lock is a file held with flock. On an object store (s3://...) it is an object created only if
there is none (a conditional put, If-None-Match), which its holder renews (If-Match its last version) while it
holds it and deletes when done; a lock object not renewed for a lease (settings.lock_lease_seconds) is a killed run's, and is taken over.
"""

import fcntl
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from newsflow.settings import Settings
from newsflow.storage.stores import Location, is_remote, join

log = logging.getLogger(__name__)

LOCK_FILE = ".newsflow.lock"
# A holder renews its lock object every lease / 4 (settings.lock_lease_seconds); the store's clock judges the age.
LEASE_SECONDS = Settings.model_fields["lock_lease_seconds"].default


class LockTimeout(RuntimeError):
    """Another process kept the folder locked for too long."""


def output_lock(output_dir: Location, holder: str, settings: Settings):
    """exclusive() on an output folder, waited for and leased as the settings say (NEWSFLOW_LOCK_WAIT_SECONDS,
    NEWSFLOW_LOCK_LEASE_SECONDS): what every run and `newsflow datasets` command that writes holds."""
    return exclusive(output_dir, holder, settings.lock_wait_seconds, "NEWSFLOW_LOCK_WAIT_SECONDS", settings.lock_lease_seconds)


@contextmanager
def exclusive(
    folder: Location, holder: str, wait_seconds: float | None = None, setting: str = "", lease_seconds: float = LEASE_SECONDS
) -> Iterator[None]:
    """Hold the folder's lock (a file in it, created with the folder; or a lock object under a store's prefix)
    while the block runs.

    Waits for another holder: without limit when wait_seconds is None, else at most that long, then raises
    LockTimeout naming the holder and `setting`, the variable that sets the wait.
    """
    lock = _ObjectLock(folder, lease_seconds) if is_remote(folder) else _FileLock(folder)
    host = f" on {socket.gethostname()}" if is_remote(folder) else ""  # a store's lock may be held from another machine
    with lock:
        deadline = None if wait_seconds is None else time.monotonic() + wait_seconds
        waited = False
        while (other := lock.acquire(f"{holder} (pid {os.getpid()}{host})")) is not None:
            if deadline is not None and time.monotonic() >= deadline:
                raise LockTimeout(
                    f"{folder} is locked by {other} for over {wait_seconds:.0f} s; wait for it to finish or raise {setting}"
                )
            if not waited:  # said once, so a waiting run is not silent
                limit = "" if wait_seconds is None else f" (at most {wait_seconds:.0f} s: {setting})"
                log.warning("waiting for %s to finish with %s%s", other, folder, limit)
                waited = True
            time.sleep(1.0 if deadline is None else min(1.0, max(0.0, deadline - time.monotonic())))
        try:
            yield
        finally:
            lock.release()


class _FileLock:
    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def __enter__(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        self.file = open(self.folder / LOCK_FILE, "a+")
        return self

    def __exit__(self, *exc):
        self.file.close()

    def acquire(self, holder: str) -> str | None:
        """None once held, else who holds it."""
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.file.seek(0)
            return self.file.read().strip() or "another process"
        self.file.seek(0)
        self.file.truncate()
        self.file.write(holder)
        self.file.flush()
        return None

    def release(self) -> None:
        self.file.truncate(0)
        fcntl.flock(self.file, fcntl.LOCK_UN)


class _ObjectLock:
    def __init__(self, prefix: str, lease_seconds: float):
        from obstore.store import from_url

        self.store, self.key, self.lease = from_url(str(prefix)), LOCK_FILE, lease_seconds
        self.uri = join(prefix, LOCK_FILE)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def acquire(self, holder: str) -> str | None:
        import obstore
        from obstore.exceptions import AlreadyExistsError, NotFoundError, PreconditionError

        try:
            self.e_tag = obstore.put(self.store, self.key, holder.encode(), mode="create")["e_tag"]
        except AlreadyExistsError:
            try:
                found = obstore.get(self.store, self.key)
                other, meta = found.bytes().to_bytes().decode(errors="replace"), found.meta
            except NotFoundError:  # released meanwhile
                return "another process"
            if (datetime.now(UTC) - meta["last_modified"]).total_seconds() < self.lease:
                return other
            try:  # not renewed: its holder was killed; only one of those who find it so replaces it
                self.e_tag = obstore.put(self.store, self.key, holder.encode(), mode={"e_tag": meta["e_tag"]})["e_tag"]
            except (PreconditionError, NotFoundError):
                return other
            log.warning("took over the lock %s, which %s stopped renewing over %.0f s ago", self.uri, other, self.lease)
        self.holder, self.stop, self.lost = holder, threading.Event(), False
        self.renewer = threading.Thread(target=self._renew, name="renew lock", daemon=True)
        self.renewer.start()
        return None

    def _renew(self) -> None:
        import obstore

        while not self.stop.wait(self.lease / 4):
            try:
                self.e_tag = obstore.put(self.store, self.key, self.holder.encode(), mode={"e_tag": self.e_tag})["e_tag"]
                self.lost = False
            except Exception as error:  # lost (taken over after a pause longer than the lease) or the store is down
                log.error("could not renew the lock %s: %s", self.uri, str(error).splitlines()[0])
                self.lost = True

    def release(self) -> None:
        import obstore

        self.stop.set()
        self.renewer.join()
        if not self.lost:  # a lock taken over is the new holder's to delete
            obstore.delete(self.store, self.key)
