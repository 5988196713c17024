"""``make bench``, section ``feed``: training batches per second from the input pipeline
alone (``structnet.data.feed`` running ``structnet.train.batches``' makers)."""
import os
import sys
import tempfile
import time


def bench_feed(data=None, n_batches=100, candidates=2000, seed=0, skip=5):
    """Batches per second the input pipeline alone delivers (``structnet.data.feed`` running
    ``structnet.train.batches``' makers, the consumer doing nothing): pre-training's batch of
    32 and Algorithm 1's of 128 with ``candidates`` candidates and their margins, in a thread
    (0 workers), one worker process and one per core. ``data``: a dataset file (default the
    quick world's ``data/synthetic-quick/train.h5``, else a small one built here). Each rate
    is over ``n_batches`` after the first ``skip`` (worker start-up, Numba's cache); a first
    pass over the same batches in this process warms the page cache and the kernels."""
    from dataclasses import replace

    from structnet.config import quick
    from structnet.data.dataset import Dataset
    from structnet.data.feed import Feed
    from structnet.train.batches import PretrainBatches, TrainBatches, epoch_batches
    tmp = None
    if data is None:
        data = os.path.join("data", "synthetic-quick", "train.h5")
    if not os.path.exists(data):
        from structnet.data.synthetic.build import build, get_data_preset
        tmp = tempfile.TemporaryDirectory(prefix="structnet-bench-feed-")
        data = os.path.join(tmp.name, "train.h5")
        build(get_data_preset("quick", subjects_train=("S1",), subactions=(1,), workers=0), data, "train",
              progress=False)
    n = len(Dataset(data))
    cfg = replace(quick(), seed=seed, pretrain_batch_size=32, batch_size=128)
    cpus = os.cpu_count() or 1
    out = {"data": data, "images": n, "batches": n_batches, "candidates": candidates, "cpus": cpus, "runs": {}}
    makers = (("pretrain_32", lambda: PretrainBatches(cfg, data), "pretrain", 32),
              ("train_128", lambda: TrainBatches(cfg, data, min(candidates, n)), "train", 128))
    try:
        for name, make, phase, B in makers:
            per_epoch = n // B
            if not per_epoch:
                out["runs"][name] = {"batch": B, "skipped": f"{data} holds {n} images, fewer than a batch of {B}"}
                continue
            items = [it for e in range(-(-(n_batches + skip) // per_epoch))
                     for it in epoch_batches(cfg, phase, e, n, per_epoch, 0)][:n_batches + skip]
            for _ in Feed(make(), items, 0):
                pass
            for workers in sorted({0, 1, cpus}):
                feed = Feed(make(), items, workers)
                t = None
                for k, _ in enumerate(feed):
                    if k == skip - 1:
                        t = time.perf_counter()
                rate = n_batches / (time.perf_counter() - t)
                out["runs"][f"{name}_workers{workers}"] = {"batch": B, "workers": workers, "batches_per_s": rate,
                                                           "images_per_s": rate * B}
                print(f"[bench] feed {name}, {workers} workers: {rate:.1f} batches/s", file=sys.stderr, flush=True)
    finally:
        if tmp is not None:
            tmp.cleanup()
    return out
