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

from structnet import metrics
from structnet import poses as P
from structnet.dataset import Dataset
from structnet.errors import UserError
from structnet.linesearch import best_step, step_grid
from structnet.network import CONV_NAMES, StructNet, dropout_mask
from structnet.runs import (Log, check_checkpoint, finished_results, load_checkpoint, log_records, prepare_run_dir,
                            read_curve, save_checkpoint, write_json)
from structnet.steps import StepFunctions, step_factors
from structnet.workingset import WorkingSet

PHASES = {"pretrain": 1, "train": 2}


class TrainingDiverged(UserError):
    """The cost became NaN or inf; the last good checkpoint is kept."""


def batch_rng(seed, phase, epoch, batch, stream):
    return np.random.default_rng([seed, PHASES[phase], epoch, batch, stream])


def epoch_order(seed, phase, epoch, n):
    return np.random.default_rng([seed, PHASES[phase], epoch, 10 ** 6]).permutation(n)


def batch_size(cfg, phase):
    return cfg.pretrain_batch_size if phase == "pretrain" else cfg.batch_size


def epoch_batches(cfg, phase, epoch, n, nb, first):
    """[(epoch, batch, sorted sample indices)] for batches first..nb-1 of an epoch."""
    order = epoch_order(cfg.seed, phase, epoch, n)
    B = batch_size(cfg, phase)
    return [(epoch, b, np.sort(order[b * B:(b + 1) * B])) for b in range(first, nb)]


def n_batches(cfg, n, phase="train"):
    nb = n // batch_size(cfg, phase)   # whole batches only, as the authors' data provider
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


def _open_data(cfg, phase="train"):
    path = os.path.join(cfg.data_dir, "train.h5")
    ds = Dataset(path)
    if len(ds) < batch_size(cfg, phase):
        raise UserError(f"{path}: {len(ds)} samples, fewer than one batch of {batch_size(cfg, phase)}")
    return ds


def _held_out(cfg, every):
    """The learning curve's held-out images, or None when curves are off or there is no test set."""
    if not every or not os.path.exists(os.path.join(cfg.data_dir, "test.h5")):
        return None
    from structnet.curves import HeldOut
    return HeldOut(cfg)


def _curve_point(log, phase, step, seconds, mpjpe, cost_s=None):
    """Log one learning-curve point: held-out MPJPE (mm) per method after ``step`` batches."""
    rec = {"step": step, "seconds": seconds, "mpjpe": mpjpe}
    log(phase=phase, event="curve", curve_seconds=cost_s, **rec)
    return rec


# ----------------------------------------------------------------------------------- pretrain
def run_pretrain(cfg, run_dir, resume=False):
    """Train DconvMP-HML; writes run_dir/{config.json, log.jsonl, checkpoint.h5, model.h5, results.json}."""
    from structnet.pretrain import Pretrainer, learning_rate, make_batch
    ds = _open_data(cfg, "pretrain")
    prepare_run_dir(run_dir, asdict(cfg), resume)
    done = finished_results(run_dir, resume)
    if done is not None:
        ds.close()
        return done
    ckpt = os.path.join(run_dir, "checkpoint.h5")
    y_all = P.to_network(ds.root_relative())
    model = Pretrainer(cfg, cfg.seed, mean_target=y_all.mean(0))
    start_epoch, start_batch = 0, 0
    if resume and os.path.exists(ckpt):
        params, state, arrays = load_checkpoint(ckpt)
        check_checkpoint(ckpt, params, {k: v.get_value(borrow=True).shape for k, v in model.params.items()},
                         state, cfg.pretrain_epochs, n_batches(cfg, len(ds), "pretrain"))
        bad = [k for k in model.state if k not in arrays or arrays[k].shape != model.state[k].get_value(borrow=True).shape]
        if bad:
            raise UserError(f"{ckpt}: optimiser state {bad[0]} missing or of the wrong shape")
        for k, v in params.items():
            model.params[k].set_value(v)
        model.set_state(arrays, state.get("t", 0))
        start_epoch, start_batch = state["epoch"], state["batch"]
    log = Log(os.path.join(run_dir, "log.jsonl"), fresh=(start_epoch, start_batch) == (0, 0))
    nb = n_batches(cfg, len(ds), "pretrain")
    total = cfg.pretrain_epochs * nb
    held = _held_out(cfg, cfg.pretrain_curve_every)
    predict = lambda x: P.from_network(model.predict(x))

    def load(item):
        epoch, b, idx = item
        return (epoch, b) + make_batch(cfg, ds, y_all, idx, batch_rng(cfg.seed, "pretrain", epoch, b, 0))

    def save(epoch, batch):
        values = model.values()
        _check_finite(sum(float(np.abs(v).sum()) for v in values.values()),
                      f"pretrain epoch {epoch} batch {batch} (the parameters)", ckpt)
        save_checkpoint(ckpt, values, {"phase": "pretrain", "epoch": epoch, "batch": batch, "seed": cfg.seed,
                                       "t": model.t}, model.state_values())

    t0 = time.perf_counter()
    bar = _progress(total, start_epoch * nb + start_batch, "pretrain")
    last, curve = {}, []
    if held is not None and start_epoch == start_batch == 0:
        curve.append(_curve_point(log, "pretrain", 0, 0.0, {"DconvMP-HML": held.mpjpe(predict)}))
    for epoch in range(start_epoch, cfg.pretrain_epochs):
        items = epoch_batches(cfg, "pretrain", epoch, len(ds), nb, start_batch if epoch == start_epoch else 0)
        for epoch_, b, x, y, det, mr, md in _prefetch(items, load):
            tb = time.perf_counter()
            step_no = epoch * nb + b
            lr = learning_rate(cfg, step_no, total)
            out = model.step(x, y, det, mr, md, lr)
            _check_finite(out["cost"], f"pretrain epoch {epoch} batch {b}", ckpt)
            dt = time.perf_counter() - tb
            last = out
            log(phase="pretrain", epoch=epoch, batch=b, seconds=dt, images_per_s=len(x) / dt, lr=lr, **out)
            bar.update(1)
            bar.set_postfix(cost=f"{out['cost']:.4f}", reg=f"{out['reg']:.4f}", img_s=f"{len(x) / dt:.0f}")
            if held is not None and (step_no + 1) % cfg.pretrain_curve_every == 0:
                tc = time.perf_counter()
                curve.append(_curve_point(log, "pretrain", step_no + 1, time.perf_counter() - t0,
                                          {"DconvMP-HML": held.mpjpe(predict)}, time.perf_counter() - tc))
                bar.set_postfix(cost=f"{out['cost']:.4f}", heldout_mm=f"{curve[-1]['mpjpe']['DconvMP-HML']:.1f}")
            if (b + 1) % cfg.ckpt_every == 0:
                save(epoch, b + 1)
        save(epoch + 1, 0)
    bar.close()
    elapsed = time.perf_counter() - t0
    save_checkpoint(os.path.join(run_dir, "model.h5"), model.values(), {"phase": "pretrain", "done": True})
    res = {"phase": "pretrain", "epochs": cfg.pretrain_epochs, "batches_per_epoch": nb, "seconds": elapsed,
           "batch_size": cfg.pretrain_batch_size, "final": last, "images": len(ds),
           "curve": read_curve(os.path.join(run_dir, "log.jsonl"), "pretrain")}
    write_json(os.path.join(run_dir, "results.json"), res)
    log(phase="pretrain", event="done", seconds=elapsed)
    log.close()
    ds.close()
    return res


def _line_search_stats(log_path, grid):
    """How often each step of the grid was chosen, over every batch of the run's log."""
    chosen = [r["step"] for r in log_records(log_path)
              if r.get("phase") == "train" and "step" in r and "event" not in r]
    counts = {f"{g:.0e}": int(np.sum(np.isclose(chosen, g))) for g in grid}
    top = counts[f"{grid[-1]:.0e}"]
    return {"batches": len(chosen), "chosen": counts, "top_of_grid_fraction": top / len(chosen) if chosen else None}


def fc_from_pretrained(path, values):
    """StructNet's image head started from DconvMP-HML's regression head (deviation 17):
    h2 <- r1 (pool3 -> 1024), h3's rows for h2 <- r2 (1024 -> 2048), g7 <- r3 (2048 -> 51).
    h1, h3's rows for h1 (kept at their random init), h4 and the pose branch are untouched.
    With h1's rows of h3 at zero this network's f_P(x) would equal DconvMP-HML's output."""
    params, _, _ = load_checkpoint(path)
    need = ("r1/W", "r1/b", "r2/W", "r2/b", "r3/W", "r3/b")
    missing = [k for k in need if k not in params]
    if missing:
        raise UserError(f"{path}: no DconvMP-HML regression head ({', '.join(missing)} missing)")
    out = {"h2/W": params["r1/W"], "h2/b": params["r1/b"], "g7/W": params["r3/W"], "g7/b": params["r3/b"]}
    h3 = np.array(values["h3/W"], np.float32)
    n1 = h3.shape[0] - params["r2/W"].shape[0]
    h3[n1:] = params["r2/W"]
    out["h3/W"], out["h3/b"] = h3, params["r2/b"]
    return out


def start_from_pretrained(net, path):
    """StructNet as training starts it: the pre-trained convolutions (and, with
    init_fc_from_pretrain, the image head of ``fc_from_pretrained``) from ``path``."""
    net.set_values(load_pretrained_convs(path))
    if net.config.init_fc_from_pretrain:
        net.set_values(fc_from_pretrained(path, net.get_values()))
    return net


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
    done = finished_results(run_dir, resume)
    if done is not None:
        ds.close()
        return done
    ckpt = os.path.join(run_dir, "checkpoint.h5")
    net = StructNet(cfg, cfg.seed)
    poseset = P.to_network(ds.root_relative())                 # the pose space Y: every training pose
    ws = WorkingSet(len(poseset))
    start_epoch, start_batch = 0, 0
    if resume and os.path.exists(ckpt):
        params, state, arrays = load_checkpoint(ckpt)
        check_checkpoint(ckpt, params, {k: v.get_value(borrow=True).shape for k, v in net.params.items()},
                         state, cfg.epochs, n_batches(cfg, len(ds)))
        if "working_set" not in arrays or arrays["working_set"].shape != (len(poseset),):
            raise UserError(f"{ckpt}: working set missing or not of {len(poseset)} counts (the pose set)")
        net.set_values(params)
        ws = WorkingSet(len(poseset), arrays["working_set"])
        start_epoch, start_batch = state["epoch"], state["batch"]
    elif pretrained:
        start_from_pretrained(net, pretrained)
    steps = StepFunctions(net, from_features=True, eps=step_factors(net.trainable_names(False), cfg.eps_w, cfg.eps_b))
    grid = step_grid(cfg.step_min_exp, cfg.step_max_exp)
    log = Log(os.path.join(run_dir, "log.jsonl"), fresh=(start_epoch, start_batch) == (0, 0))
    nb = n_batches(cfg, len(ds))
    C = min(cfg.n_candidates, len(poseset))
    held = _held_out(cfg, cfg.curve_every)
    poseset_mm = ds.root_relative()
    if held is not None:
        held_feats = [np.concatenate(a) for a in zip(*(steps.features(held.x[i:i + 128])
                                                        for i in range(0, len(held), 128)))]

    def curve_point(step_no, seconds):
        from structnet.inference import structnet_avg, top_k
        tc = time.perf_counter()
        f_img, g7 = steps.embed(held_feats)
        idx, _ = top_k(f_img, net.pose_embedding(poseset_mm), min(20, len(poseset_mm)))
        errs = {"StructNet-Max": metrics.mpjpe(poseset_mm[idx[:, 0]], held.gt)}
        if idx.shape[1] == 20:
            errs["StructNet-Avg(20)"] = metrics.mpjpe(structnet_avg(idx, poseset_mm, 20), held.gt)
        errs["StructNet-Pred"] = metrics.mpjpe(P.from_network(g7), held.gt)
        return _curve_point(log, "train", step_no, seconds, errs, time.perf_counter() - tc)

    def load(item):
        epoch, b, idx = item
        rng = batch_rng(cfg.seed, "train", epoch, b, 0)
        x = ds.input_for(cfg, ds.read_images(idx), rng)
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
    if held is not None and start_epoch == start_batch == 0:
        curve_point(0, 0.0)
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
            step_no = epoch * nb + b + 1
            if held is not None and step_no % cfg.curve_every == 0:
                pt_ = curve_point(step_no, time.perf_counter() - t0)
                bar.set_postfix(cost=f"{last['cost']:.4f}", max_mm=f"{pt_['mpjpe']['StructNet-Max']:.1f}",
                                pred_mm=f"{pt_['mpjpe']['StructNet-Pred']:.1f}")
            if (b + 1) % cfg.ckpt_every == 0:
                save(epoch, b + 1)
        save(epoch + 1, 0)
    bar.close()
    elapsed = time.perf_counter() - t0
    net.save(os.path.join(run_dir, "model.h5"))
    res = {"phase": "train", "epochs": cfg.epochs, "batches_per_epoch": nb, "seconds": elapsed, "final": last,
           "images": len(ds), "working_set_top": ws.most_frequent(cfg.k_most_violated).tolist(),
           "line_search": _line_search_stats(os.path.join(run_dir, "log.jsonl"), grid),
           "curve": read_curve(os.path.join(run_dir, "log.jsonl"), "train")}
    write_json(os.path.join(run_dir, "results.json"), res)
    log(phase="train", event="done", seconds=elapsed)
    log.close()
    ds.close()
    return res
