"""Pre-training: the DconvMP-HML network of Li and Chan (ACCV 2014), ``make pretrain``.

Same three conv + pool layers as StructNet; on pool3 (6,400 features) two heads:
regression  1024 ReLU (dropout keep 0.25) -> 2048 ReLU -> 51 tanh, squared error;
detection   1024 ReLU (dropout) -> 2048 ReLU -> 17 x 10 x 10 sigmoid, binary
cross-entropy, a window positive where the joint's 2D position falls in it. Costs
weighted 0.5 / 0.5 (original-code.md), SGD with momentum, convolutions trained. Its conv
weights initialise StructNet; its regression output is Table 1's DconvMP-HML baseline.
"""
from collections import OrderedDict

import numpy as np
import pytensor
import pytensor.tensor as pt

from structnet.backend import compile_fn
from structnet.layers import build_dense, build_dropout
from structnet.network import image_input, CONV_LAYERS, CONV_NAMES, build_conv_features, dropout_mask

PIXEL_STD = 64.0      # about the std of the pixels, grey levels (synthetic world: 52-55)
HEADS = (("r1", 6400, 1024, "relu"), ("r2", 1024, 2048, "relu"), ("r3", 2048, 51, "tanh"),
         ("d1", 6400, 1024, "relu"), ("d2", 1024, 2048, "relu"), ("d3", 2048, 1700, "linear"))


def init_params(config, seed, mean_target=None):
    """He-normal weights (see legacy_notes/deviations.md), zero biases: name -> array.

    Both output layers start at their prior: the detection biases at log(1/99) (one window
    in 100 is positive), the regression's weights small (std init_std_image, the authors'
    g7) and its biases at atanh(mean_target) when given ((51,) network units, the mean
    training pose), so the untrained network predicts the mean pose rather than a
    saturated tanh (deviations.md 17).
    """
    rng = np.random.default_rng([seed, 14])
    out = OrderedDict()
    # He-normal for conv1 assumes inputs of unit scale: pixels have a std of about 64 grey
    # levels, so an input_scale other than 1/64 scales conv1's init by its inverse
    in_std = PIXEL_STD * config.input_scale
    for name, cin, cout, k, _ in CONV_LAYERS:
        std = np.sqrt(2 / (cin * k * k)) / (in_std if name == "conv1" else 1.0)
        out[f"{name}/W"] = (rng.standard_normal((cout, cin, k, k)) * std).astype(np.float32)
        out[f"{name}/b"] = np.zeros(cout, np.float32)
    for name, n_in, n_out, _ in HEADS:
        std = config.init_std_image if name == "r3" else np.sqrt(1 / n_in) if name == "d3" else np.sqrt(2 / n_in)
        out[f"{name}/W"] = (rng.standard_normal((n_in, n_out)) * std).astype(np.float32)
        out[f"{name}/b"] = np.zeros(n_out, np.float32)
    out["d3/b"][:] = np.log(1 / 99)          # start at the prior: one window in 100 is positive
    if mean_target is not None:
        out["r3/b"][:] = np.arctanh(np.clip(np.asarray(mean_target, np.float64), -0.99, 0.99))
    return out


def build_heads(p, pool3, mask_r=None, mask_d=None):
    """pool3 (N,6400) -> regression (N,51) tanh and detection logits (N,1700)."""
    h = build_dropout(build_dense(pool3, p["r1/W"], p["r1/b"], "relu"), mask_r)
    r = build_dense(build_dense(h, p["r2/W"], p["r2/b"], "relu"), p["r3/W"], p["r3/b"], "tanh")
    g = build_dropout(build_dense(pool3, p["d1/W"], p["d1/b"], "relu"), mask_d)
    d = build_dense(build_dense(g, p["d2/W"], p["d2/b"], "relu"), p["d3/W"], p["d3/b"], "linear")
    return r, d


def build_cost(p, images, y, det, mask_r, mask_d, alpha, det_weight=0.5, det_reduce="mean"):
    """0.5 * squared error + det_weight * binary cross-entropy (+ alpha ||W_fc||^2); dict of scalars.

    The squared error is summed over the 51 outputs and averaged over the batch (the
    authors' sqdiff). det_reduce "sum" treats the detection cost the same way (summed over
    the 17 x grid^2 windows, averaged over the batch); "mean" averages over the windows
    too, which leaves its gradient 1,700 times smaller (see legacy_notes/deviations.md).
    """
    conv = build_conv_features(p, images)
    r, logits = build_heads(p, conv["pool3_flat"], mask_r, mask_d)
    reg = ((r - y) ** 2).sum(axis=1).mean()
    # BCE with logits z: softplus(z) - t z
    bce = pt.softplus(logits) - det * logits
    det_cost = bce.sum(axis=1).mean() if det_reduce == "sum" else bce.mean()
    decay = sum((p[f"{n}/W"] ** 2).sum() for n, _, _, _ in HEADS)
    cost = 0.5 * reg + det_weight * det_cost + alpha * decay
    return {"cost": cost, "reg": reg, "det": det_cost}


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


def detection_targets(joints2d, offsets, grid=10, size=112):
    """(B,17,2) crop pixels of the 128 image, (B,2) crop offsets (y, x) -> (B, 17*grid*grid)."""
    B = len(joints2d)
    xy = joints2d - offsets[:, None, ::-1]                    # into the 112 crop
    cell = np.floor(xy / (size / grid)).astype(int)
    t = np.zeros((B, 17, grid, grid), np.float32)
    ok = (cell >= 0).all(-1) & (cell < grid).all(-1)
    b, j = np.nonzero(ok)
    t[b, j, cell[b, j, 1], cell[b, j, 0]] = 1.0
    return t.reshape(B, -1)


def make_batch(config, ds, y_all, idx, rng):
    """One pre-training batch from dataset ``ds``: (images, targets y_all[idx], detection
    targets, regression and detection dropout masks), every random draw from ``rng``."""
    x, off = ds.input_for(config, ds.read_images(idx), rng, return_offsets=True)
    det = detection_targets(ds.joints2d[idx], off, config.det_grid)
    mr = dropout_mask(rng, len(idx), config.keep_prob, 1024)
    md = dropout_mask(rng, len(idx), config.keep_prob, 1024)
    return x, y_all[idx], det, mr, md


def detection_prior(det, reduce="mean"):
    """The detection cost of predicting each window's base rate: the entropy of the targets'
    mean, per window ("mean") or summed over the windows of an image ("sum")."""
    p = float(np.mean(det))
    h = -(p * np.log(p) + (1 - p) * np.log(1 - p))
    return h * (det.shape[1] if reduce == "sum" else 1)


class Pretrainer:
    """Parameters as shared variables, optimiser state, the compiled step and predictions.

    Optimiser (config.pretrain_optimizer): "sgd", SGD with momentum (v = mu v - lr g);
    "adam", Adam (beta1 = pretrain_momentum, beta2 = 0.999, eps 1e-8) with bias correction.
    ``state`` holds the optimiser buffers by name ("v:<param>", "m:<param>", "s:<param>").
    """

    def __init__(self, config, seed, mean_target=None):
        self.config = config
        self.params = OrderedDict((k, pytensor.shared(v, name=k, shape=v.shape))
                                  for k, v in init_params(config, seed, mean_target).items())
        kinds = ("m", "s") if config.pretrain_optimizer == "adam" else ("v",)
        self.state = OrderedDict((f"{kind}:{k}", pytensor.shared(np.zeros_like(v.get_value()),
                                                                 name=f"{kind}:{k}", shape=v.get_value().shape))
                                 for kind in kinds for k, v in self.params.items())
        self.t = 0                      # Adam's step count (bias correction)
        self._step = self._predict = None

    def _compile_step(self):
        cfg = self.config
        x = image_input()
        yv, dv = pt.matrix("y", dtype="float32"), pt.matrix("det", dtype="float32")
        mr, md = pt.matrix("mask_r", dtype="float32"), pt.matrix("mask_d", dtype="float32")
        lrv, tv = pt.scalar("lr", dtype="float32"), pt.scalar("t", dtype="float32")
        out = build_cost(self.params, x, yv, dv, mr, md, cfg.pretrain_alpha, cfg.det_weight, cfg.det_reduce)
        names = list(self.params)
        grads = pytensor.grad(out["cost"], [self.params[n] for n in names])
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
        return compile_fn([x, yv, dv, mr, md, lrv, tv], [out["cost"], out["reg"], out["det"]],
                          mode=cfg.mode, updates=upd, on_unused_input="ignore")

    def step(self, images, y, det, mask_r, mask_d, lr):
        if self._step is None:
            self._step = self._compile_step()
        self.t += 1
        c, r, d = self._step(images, y, det, mask_r, mask_d, np.float32(lr), np.float32(self.t))
        return {"cost": float(c), "reg": float(r), "det": float(d)}

    def predict(self, images):
        """Regression output (N,51) in network units, dropout off (the DconvMP-HML baseline)."""
        if self._predict is None:
            x = image_input()
            conv = build_conv_features(self.params, x)
            r, _ = build_heads(self.params, conv["pool3_flat"])
            self._predict = compile_fn([x], r, mode=self.config.mode)
        return self._predict(images)

    def values(self):
        return OrderedDict((k, v.get_value()) for k, v in self.params.items())

    def state_values(self):
        return OrderedDict((k, v.get_value()) for k, v in self.state.items())

    def set_state(self, arrays, t):
        for k, v in arrays.items():
            if k in self.state:
                self.state[k].set_value(np.asarray(v, np.float32))
        self.t = int(t)
