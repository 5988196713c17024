"""Pre-training DconvMP-HML (``make pretrain``; the network: ``structnet.model.dconvmp``):
the optimiser (SGD with momentum, the ACCV paper's, or Adam), the learning-rate
schedule, the detection targets and one batch. Convolutions are trained; its conv
weights initialise StructNet, its regression output is Table 1's DconvMP-HML baseline.
"""
import os
from collections import OrderedDict
from dataclasses import asdict

import numpy as np
import pytensor
import pytensor.tensor as pt

from structnet.errors import UserError
from structnet.geometry import poses as P
from structnet.engine.backend import compile_fn
from structnet.model.dconvmp import DconvMP, build_cost
from structnet.model.dropout import dropout_mask
from structnet.model.network import image_input
from structnet.train.batches import PRETRAIN_DROPOUT_WIDTH, PretrainBatches, detection_targets  # noqa: F401
from structnet.train.loop import Phase, held_out, n_batches, open_data, run_phase

def learning_rate(config, step, total):
    """The learning rate of pre-training batch ``step`` (0-based) of ``total``: linear
    warm-up over ``pretrain_warmup`` batches, then constant or cosine decay to lr / 10."""
    lr, warm = config.pretrain_lr, config.pretrain_warmup
    if warm and step < warm:
        return lr * (step + 1) / warm
    if config.pretrain_decay == "cosine" and total > warm:
        t = min(1.0, (step - warm) / max(1, total - warm - 1))
        return lr * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * t)))
    return lr


def make_batch(config, ds, y_all, idx, rng):
    """One pre-training batch from dataset ``ds``: (images, targets y_all[idx], detection
    targets, regression and detection dropout masks), every random draw from ``rng`` (the
    draws of ``structnet.train.batches.PretrainBatches``, which makes the training's)."""
    x, off = ds.input_for(config, ds.read_images(idx), rng, return_offsets=True)
    det = detection_targets(ds.joints2d[idx], off, config.det_grid)
    mr = dropout_mask(rng, len(idx), config.pretrain_keep_prob, PRETRAIN_DROPOUT_WIDTH)
    md = dropout_mask(rng, len(idx), config.pretrain_keep_prob, PRETRAIN_DROPOUT_WIDTH)
    return x, y_all[idx], det, mr, md


def detection_prior(det, reduce="mean"):
    """The detection cost of predicting each window's base rate: the entropy of the targets'
    mean, per window ("mean") or summed over the windows of an image ("sum")."""
    p = float(np.mean(det))
    h = -(p * np.log(p) + (1 - p) * np.log(1 - p))
    return h * (det.shape[1] if reduce == "sum" else 1)


class Pretrainer(DconvMP):
    """DconvMP-HML with its optimiser: state buffers and the compiled training step.

    Optimiser (config.pretrain_optimizer): "sgd", SGD with momentum (v = mu v - lr g; with
    ``pretrain_clip`` > 0 the gradient is first rescaled to at most that global L2 norm);
    "adam", Adam (beta1 = pretrain_momentum, beta2 = 0.999, eps 1e-8) with bias correction.
    ``state`` holds the optimiser buffers by name ("v:<param>", "m:<param>", "s:<param>").
    """

    def __init__(self, config, seed, mean_target=None):
        super().__init__(config, seed, mean_target)
        kinds = ("m", "s") if config.pretrain_optimizer == "adam" else ("v",)
        self.state = OrderedDict((f"{kind}:{k}", pytensor.shared(np.zeros_like(v.get_value()),
                                                                 name=f"{kind}:{k}", shape=v.get_value().shape))
                                 for kind in kinds for k, v in self.params.items())
        self.t = 0                      # Adam's step count (bias correction)
        self._step = None

    def _graph_step(self):
        """(inputs, outputs, keywords) of one training step: cost terms out, the parameters
        and optimiser buffers updated."""
        cfg = self.config
        x = image_input()
        yv, dv = pt.matrix("y", dtype="float32"), pt.matrix("det", dtype="float32")
        mr, md = pt.matrix("mask_r", dtype="float32"), pt.matrix("mask_d", dtype="float32")
        lrv, tv = pt.scalar("lr", dtype="float32"), pt.scalar("t", dtype="float32")
        out = build_cost(self.params, x, yv, dv, mr, md, cfg.pretrain_alpha, cfg.det_weight, cfg.det_reduce)
        names = list(self.params)
        grads = pytensor.grad(out["cost"], [self.params[n] for n in names])
        if cfg.pretrain_clip > 0:          # one global norm over every gradient (Pascanu et al. 2013)
            norm = pt.sqrt(sum((g ** 2).sum() for g in grads))
            scale = pt.minimum(np.float32(1), np.float32(cfg.pretrain_clip) / (norm + np.float32(1e-12)))
            grads = [pt.cast(g * scale, "float32") for g in grads]
        mu = np.float32(cfg.pretrain_momentum)
        upd = []
        for n, g in zip(names, grads):
            p = self.params[n]
            if cfg.pretrain_optimizer == "adam":
                m, s = self.state[f"m:{n}"], self.state[f"s:{n}"]
                m_new = mu * m + (1 - mu) * g
                s_new = np.float32(0.999) * s + np.float32(0.001) * g * g
                lr_t = lrv * pt.sqrt(1 - np.float32(0.999) ** tv) / (1 - mu ** tv)
                upd += [(m, m_new), (s, s_new), (p, pt.cast(p - lr_t * m_new / (pt.sqrt(s_new) + np.float32(1e-8)), "float32"))]
            else:
                v = self.state[f"v:{n}"]
                v_new = mu * v - lrv * g
                upd += [(v, v_new), (p, p + v_new)]
        return [x, yv, dv, mr, md, lrv, tv], [out["cost"], out["reg"], out["det"]], \
            {"updates": upd, "on_unused_input": "ignore"}

    def step(self, images, y, det, mask_r, mask_d, lr):
        if self._step is None:
            shared = {v.name: v for v in list(self.params.values()) + list(self.state.values())}
            self._step = compile_fn(graph=self._graph_step, mode=self.config.mode,
                                    cache=(("Pretrainer.step", sorted(asdict(self.config).items())), shared))
        self.t += 1
        c, r, d = self._step(images, y, det, mask_r, mask_d, np.float32(lr), np.float32(self.t))
        return {"cost": float(c), "reg": float(r), "det": float(d)}

    def state_values(self):
        return OrderedDict((k, v.get_value()) for k, v in self.state.items())

    def set_state(self, arrays, t):
        for k, v in arrays.items():
            if k in self.state:
                self.state[k].set_value(np.asarray(v, np.float32))
        self.t = int(t)


class PretrainPhase(Phase):
    """Pre-training as a phase of ``structnet.train.loop.run_phase``."""
    name, rate = "pretrain", "images_per_s"

    def __init__(self, cfg):
        self.cfg, self.ds = cfg, open_data(cfg, "pretrain")
        self.y_all = P.to_network(self.ds.root_relative())
        self.model = Pretrainer(cfg, cfg.seed, mean_target=self.y_all.mean(0))
        self.epochs, self.nb = cfg.pretrain_epochs, n_batches(cfg, len(self.ds), "pretrain")
        self.held = held_out(cfg, cfg.pretrain_curve_every)
        self.curve_every = cfg.pretrain_curve_every if self.held is not None else 0

    def params(self):
        return self.model.params

    def restore(self, ckpt, params, state, arrays):
        m = self.model
        bad = [k for k in m.state if k not in arrays or arrays[k].shape != m.state[k].get_value(borrow=True).shape]
        if bad:
            raise UserError(f"{ckpt}: optimiser state {bad[0]} missing or of the wrong shape")
        m.set_values(params, ckpt)
        m.set_state(arrays, state.get("t", 0))

    def batches(self):
        return PretrainBatches(self.cfg, self.ds.path)

    def step(self, batch, step_no, where, ckpt):
        lr = learning_rate(self.cfg, step_no, self.epochs * self.nb)
        x = batch["x"]
        return {"lr": lr, **self.model.step(x, batch["y"], batch["det"], batch["mask_r"], batch["mask_d"], lr)}, len(x)

    def curve(self):
        if self.held is None:
            return None
        return {"DconvMP-HML": self.held.mpjpe(lambda x: P.from_network(self.model.predict(x)))}

    def checkpoint(self):
        return {"t": self.model.t}, self.model.state_values()

    def finish(self, run_dir):
        self.model.save(os.path.join(run_dir, "model.h5"))
        return {"batch_size": self.cfg.pretrain_batch_size}


def run_pretrain(cfg, run_dir, resume=False, feed_workers=0):
    """Train DconvMP-HML; writes run_dir/{config.json, log.jsonl, checkpoint.h5, model.h5, results.json}.
    ``feed_workers``: processes making the batches (``structnet.data.feed``; 0: a thread)."""
    return run_phase(PretrainPhase(cfg), run_dir, resume, asdict(cfg), feed_workers)
