"""The DconvMP-HML network of Li and Chan (ACCV 2014): StructNet's pre-training network
and Table 1's DconvMP-HML baseline.

Same three conv + pool layers as StructNet; on pool3 (6,400 features) two heads:
regression  1024 ReLU (dropout keep 0.25) -> 2048 ReLU -> 51 tanh, squared error;
detection   1024 ReLU (dropout) -> 2048 ReLU -> 17 x 10 x 10 sigmoid, binary
cross-entropy, a window positive where the joint's 2D position falls in it. Costs
weighted 0.5 / 0.5 (legacy_notes/original-code.md). ``DconvMP`` owns its parameters: init, values,
save and load (the one parameter format, ``structnet.io``), predictions. Its training
(optimiser, batches, learning rate): ``structnet.train.pretrain``.
"""
from collections import OrderedDict

import numpy as np
import pytensor
import pytensor.tensor as pt

from structnet.errors import UserError
from structnet.io import load_params, save_params
from structnet.engine.backend import compile_fn
from structnet.model.layers import build_dense, build_dropout
from structnet.model.network import CONV_LAYERS, build_conv_features, image_input

PIXEL_STD = 64.0      # about the std of the pixels, grey levels (synthetic world: 52-55)
HEADS = (("r1", 6400, 1024, "relu"), ("r2", 1024, 2048, "relu"), ("r3", 2048, 51, "tanh"),
         ("d1", 6400, 1024, "relu"), ("d2", 1024, 2048, "relu"), ("d3", 2048, 1700, "linear"))


def init_dconvmp(config, seed, mean_target=None):
    """He-normal weights (see legacy_notes/deviations.md), zero biases: name -> array.

    Both output layers start at their prior: the detection biases at log(1/99) (one window
    in 100 is positive), the regression's weights small (std init_std_image, the authors'
    g7) and its biases at atanh(mean_target) when given ((51,) network units, the mean
    training pose), so the untrained network predicts the mean pose rather than a
    saturated tanh (deviations.md 18).
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
        std = config.init_std_image if name == "r3" else (config.init_std_det or np.sqrt(1 / n_in)) if name == "d3" \
            else np.sqrt(2 / n_in)
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


class DconvMP:
    """The network's parameters as shared variables (static shapes), and its predictions.

    ``DconvMP(config, seed, mean_target)``; ``values()`` / ``set_values(dict)`` (names and
    shapes checked); ``save(path)`` / ``DconvMP.load(path, config)``; ``predict(images)``.
    """
    KIND = "DconvMP-HML"

    def __init__(self, config, seed, mean_target=None):
        self.config = config
        self.seed = int(seed)
        self.params = OrderedDict((k, pytensor.shared(v, name=k, shape=v.shape))
                                  for k, v in init_dconvmp(config, seed, mean_target).items())
        self._predict = None

    def values(self):
        return OrderedDict((k, v.get_value()) for k, v in self.params.items())

    def set_values(self, values, source=""):
        """Set every parameter from ``values`` (name -> array): the same names and shapes."""
        missing, extra = sorted(set(self.params) - set(values)), sorted(set(values) - set(self.params))
        if missing or extra:
            raise UserError(f"{source}: parameters do not match DconvMP-HML"
                            f" (missing {missing[:4]}, unknown {extra[:4]})")
        for k, v in values.items():
            if tuple(v.shape) != self.params[k].get_value(borrow=True).shape:
                raise UserError(f"{source}: parameter {k} has shape {tuple(v.shape)},"
                                f" expected {self.params[k].get_value(borrow=True).shape}")
            self.params[k].set_value(np.asarray(v, np.float32))

    def save(self, path):
        save_params(path, self.values(), {"phase": "pretrain", "done": True, "kind": self.KIND, "seed": self.seed})

    @classmethod
    def load(cls, path, config):
        """A pre-training model.h5 (or checkpoint) into a network of ``config``."""
        params, _, _ = load_params(path, "DconvMP-HML model")
        net = cls(config, config.seed)
        net.set_values(params, path)
        return net

    def predict(self, images):
        """Regression output (N,51) in network units, dropout off (the DconvMP-HML baseline)."""
        if self._predict is None:
            x = image_input()
            conv = build_conv_features(self.params, x)
            r, _ = build_heads(self.params, conv["pool3_flat"])
            self._predict = compile_fn([x], r, mode=self.config.mode)
        return self._predict(images)
