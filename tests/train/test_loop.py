"""train/loop.py's prefetch thread: gone before its generator closes, however it stops."""
import contextlib
import threading
import time

import pytest

from structnet.train.loop import _prefetch


def _threads():
    return {t for t in threading.enumerate() if t is not threading.main_thread()}


def test_prefetch_yields_in_order_and_surfaces_errors():
    assert list(_prefetch(range(5), lambda i: i * i)) == [0, 1, 4, 9, 16]

    def bad(i):
        if i == 2:
            raise ValueError("bad item")
        return i
    with pytest.raises(ValueError, match="bad item"):
        list(_prefetch(range(5), bad))


def test_prefetch_thread_joined_when_the_consumer_stops():
    """An interrupt in the consumer (here a KeyboardInterrupt between items, while the worker
    is blocked on a full queue or mid-item) leaves no thread behind: a daemon thread frozen
    at exit inside an h5py read would hold h5py's lock and hang the exit."""
    before = _threads()

    def slow(i):
        time.sleep(0.05)
        return i
    with pytest.raises(KeyboardInterrupt):
        with contextlib.closing(_prefetch(range(100), slow)) as items:
            for i in items:
                if i == 3:
                    raise KeyboardInterrupt
    assert _threads() == before
