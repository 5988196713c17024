"""Batches ready before the step asks: a batch maker run ahead of its consumer, in worker
processes (or one thread), the batches delivered in order.

``Feed(maker, items, workers)`` iterates over ``(item, batch)``: ``batch`` a dict of the
arrays of ``maker.spec()`` that ``maker.make(item, batch)`` filled, plus what ``make``
returned. ``workers`` = 0: one thread of this process makes them (h5py's lock and the GIL
shared with the step); N >= 1: N processes (started with "spawn": a fresh interpreter that
imports NumPy, h5py and the maker's module, never PyTensor), batch i made by worker
i mod N into shared-memory slot i mod S, S = ``ahead`` + 1 slots. A batch's arrays are
valid until the next one is asked for; its slot is then given to the batch ``ahead``
further on. Which worker makes a batch does not change it (its randomness is its seed's:
``structnet.train.batches``), so every worker count gives the same batches.

``wait_s``: how long the last ``next()`` waited for its batch (the step starved).

Workers ignore Ctrl-C (the parent stops them) and die with their parent, even one killed
-9 (``structnet.interrupt.worker_init``); a worker that dies or fails is an error in the
consumer, naming the worker and its exit code or the worker's own error. The shared
memory is released on every exit path (on a kill -9 by multiprocessing's resource
tracker).
"""
import os
import queue
import shutil
import threading
import time

import numpy as np

#: bytes between two arrays of a slot (cache lines, vector loads)
ALIGN = 64


def layout(spec):
    """{name: (offset, shape, dtype)} of a slot holding ``spec``'s arrays, and its size in bytes."""
    out, off = {}, 0
    for name, (shape, dtype) in spec.items():
        off = -(-off // ALIGN) * ALIGN
        out[name] = (off, tuple(int(s) for s in shape), np.dtype(dtype).str)
        off += int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
    return out, max(off, 1)


def views(buf, lay):
    """name -> ndarray view of ``buf`` (a slot) for a ``layout``."""
    return {name: np.ndarray(shape, dtype, buffer=buf, offset=off) for name, (off, shape, dtype) in lay.items()}


def default_workers(cpus=None):
    """Worker processes when the user sets none: one on a machine of up to 4 cores (the
    feed needs ~4% of a core beside a 2-core step, measured in ``make bench``'s feed
    section), else a quarter of the cores, at most 4 (a GPU's step is short)."""
    cpus = cpus or os.cpu_count() or 1
    return max(1, min(4, cpus // 4))


ENV_VAR = "STRUCTNET_FEED_WORKERS"


def resolve_workers(value=None):
    """The feed's worker processes: ``value`` (``--feed-workers``), else $STRUCTNET_FEED_WORKERS,
    else ``default_workers()``. Not a whole number >= 0: a one-line UserError naming the
    option; more than the CPU count: capped there, with a note (each worker is a process
    holding a batch or more, and a step never needs more)."""
    import sys

    from structnet.errors import UserError
    where = "--feed-workers"
    if value is None and os.environ.get(ENV_VAR, "").strip():
        value, where = os.environ[ENV_VAR].strip(), f"${ENV_VAR}"
    if value is None:
        return default_workers()
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise UserError(f"{where}: {value!r} is not a whole number of worker processes") from None
    if n < 0:
        raise UserError(f"{where}: {n} worker processes; choose 0 (a thread of this process) or more")
    cpus = os.cpu_count() or 1
    if n > cpus:
        print(f"structnet: {where} {n}: capped at this machine's {cpus} cores", file=sys.stderr, flush=True)
        n = cpus
    return n


def shm_room(n_bytes):
    """Whether /dev/shm (where shared memory lives on Linux) has ``n_bytes`` free (containers
    often give it 64 MB)."""
    try:
        return shutil.disk_usage("/dev/shm").free >= n_bytes + (64 << 20)
    except OSError:
        return False


class FeedError(RuntimeError):
    """A worker died or failed; the message names it."""


class Feed:
    """Ordered batches of ``maker`` over ``items``, made ``ahead`` batches in advance."""

    def __init__(self, maker, items, workers=0, ahead=None):
        self.maker, self.items = maker, list(items)
        self.lay, self.slot_bytes = layout(maker.spec())
        self.workers = max(0, int(workers))
        self.ahead = max(1, int(ahead if ahead is not None else max(2, 2 * self.workers)))
        self.wait_s = 0.0
        self.note = None
        if self.workers and not shm_room((self.ahead + 1) * self.slot_bytes):
            self.note = (f"feed: /dev/shm has no room for {self.ahead + 1} batches of "
                         f"{self.slot_bytes / 2 ** 20:.0f} MB; batches made in a thread instead")
            self.workers = 0
        self._closed = False
        self._procs, self._conns, self._shm = [], [], []
        self._thread = None

    # ---------------------------------------------------------------- iteration
    def __iter__(self):
        if not self.items:
            return
        n_slots = self.ahead + 1
        try:
            slots = self._start(n_slots)
            for j in range(min(self.ahead, len(self.items))):
                self._send(j, j % n_slots)
            for i, item in enumerate(self.items):
                t = time.perf_counter()
                extra = self._receive(i)
                self.wait_s = time.perf_counter() - t
                # batch i - 1's slot is free (its consumer asked for batch i): the batch `ahead`
                # further on takes it, so `ahead` batches are made while batch i is used
                j = i + self.ahead
                if j < len(self.items):
                    self._send(j, j % n_slots)
                yield item, {**slots[i % n_slots], **extra}
        finally:
            self.close()

    # ---------------------------------------------------------------- thread
    def _start(self, n_slots):
        if self.workers == 0:
            bufs = [bytearray(self.slot_bytes) for _ in range(n_slots)]
            slots = [views(b, self.lay) for b in bufs]
            self._tasks, self._results = queue.Queue(), queue.Queue()
            self._thread = threading.Thread(target=self._thread_main, args=(slots,), daemon=True,
                                            name="structnet-feed")
            self._thread.start()
            return slots
        return self._start_processes(n_slots)

    def _thread_main(self, slots):
        try:
            self.maker.open()
            while True:
                task = self._tasks.get()
                if task is None:
                    return
                i, slot = task
                self._results.put((i, None, self.maker.make(self.items[i], slots[slot])))
        except BaseException as e:       # surfaced in the consumer
            self._results.put((-1, e, None))

    # ---------------------------------------------------------------- processes
    def _start_processes(self, n_slots):
        import multiprocessing as mp
        from multiprocessing import shared_memory
        ctx = mp.get_context("spawn")
        self._shm = [shared_memory.SharedMemory(create=True, size=self.slot_bytes) for _ in range(n_slots)]
        names = [s.name for s in self._shm]
        for w in range(self.workers):
            here, there = ctx.Pipe()
            p = ctx.Process(target=serve, args=(self.maker, names, self.lay, there), daemon=True,
                            name=f"structnet-feed-{w}")
            p.start()
            there.close()
            self._procs.append(p)
            self._conns.append(here)
        return [views(s.buf, self.lay) for s in self._shm]

    def _send(self, i, slot):
        if self.workers == 0:
            self._tasks.put((i, slot))
        else:
            w = i % self.workers
            try:
                self._conns[w].send((i, self.items[i], slot))
            except (BrokenPipeError, ConnectionResetError, EOFError):
                raise FeedError(self._dead(w)) from None

    def _receive(self, i):
        if self.workers == 0:
            j, err, extra = self._results.get()
        else:
            w = i % self.workers
            conn, proc = self._conns[w], self._procs[w]
            while not conn.poll(0.2):
                if not proc.is_alive():
                    raise FeedError(self._dead(w))
            try:
                j, err, extra = conn.recv()
            except (EOFError, ConnectionResetError):
                raise FeedError(self._dead(w)) from None
        if err is not None:
            raise err
        if j != i:
            raise FeedError(f"feed: batch {j} arrived where batch {i} was expected")
        return extra

    def _dead(self, w):
        p = self._procs[w]
        p.join(1.0)
        return f"feed worker {p.name} (pid {p.pid}) died, exit code {p.exitcode}"

    def close(self):
        """Stop the workers (or the thread) and release the shared memory; idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            self._tasks.put(None)
            self._thread.join()
        for c in self._conns:
            try:
                c.send(None)
            except (OSError, ValueError):
                pass
        deadline = time.monotonic() + 2.0
        for p in self._procs:
            p.join(max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.terminate()
                p.join(2.0)
        for c in self._conns:
            c.close()
        for s in self._shm:
            s.close()
            try:
                s.unlink()
            except FileNotFoundError:
                pass
        self._shm = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def serve(maker, shm_names, lay, conn):
    """A worker process: make the batches the parent sends ((i, item, slot); None: stop)."""
    from multiprocessing import shared_memory

    from structnet.interrupt import worker_init
    worker_init()
    shms = []
    try:
        # attaching registers the segment with the resource tracker this process shares with
        # its parent (spawn passes it on): a set, so nothing changes; the parent unlinks it
        shms = [shared_memory.SharedMemory(name=name) for name in shm_names]
        slots = [views(s.buf, lay) for s in shms]
        maker.open()
        while True:
            try:
                msg = conn.recv()
            except EOFError:
                return
            if msg is None:
                return
            i, item, slot = msg
            try:
                extra = maker.make(item, slots[slot])
            except BaseException as e:       # noqa: BLE001 (sent to the parent, which raises it)
                conn.send((i, _portable(e), None))
                return
            conn.send((i, None, extra))
    except BaseException as e:               # noqa: BLE001 (opening failed: the first batch reports it)
        try:
            conn.send((-1, _portable(e), None))
        except OSError:
            pass
    finally:
        slots = None
        try:
            maker.close()
        except Exception:                   # noqa: BLE001
            pass
        for s in shms:
            try:
                s.close()
            except BufferError:
                pass


def _portable(e):
    """The exception itself when it pickles (a UserError does), else a FeedError with its text."""
    import pickle
    try:
        pickle.loads(pickle.dumps(e))
        return e
    except Exception:                       # noqa: BLE001
        return FeedError(f"feed worker: {type(e).__name__}: {e}")
