"""The loop of both training phases (``make pretrain``, ``make train``): run directory,
resume, batches made ahead, log, progress, learning curves, checkpoints, results.

A phase (``structnet.train.pretrain.PretrainPhase``, ``structnet.train.algorithm1.TrainPhase``)
says what a batch is (its ``structnet.train.batches`` maker) and what a step does;
``run_phase`` does the rest. The batches of every remaining epoch are made ahead by one
feed (``structnet.data.feed``, worker processes); each batch's log record says how long
the step waited for it (``wait_s``) and how long the step took (``step_s``), the results
the fraction of the phase spent waiting (``feed_wait_fraction``). A batch's randomness is
its seed's (``structnet.train.batches``), so a run resumed from a checkpoint replays
exactly what an uninterrupted run does, with any number of feed workers.
"""
import os
import time

import numpy as np

from structnet.data.dataset import Dataset
from structnet.data.feed import Feed
from structnet.errors import UserError
from structnet.interrupt import check_interrupt
from structnet.io import write_json
from structnet.engine.backend import describe_mode
from structnet.train.batches import batch_size, epoch_batches
from structnet.train.runs import (Log, check_checkpoint, finished_results, load_checkpoint, log_records,
                                  prepare_run_dir, read_curve, save_checkpoint)


class TrainingDiverged(UserError):
    """The cost became NaN or inf; the last good checkpoint is kept."""


def n_batches(cfg, n, phase="train"):
    nb = n // batch_size(cfg, phase)   # whole batches only, as the authors' data provider
    return min(nb, cfg.max_batches) if cfg.max_batches else nb


def _progress(total, initial, desc):
    from tqdm import tqdm
    return tqdm(total=total, initial=initial, desc=desc, unit="batch", dynamic_ncols=True,
                disable=os.environ.get("STRUCTNET_PROGRESS", "1") == "0")


def check_finite(value, where, ckpt):
    if not np.isfinite(value):
        raise TrainingDiverged(f"cost became {value} at {where}; stopped, last good checkpoint: {ckpt}")


#: floats of one image's activations in a training step, all layers, forward and backward
#: (conv1 32x104x104, pool1 32x52x52, conv2 64x48x48, pool2 64x24x24, conv3 64x20x20, pool3)
#: x 4: the values, their gradients and temporaries
STEP_FLOATS_PER_IMAGE = 4 * (32 * 104 * 104 + 32 * 52 * 52 + 64 * 48 * 48 + 64 * 24 * 24 + 64 * 20 * 20 + 6400)


def step_memory(cfg, phase):
    """Bytes an estimate of a step's largest arrays takes: activations per image, and in
    training the image-candidate scores and the candidates' embeddings of the line search."""
    B = batch_size(cfg, phase)
    need = 4 * B * STEP_FLOATS_PER_IMAGE
    if phase == "train":
        C = cfg.n_candidates + cfg.k_most_violated
        need += 4 * (8 * B * C + 12 * C * max(cfg.embedding_size, 1024))
    return need


def open_data(cfg, phase="train"):
    from structnet.io import check_memory
    what = (f"pretrain_batch_size={cfg.pretrain_batch_size}" if phase == "pretrain"
            else f"batch_size={cfg.batch_size}, n_candidates={cfg.n_candidates}")
    check_memory(step_memory(cfg, phase), what)
    path = os.path.join(cfg.data_dir, "train.h5")
    ds = Dataset(path)
    if len(ds) < batch_size(cfg, phase):
        raise UserError(f"{path}: {len(ds)} samples, fewer than one batch of {batch_size(cfg, phase)}")
    return ds


def held_out(cfg, every):
    """The learning curve's held-out images, or None when curves are off or there is no test set."""
    if not every or not os.path.exists(os.path.join(cfg.data_dir, "test.h5")):
        return None
    from structnet.train.curves import HeldOut
    return HeldOut(cfg)


class Phase:
    """What ``run_phase`` asks of a training phase. Attributes: ``name`` ("pretrain" or
    "train"), ``cfg``, ``ds`` (the training set), ``epochs``, ``nb`` (batches per epoch),
    ``curve_every``, ``rate`` (the name of its throughput in the log)."""

    def params(self):
        """name -> shared variable of the parameters the checkpoint holds."""
        raise NotImplementedError

    def restore(self, ckpt, params, state, arrays):
        """Take a verified checkpoint (names, shapes, position already checked)."""
        raise NotImplementedError

    def batches(self):
        """The phase's batch maker (``structnet.train.batches.BatchMaker``), run by the feed."""
        raise NotImplementedError

    def step(self, batch, step_no, where, ckpt):
        """One batch (a dict of the maker's arrays; ``where`` names it, ``ckpt`` is the last good
        checkpoint, for a divergence message): -> (log record with "cost", items processed)."""
        raise NotImplementedError

    def curve(self):
        """Held-out MPJPE (mm) per method now, or None when curves are off."""
        return None

    def checkpoint(self):
        """-> (extra state, extra arrays) of a checkpoint."""
        return {}, {}

    def finish(self, run_dir):
        """Write the model; -> extra results."""
        raise NotImplementedError


def feed_stats(log_path, phase, workers):
    """The feed's share of a phase, over every batch of its log (resumed runs included):
    ``feed_wait_fraction`` = time the steps waited for their batches / (that wait + the
    steps' time), i.e. the fraction of the batch loop spent starved; ``feed_wait_s`` and
    ``step_s``: totals, medians (and the longest wait, the first batch's start-up)."""
    recs = [r for r in log_records(log_path) if r.get("phase") == phase and "wait_s" in r and "event" not in r]
    if not recs:
        return {}
    wait = np.array([r["wait_s"] for r in recs])
    step = np.array([r["step_s"] for r in recs])
    return {"feed_workers": workers, "feed_wait_fraction": float(wait.sum() / max(wait.sum() + step.sum(), 1e-12)),
            "feed_wait_s": {"total": float(wait.sum()), "median": float(np.median(wait)), "max": float(wait.max())},
            "step_s": {"total": float(step.sum()), "median": float(np.median(step))}}


def _curve_point(log, phase, step, seconds, mpjpe, cost_s=None):
    """Log one learning-curve point: held-out MPJPE (mm) per method after ``step`` batches."""
    rec = {"step": step, "seconds": seconds, "mpjpe": mpjpe}
    log(phase=phase, event="curve", curve_seconds=cost_s, **rec)
    return rec


def run_phase(phase, run_dir, resume, config_dict, feed_workers=0):
    """Run ``phase`` in ``run_dir``: resume from its checkpoint (verified) when asked, leave a
    finished run as it is; write config.json, log.jsonl, checkpoint.h5, model.h5 and
    results.json. ``feed_workers``: processes making the batches (0: a thread). Returns the
    results."""
    cfg, ds, name = phase.cfg, phase.ds, phase.name
    prepare_run_dir(run_dir, config_dict, resume, name)
    done = finished_results(run_dir, resume)
    if done is not None:
        ds.close()
        return done
    ckpt = os.path.join(run_dir, "checkpoint.h5")
    nb, epochs = phase.nb, phase.epochs
    start_epoch, start_batch = 0, 0
    if resume and os.path.exists(ckpt):
        params, state, arrays = load_checkpoint(ckpt)
        check_checkpoint(ckpt, params, {k: v.get_value(borrow=True).shape for k, v in phase.params().items()},
                         state, epochs, nb)
        phase.restore(ckpt, params, state, arrays)
        start_epoch, start_batch = state["epoch"], state["batch"]
    log = Log(os.path.join(run_dir, "log.jsonl"), fresh=(start_epoch, start_batch) == (0, 0))

    def save(epoch, batch):
        values = {k: v.get_value() for k, v in phase.params().items()}
        check_finite(sum(float(np.abs(v).sum()) for v in values.values()),
                     f"{name} epoch {epoch} batch {batch} (the parameters)", ckpt)
        extra, arrays = phase.checkpoint()
        save_checkpoint(ckpt, values, {"phase": name, "epoch": epoch, "batch": batch, "seed": cfg.seed, **extra},
                        arrays)

    def curve(step_no, seconds):
        tc = time.perf_counter()
        mm = phase.curve()
        if mm is not None:
            return _curve_point(log, name, step_no, seconds, mm, time.perf_counter() - tc)

    t0 = time.perf_counter()
    bar = _progress(epochs * nb, start_epoch * nb + start_batch, name)
    last = {}
    if phase.curve_every and start_epoch == start_batch == 0:
        curve(0, 0.0)
    items = [it for epoch in range(start_epoch, epochs)
             for it in epoch_batches(cfg, name, epoch, len(ds), nb, start_batch if epoch == start_epoch else 0)]
    feed = Feed(phase.batches(), items, feed_workers)
    if feed.note:
        print(f"structnet: {feed.note}", flush=True)
    for (epoch, b, _), batch in feed:
        check_interrupt()
        wait = feed.wait_s
        tb = time.perf_counter()
        step_no = epoch * nb + b
        rec, count = phase.step(batch, step_no, f"{name} epoch {epoch} batch {b}", ckpt)
        check_finite(rec["cost"], f"{name} epoch {epoch} batch {b}", ckpt)
        dt = time.perf_counter() - tb
        last = {k: v for k, v in rec.items() if not isinstance(v, list)}
        log(phase=name, epoch=epoch, batch=b, seconds=dt, wait_s=wait, step_s=dt, **{phase.rate: count / dt}, **rec)
        bar.update(1)
        bar.set_postfix(cost=f"{rec['cost']:.4f}", **{phase.rate.replace("_per_s", "_s"): f"{count / dt:.0f}"},
                        wait=f"{wait:.2f}s")
        if phase.curve_every and (step_no + 1) % phase.curve_every == 0:
            pt_ = curve(step_no + 1, time.perf_counter() - t0)
            if pt_:
                bar.set_postfix(cost=f"{rec['cost']:.4f}",
                                **{k.replace("StructNet-", "").replace("DconvMP-HML", "heldout") + "_mm": f"{v:.1f}"
                                   for k, v in pt_["mpjpe"].items()})
        if b + 1 == nb:
            save(epoch + 1, 0)
        elif (b + 1) % cfg.ckpt_every == 0:
            save(epoch, b + 1)
    bar.close()
    check_interrupt()
    log_path = os.path.join(run_dir, "log.jsonl")
    points = read_curve(log_path, name)
    if phase.curve_every and points and points[-1]["step"] != epochs * nb:   # the curve ends where the run ends
        curve(epochs * nb, time.perf_counter() - t0)
        points = read_curve(log_path, name)
    elapsed = time.perf_counter() - t0
    extra = phase.finish(run_dir)
    res = {"phase": name, "epochs": epochs, "batches_per_epoch": nb, "seconds": elapsed, "final": last,
           "images": len(ds), "compile_mode": describe_mode(cfg.mode), **extra, "curve": points,
           **feed_stats(log_path, name, feed.workers)}
    write_json(os.path.join(run_dir, "results.json"), res)
    log(phase=name, event="done", seconds=elapsed)
    log.close()
    ds.close()
    return res
