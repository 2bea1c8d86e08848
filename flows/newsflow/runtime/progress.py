"""Progress of long stages, told to whoever listens (the CLI's progress bar, Prefect artifacts).

Stage code wraps its main loop in `track(items, stage)`; it knows nothing of who listens.
"""

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

Listener = Callable[[str, int, int], None]  # (stage, done, total)
T = TypeVar("T")

_listeners: list[Listener] = []
_UPDATES_PER_STAGE = 100


def track(items: Sequence[T], stage: str) -> Iterator[T]:
    """Yield the items, telling listeners how many of them are done (about 100 times per stage)."""
    total = len(items)
    step = max(1, total // _UPDATES_PER_STAGE)
    for done, item in enumerate(items, start=1):
        yield item
        if done % step == 0 or done == total:
            report(stage, done, total)


def report(stage: str, done: int, total: int) -> None:
    """Tell every listener how far a stage (or the run, as "documents") has come."""
    for listener in list(_listeners):
        listener(stage, done, total)


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)
