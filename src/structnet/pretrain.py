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
from structnet.network import image_input, CONV_LAYERS, CONV_NAMES, build_conv_features

HEADS = (("r1", 6400, 1024, "relu"), ("r2", 1024, 2048, "relu"), ("r3", 2048, 51, "tanh"),
         ("d1", 6400, 1024, "relu"), ("d2", 1024, 2048, "relu"), ("d3", 2048, 1700, "linear"))


def init_params(config, seed):
    """He-normal weights (see legacy_notes/deviations.md), zero biases: name -> array."""
    rng = np.random.default_rng([seed, 14])
    out = OrderedDict()
    for name, cin, cout, k, _ in CONV_LAYERS:
        out[f"{name}/W"] = (rng.standard_normal((cout, cin, k, k)) * np.sqrt(2 / (cin * k * k))).astype(np.float32)
        out[f"{name}/b"] = np.zeros(cout, np.float32)
    for name, n_in, n_out, _ in HEADS:
        std = np.sqrt(1 / n_in) if name in ("r3", "d3") else np.sqrt(2 / n_in)
        out[f"{name}/W"] = (rng.standard_normal((n_in, n_out)) * std).astype(np.float32)
        out[f"{name}/b"] = np.zeros(n_out, np.float32)
    out["d3/b"][:] = np.log(1 / 99)          # start at the prior: one window in 100 is positive
    return out


def build_heads(p, pool3, mask_r=None, mask_d=None):
    """pool3 (N,6400) -> regression (N,51) tanh and detection logits (N,1700)."""
    h = build_dropout(build_dense(pool3, p["r1/W"], p["r1/b"], "relu"), mask_r)
    r = build_dense(build_dense(h, p["r2/W"], p["r2/b"], "relu"), p["r3/W"], p["r3/b"], "tanh")
    g = build_dropout(build_dense(pool3, p["d1/W"], p["d1/b"], "relu"), mask_d)
    d = build_dense(build_dense(g, p["d2/W"], p["d2/b"], "relu"), p["d3/W"], p["d3/b"], "linear")
    return r, d


def build_cost(p, images, y, det, mask_r, mask_d, alpha):
    """0.5 * squared error + 0.5 * binary cross-entropy (+ alpha ||W_fc||^2); dict of scalars."""
    conv = build_conv_features(p, images)
    r, logits = build_heads(p, conv["pool3_flat"], mask_r, mask_d)
    reg = ((r - y) ** 2).sum(axis=1).mean()
    # BCE with logits z: softplus(z) - t z, averaged over the 1700 windows (see deviations.md)
    det_cost = (pt.softplus(logits) - det * logits).mean()
    decay = sum((p[f"{n}/W"] ** 2).sum() for n, _, _, _ in HEADS)
    cost = 0.5 * reg + 0.5 * det_cost + alpha * decay
    return {"cost": cost, "reg": reg, "det": det_cost}


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


class Pretrainer:
    """Parameters as shared variables, momentum buffers, the compiled step and predictions."""

    def __init__(self, config, seed):
        self.config = config
        self.params = OrderedDict((k, pytensor.shared(v, name=k)) for k, v in init_params(config, seed).items())
        self.velocity = OrderedDict((k, pytensor.shared(np.zeros_like(v.get_value()), name=f"v:{k}"))
                                    for k, v in self.params.items())
        self._step = self._predict = None

    def step(self, images, y, det, mask_r, mask_d, lr):
        if self._step is None:
            x = image_input()
            yv, dv = pt.matrix("y", dtype="float32"), pt.matrix("det", dtype="float32")
            mr, md = pt.matrix("mask_r", dtype="float32"), pt.matrix("mask_d", dtype="float32")
            lrv = pt.scalar("lr", dtype="float32")
            out = build_cost(self.params, x, yv, dv, mr, md, self.config.pretrain_alpha)
            names = list(self.params)
            grads = pytensor.grad(out["cost"], [self.params[n] for n in names])
            mu = np.float32(self.config.pretrain_momentum)
            upd = []
            for n, g in zip(names, grads):
                v = self.velocity[n]
                v_new = mu * v - lrv * g
                upd += [(v, v_new), (self.params[n], self.params[n] + v_new)]
            self._step = compile_fn([x, yv, dv, mr, md, lrv], [out["cost"], out["reg"], out["det"]],
                                    mode=self.config.mode, updates=upd)
        c, r, d = self._step(images, y, det, mask_r, mask_d, np.float32(lr))
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

    def conv_values(self):
        return {k: v for k, v in self.values().items() if k.split("/")[0] in CONV_NAMES}
