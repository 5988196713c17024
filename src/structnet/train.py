"""``make pretrain`` and ``make train``: the training loops, with checkpoints and resume.

Both loops draw every random number of a batch from a generator seeded by (seed, phase,
epoch, batch), so a run resumed from a checkpoint replays exactly what an uninterrupted
run does: same crops and colour noise, same dropout masks, same candidates, same
parameters at the end.
"""
import os
import queue
import threading
import time
from dataclasses import asdict

import numpy as np

from structnet import poses as P
from structnet.dataset import Dataset
from structnet.errors import UserError
from structnet.linesearch import best_step, step_grid
from structnet.network import CONV_NAMES, StructNet, dropout_mask
from structnet.runs import Log, load_checkpoint, prepare_run_dir, save_checkpoint, write_json
from structnet.steps import StepFunctions, step_factors
from structnet.workingset import WorkingSet

PHASES = {"pretrain": 1, "train": 2}


class TrainingDiverged(UserError):
    """The cost became NaN or inf; the last good checkpoint is kept."""


def batch_rng(seed, phase, epoch, batch, stream):
    return np.random.default_rng([seed, PHASES[phase], epoch, batch, stream])


def epoch_order(seed, phase, epoch, n):
    return np.random.default_rng([seed, PHASES[phase], epoch, 10 ** 6]).permutation(n)


def epoch_batches(cfg, phase, epoch, n, nb, first):
    """[(epoch, batch, sorted sample indices)] for batches first..nb-1 of an epoch."""
    order = epoch_order(cfg.seed, phase, epoch, n)
    return [(epoch, b, np.sort(order[b * cfg.batch_size:(b + 1) * cfg.batch_size])) for b in range(first, nb)]


def n_batches(cfg, n):
    nb = n // cfg.batch_size           # whole batches only, as the authors' data provider
    return min(nb, cfg.max_batches) if cfg.max_batches else nb


def _prefetch(items, fn, depth=2):
    """Yield fn(item) for items, computed one or two ahead in a thread (numpy/h5py I/O)."""
    q = queue.Queue(depth)
    stop = object()

    def work():
        try:
            for it in items:
                q.put(fn(it))
        except BaseException as e:     # surface errors in the consumer
            q.put(e)
        q.put(stop)

    th = threading.Thread(target=work, daemon=True)
    th.start()
    while True:
        v = q.get()
        if v is stop:
            break
        if isinstance(v, BaseException):
            raise v
        yield v


def _progress(total, initial, desc):
    from tqdm import tqdm
    return tqdm(total=total, initial=initial, desc=desc, unit="batch", dynamic_ncols=True,
                disable=os.environ.get("STRUCTNET_PROGRESS", "1") == "0")


def _check_finite(value, where, ckpt):
    if not np.isfinite(value):
        raise TrainingDiverged(f"cost became {value} at {where}; stopped, last good checkpoint: {ckpt}")


def _open_data(cfg):
    path = os.path.join(cfg.data_dir, "train.h5")
    ds = Dataset(path)
    if len(ds) < cfg.batch_size:
        raise UserError(f"{path}: {len(ds)} samples, fewer than one batch of {cfg.batch_size}")
    return ds


# ----------------------------------------------------------------------------------- pretrain
def run_pretrain(cfg, run_dir, resume=False):
    """Train DconvMP-HML; writes run_dir/{config.json, log.jsonl, checkpoint.h5, model.h5, results.json}."""
    from structnet.pretrain import Pretrainer, detection_targets
    ds = _open_data(cfg)
    prepare_run_dir(run_dir, asdict(cfg), resume)
    ckpt = os.path.join(run_dir, "checkpoint.h5")
    model = Pretrainer(cfg, cfg.seed)
    start_epoch, start_batch = 0, 0
    if resume and os.path.exists(ckpt):
        params, state, arrays = load_checkpoint(ckpt)
        for k, v in params.items():
            model.params[k].set_value(v)
        for k, v in arrays.items():
            model.velocity[k.split(":", 1)[1]].set_value(v)
        start_epoch, start_batch = state["epoch"], state["batch"]
    log = Log(os.path.join(run_dir, "log.jsonl"))
    y_all = P.to_network(ds.root_relative())
    nb = n_batches(cfg, len(ds))
    keep = cfg.keep_prob

    def load(item):
        epoch, b, idx = item
        rng = batch_rng(cfg.seed, "pretrain", epoch, b, 0)
        x, off = ds.preprocess(ds.read_images(idx), rng, cfg.pca_noise, return_offsets=True)
        det = detection_targets(ds.joints2d[idx], off, cfg.det_grid)
        mr = dropout_mask(rng, len(idx), keep, 1024)
        md = dropout_mask(rng, len(idx), keep, 1024)
        return epoch, b, x, y_all[idx], det, mr, md

    def save(epoch, batch):
        values = model.values()
        _check_finite(sum(float(np.abs(v).sum()) for v in values.values()),
                      f"pretrain epoch {epoch} batch {batch} (the parameters)", ckpt)
        save_checkpoint(ckpt, values, {"phase": "pretrain", "epoch": epoch, "batch": batch, "seed": cfg.seed},
                        {f"v:{k}": v.get_value() for k, v in model.velocity.items()})

    t0 = time.perf_counter()
    bar = _progress(cfg.pretrain_epochs * nb, start_epoch * nb + start_batch, "pretrain")
    last = {}
    for epoch in range(start_epoch, cfg.pretrain_epochs):
        items = epoch_batches(cfg, "pretrain", epoch, len(ds), nb, start_batch if epoch == start_epoch else 0)
        for epoch_, b, x, y, det, mr, md in _prefetch(items, load):
            tb = time.perf_counter()
            out = model.step(x, y, det, mr, md, cfg.pretrain_lr)
            _check_finite(out["cost"], f"pretrain epoch {epoch} batch {b}", ckpt)
            dt = time.perf_counter() - tb
            last = out
            log(phase="pretrain", epoch=epoch, batch=b, seconds=dt, images_per_s=len(x) / dt, **out)
            bar.update(1)
            bar.set_postfix(cost=f"{out['cost']:.4f}", reg=f"{out['reg']:.4f}", img_s=f"{len(x) / dt:.0f}")
            if (b + 1) % cfg.ckpt_every == 0:
                save(epoch, b + 1)
        save(epoch + 1, 0)
    bar.close()
    elapsed = time.perf_counter() - t0
    save_checkpoint(os.path.join(run_dir, "model.h5"), model.values(), {"phase": "pretrain", "done": True})
    res = {"phase": "pretrain", "epochs": cfg.pretrain_epochs, "batches_per_epoch": nb, "seconds": elapsed,
           "final": last, "images": len(ds)}
    write_json(os.path.join(run_dir, "results.json"), res)
    log(phase="pretrain", event="done", seconds=elapsed)
    log.close()
    ds.close()
    return res


def load_pretrained_convs(path):
    """Conv weights from a pre-training run's model.h5 (or checkpoint)."""
    params, state, _ = load_checkpoint(path)
    convs = {k: v for k, v in params.items() if k.split("/")[0] in CONV_NAMES}
    if len(convs) != 2 * len(CONV_NAMES):
        raise UserError(f"{path}: no pre-trained convolution weights")
    return convs


# ----------------------------------------------------------------------------------- train
def run_train(cfg, run_dir, pretrained=None, resume=False):
    """Algorithm 1 with frozen pre-trained convolutions; writes the run directory."""
    ds = _open_data(cfg)
    prepare_run_dir(run_dir, asdict(cfg) | {"pretrained": pretrained or ""}, resume)
    ckpt = os.path.join(run_dir, "checkpoint.h5")
    net = StructNet(cfg, cfg.seed)
    poseset = P.to_network(ds.root_relative())                 # the pose space Y: every training pose
    ws = WorkingSet(len(poseset))
    start_epoch, start_batch = 0, 0
    if resume and os.path.exists(ckpt):
        params, state, arrays = load_checkpoint(ckpt)
        net.set_values(params)
        ws = WorkingSet(len(poseset), arrays["working_set"])
        start_epoch, start_batch = state["epoch"], state["batch"]
    elif pretrained:
        net.set_values(load_pretrained_convs(pretrained))
    steps = StepFunctions(net, from_features=True, eps=step_factors(net.trainable_names(False), cfg.eps_w, cfg.eps_b))
    grid = step_grid(cfg.step_min_exp, cfg.step_max_exp)
    log = Log(os.path.join(run_dir, "log.jsonl"))
    nb = n_batches(cfg, len(ds))
    C = min(cfg.n_candidates, len(poseset))

    def load(item):
        epoch, b, idx = item
        rng = batch_rng(cfg.seed, "train", epoch, b, 0)
        x = ds.preprocess(ds.read_images(idx), rng, cfg.pca_noise)
        cand_idx = rng.choice(len(poseset), C, replace=False)
        mask = dropout_mask(rng, len(idx), cfg.keep_prob)
        return epoch, b, x, poseset[idx], cand_idx, mask

    def save(epoch, batch):
        values = net.get_values()
        _check_finite(sum(float(np.abs(v).sum()) for v in values.values()),
                      f"train epoch {epoch} batch {batch} (the parameters)", ckpt)
        save_checkpoint(ckpt, values, {"phase": "train", "epoch": epoch, "batch": batch, "seed": cfg.seed},
                        {"working_set": ws.counts})

    t0 = time.perf_counter()
    bar = _progress(cfg.epochs * nb, start_epoch * nb + start_batch, "train")
    last = {}
    for epoch in range(start_epoch, cfg.epochs):
        items = epoch_batches(cfg, "train", epoch, len(ds), nb, start_batch if epoch == start_epoch else 0)
        for _, b, x, y, cand_idx, mask in _prefetch(items, load):
            tb = time.perf_counter()
            cand_idx = np.concatenate([cand_idx, ws.most_frequent(cfg.k_most_violated)])
            cand = poseset[cand_idx]
            margins = P.mpjpe_matrix(y, cand)
            feats = steps.features(x)
            g = steps.grad(feats, y, cand, margins)            # dropout off: gradient, most-violated poses
            _check_finite(float(g["cost"]), f"train epoch {epoch} batch {b}", ckpt)
            ws.add(cand_idx[g["violated"]])
            step, trials = best_step(lambda s: steps.trial(feats, y, cand, margins, s), grid)
            u = steps.update(feats, y, cand, margins, mask, step)   # dropout on, the chosen step
            _check_finite(float(u["cost"]), f"train epoch {epoch} batch {b}", ckpt)
            dt = time.perf_counter() - tb
            last = {"cost": float(g["cost"]), "hinge": float(g["hinge"]), "aux": float(g["aux"]),
                    "reg": float(g["reg"]), "step": step, "best_trial_cost": float(min(trials))}
            log(phase="train", epoch=epoch, batch=b, seconds=dt, candidates_per_s=len(x) * len(cand) / dt,
                trial_costs=trials, **last)
            bar.update(1)
            bar.set_postfix(cost=f"{last['cost']:.4f}", step=f"{step:.0e}", cand_s=f"{len(x) * len(cand) / dt:.0f}")
            if (b + 1) % cfg.ckpt_every == 0:
                save(epoch, b + 1)
        save(epoch + 1, 0)
    bar.close()
    elapsed = time.perf_counter() - t0
    net.save(os.path.join(run_dir, "model.h5"))
    res = {"phase": "train", "epochs": cfg.epochs, "batches_per_epoch": nb, "seconds": elapsed, "final": last,
           "images": len(ds), "working_set_top": ws.most_frequent(cfg.k_most_violated).tolist()}
    write_json(os.path.join(run_dir, "results.json"), res)
    log(phase="train", event="done", seconds=elapsed)
    log.close()
    ds.close()
    return res
