"""data/feed.py: batches in order, made ahead in a thread or in worker processes; errors and
dead workers surfaced; nothing left behind (threads, processes, shared memory)."""
import os
import signal
import threading
import time

import numpy as np
import pytest

from structnet.data.feed import Feed, FeedError, default_workers, layout, resolve_workers
from structnet.errors import UserError


class Squares:
    """A picklable maker: batch i holds i * arange and i ** 2 (module level: spawn imports it)."""

    def __init__(self, fail_at=None, die_at=None, sleep=0.0):
        self.fail_at, self.die_at, self.sleep = fail_at, die_at, sleep
        self.opened = False

    def spec(self):
        return {"a": ((3, 5), "float32"), "b": ((7,), "int64")}

    def open(self):
        self.opened = True

    def close(self):
        pass

    def make(self, item, out):
        assert self.opened
        if item == self.fail_at:
            raise UserError(f"bad item {item}")
        if item == self.die_at:
            os._exit(3)
        time.sleep(self.sleep)
        out["a"][...] = item * np.arange(15, dtype=np.float32).reshape(3, 5)
        out["b"][...] = item
        return {"square": item * item, "pid": os.getpid()}


def _threads():
    return {t for t in threading.enumerate() if t is not threading.main_thread() and t.name == "structnet-feed"}


def _shm():
    return set(os.listdir("/dev/shm")) if os.path.isdir("/dev/shm") else set()


def test_layout_aligns_every_array():
    lay, size = layout({"a": ((3,), "uint8"), "b": ((2, 2), "float32"), "c": ((5,), "int64")})
    assert [lay[k][0] % 64 for k in "abc"] == [0, 0, 0] and size == lay["c"][0] + 40


@pytest.mark.parametrize("workers", [0, 1, 2])
def test_batches_in_order_the_same_for_every_worker_count(workers):
    before = _shm()
    got = []
    feed = Feed(Squares(), range(9), workers, ahead=3)
    for item, batch in feed:
        np.testing.assert_array_equal(batch["a"], item * np.arange(15, dtype=np.float32).reshape(3, 5))
        assert (batch["b"] == item).all() and batch["square"] == item * item
        got.append((item, batch["pid"]))
        assert feed.wait_s >= 0
    assert [i for i, _ in got] == list(range(9))
    pids = {p for _, p in got}
    assert (pids == {os.getpid()}) if workers == 0 else (len(pids) == workers and os.getpid() not in pids)
    assert not _threads() and _shm() == before


@pytest.mark.parametrize("workers", [0, 1])
def test_a_makers_error_reaches_the_consumer(workers):
    with pytest.raises(UserError, match="bad item 4"):
        for _ in Feed(Squares(fail_at=4), range(9), workers):
            pass
    assert not _threads()


def test_a_dead_worker_is_named():
    with pytest.raises(FeedError, match=r"feed worker structnet-feed-0 .* died, exit code 3"):
        for _ in Feed(Squares(die_at=2), range(9), 1):
            pass


@pytest.mark.parametrize("workers", [0, 2])
def test_the_consumer_stopping_leaves_nothing_behind(workers):
    """Ctrl-C in the consumer (a KeyboardInterrupt between batches, workers mid-batch): no
    thread, no process, no shared memory left."""
    before, procs = _shm(), []
    feed = Feed(Squares(sleep=0.05), range(100), workers)
    with pytest.raises(KeyboardInterrupt):
        for item, _ in feed:
            procs = list(feed._procs)
            if item == 3:
                raise KeyboardInterrupt
    assert not _threads() and _shm() == before
    assert all(not p.is_alive() for p in procs)


def test_workers_ignore_ctrl_c():
    """A SIGINT to a worker (the terminal sends it to the whole process group) is the parent's
    to handle: the worker goes on making its batches."""
    feed = Feed(Squares(sleep=0.02), range(30), 1)
    n = 0
    for item, _ in feed:
        if item == 2:
            os.kill(feed._procs[0].pid, signal.SIGINT)
        n += 1
    assert n == 30


def test_worker_counts(monkeypatch, capsys):
    assert default_workers(2) == 1 and default_workers(16) == 4 and default_workers(64) == 4
    monkeypatch.delenv("STRUCTNET_FEED_WORKERS", raising=False)
    assert resolve_workers(None) == default_workers() and resolve_workers(0) == 0
    for bad in (-1, "abc", "2.5"):
        with pytest.raises(UserError, match="--feed-workers"):
            resolve_workers(bad)
    cpus = os.cpu_count() or 1
    assert resolve_workers(100000) == cpus and f"capped at this machine's {cpus} cores" in capsys.readouterr().err
    monkeypatch.setenv("STRUCTNET_FEED_WORKERS", "lots")
    with pytest.raises(UserError, match=r"\$STRUCTNET_FEED_WORKERS"):
        resolve_workers(None)
    monkeypatch.setenv("STRUCTNET_FEED_WORKERS", "0")
    assert resolve_workers(None) == 0
