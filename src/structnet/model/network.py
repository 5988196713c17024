"""The StructNet score network (paper Sec. 3, Eqs. 2-4 and 10) and its stable Python API.

Layer sizes, initialisation and names follow the authors' cfg (legacy_notes/original-code.md):

    images (N,3,112,112) -> conv1 9x9x32 relu -> pool -> conv2 5x5x64 relu -> pool
      -> conv3 5x5x64 linear -> pool;  h1 = relu(pool2 @ W), h2 = relu(pool3 @ W),
      h3 = relu(dropout[h1, h2] @ W), h4 = relu(h3 @ W) = f_I(x),  g7 = tanh(h3 @ W) = f_P(x)
    poses (M,51) -> h5 relu -> h6 relu = f_J(y);   score = <f_I(x), f_J(y)>   (Eq. 4)
"""
import json
import os
from collections import OrderedDict
from dataclasses import dataclass

import h5py
import numpy as np
import pytensor
import pytensor.tensor as pt

from structnet.geometry import poses as P
from structnet.engine.backend import compile_fn
from structnet.config import Config, paper
from structnet.errors import UserError
from structnet.io import dataset_names, load_params, save_params
from structnet.model.dropout import CONCAT_WIDTH, dropout_mask, no_dropout  # noqa: F401 (the API's names)
from structnet.model.layers import ACTIVATIONS, build_conv_pool, build_dense, build_dropout

IMAGE_SIZE = 112
LEGACY_FORMAT = "structnet-params-1"     # model files before the one format (read only)

POSE_DIM = 51                            # 17 joints x 3
POOL2_WIDTH = 64 * 24 * 24               # pool2 flattened (h1's input)
POOL3_WIDTH = 64 * 10 * 10               # pool3 flattened (h2's input)

# name, in channels, out channels, kernel, activation
CONV_LAYERS = (("conv1", 3, 32, 9, "relu"), ("conv2", 32, 64, 5, "relu"), ("conv3", 64, 64, 5, "linear"))
CONV_NAMES = tuple(c[0] for c in CONV_LAYERS)


def dense_layers(config):
    """(name, in, out, activation, init std) of the FC layers for this config."""
    E = config.embedding_size
    img = config.init_std_image
    layers = [("h1", POOL2_WIDTH, 256, "relu", img), ("h2", POOL3_WIDTH, 1024, "relu", img),
              ("h3", CONCAT_WIDTH, 2048, "relu", img), ("h4", 2048, E, "relu", img),
              ("g7", 2048, POSE_DIM, "tanh", img)]
    pe, ps = config.pose_embedding, config.init_std_pose
    if pe == "2layer":
        layers += [("h5", POSE_DIM, 1024, "relu", ps), ("h6", 1024, E, "relu", ps)]
    elif pe in ("1layer", "random1"):
        layers += [("h5", POSE_DIM, E, "relu", ps)]
    return layers


@dataclass(frozen=True)
class Param:
    """One parameter's roles. trainable: updated by training (the conv layers only when
    the whole network trains; random1's h5 never, Table 3); decay: under the weight decay
    of Eq. (12) (every FC weight matrix, no conv, no bias); eps: its line-search step
    factor, eps_w for weights, eps_b for biases (legacy_notes/original-code.md)."""
    name: str
    layer: str
    kind: str          # "conv" | "fc"
    trainable: bool
    decay: bool
    eps: str           # "eps_w" | "eps_b"


def param_table(config):
    """Every parameter of StructNet for ``config``, in order, with its roles (``Param``)."""
    layers = [(c[0], "conv") for c in CONV_LAYERS] + [(d[0], "fc") for d in dense_layers(config)]
    fixed = {"h5"} if config.pose_embedding == "random1" else set()
    return [Param(f"{layer}/{wb}", layer, kind, layer not in fixed, kind == "fc" and wb == "W",
                  "eps_w" if wb == "W" else "eps_b")
            for layer, kind in layers for wb in ("W", "b")]


def image_input(name="images"):
    """The symbolic image batch: (N, 3, 112, 112) float32, spatial sizes static."""
    return pt.tensor(name, dtype="float32", shape=(None, 3, IMAGE_SIZE, IMAGE_SIZE))


def pose_input(name="poses"):
    """Symbolic poses: (M, 51) float32 network units, the width static."""
    return pt.matrix(name, dtype="float32", shape=(None, POSE_DIM))


def mask_input(name="mask"):
    """Symbolic dropout mask: (B, 1280) float32, the width static."""
    return pt.matrix(name, dtype="float32", shape=(None, CONCAT_WIDTH))


def init_structnet(config, seed):
    """Gaussian weights, zero biases (legacy_notes/original-code.md, "Initialisation"): dict name -> array."""
    rng = np.random.default_rng(seed)
    out = OrderedDict()
    for i, (name, cin, cout, k, _) in enumerate(CONV_LAYERS):
        std = config.init_std_conv1 if i == 0 else config.init_std_image
        out[f"{name}/W"] = (rng.standard_normal((cout, cin, k, k)) * std).astype(np.float32)
        out[f"{name}/b"] = np.zeros(cout, np.float32)
    for name, n_in, n_out, _, std in dense_layers(config):
        out[f"{name}/W"] = (rng.standard_normal((n_in, n_out)) * std).astype(np.float32)
        out[f"{name}/b"] = np.zeros(n_out, np.float32)
    return out


def build_conv_features(p, images):
    """images (N,3,112,112) NCHW -> dict of the conv stack; 'pool2' (N,36864), 'pool3' (N,6400).

    Also 'conv1'..'conv3' (the convolution outputs, channel-major) and 'pool1'..'pool3'
    (after pooling, bias and activation), for the summary.
    """
    images = pt.as_tensor_variable(images)
    x = images.dimshuffle(1, 0, 2, 3)
    layers = OrderedDict()
    for name, _, _, _, act in CONV_LAYERS:
        W, b = p[f"{name}/W"], p[f"{name}/b"]
        layers[name], x = build_conv_pool(x, W, b, act)
        layers["pool" + name[-1]] = x
    n = images.shape[0]
    layers["pool2_flat"] = layers["pool2"].dimshuffle(1, 0, 2, 3).reshape((n, -1))
    layers["pool3_flat"] = layers["pool3"].dimshuffle(1, 0, 2, 3).reshape((n, -1))
    return layers


def build_image_head(p, pool2, pool3, mask=None, pre=None):
    """(N,36864), (N,6400) -> dict h1, h2, concat, h3, h4 = f_I (Eq. 2), g7 = f_P (Eq. 10).

    pre: optional {"h1": (N,256), "h2": (N,1024)}, the products pool2 @ W_h1 and
    pool3 @ W_h2 computed elsewhere (the line search's, ``structnet.train.steps``); the
    pool inputs are then unused and may be None."""
    L = OrderedDict()
    if pre is None:
        L["h1"] = build_dense(pool2, p["h1/W"], p["h1/b"], "relu")
        L["h2"] = build_dense(pool3, p["h2/W"], p["h2/b"], "relu")
    else:
        L["h1"] = ACTIVATIONS["relu"](pre["h1"] + p["h1/b"])
        L["h2"] = ACTIVATIONS["relu"](pre["h2"] + p["h2/b"])
    L["concat"] = build_dropout(pt.concatenate([L["h1"], L["h2"]], axis=1), mask)
    L["h3"] = build_dense(L["concat"], p["h3/W"], p["h3/b"], "relu")
    L["h4"] = build_dense(L["h3"], p["h4/W"], p["h4/b"], "relu")
    L["g7"] = build_dense(L["h3"], p["g7/W"], p["g7/b"], "tanh")
    return L


def build_pose_embedding(p, y, variant):
    """f_J(y) (Eq. 3): y (M,51) network units -> (M,E); ``variant`` is the Table 3 row."""
    if variant == "raw":
        return y
    h = build_dense(y, p["h5/W"], p["h5/b"], "relu")
    if variant == "2layer":
        h = build_dense(h, p["h6/W"], p["h6/b"], "relu")
    return h


class StructNet:
    """The network with its parameters as shared variables, and numpy-in/numpy-out calls.

    ``StructNet(config, seed)``; ``save(path)`` / ``StructNet.load(path)`` (HDF5, one
    dataset per parameter ``<layer>/W``, ``<layer>/b``); ``image_embedding``,
    ``pose_embedding``, ``score``, ``predict_pose``.
    """

    def __init__(self, config=None, seed=None):
        self.config = (config or paper()).validated()
        self.seed = self.config.seed if seed is None else int(seed)
        values = init_structnet(self.config, self.seed)
        # static shapes: constant sizes for every backend (JAX needs them for the split of concat)
        self.params = OrderedDict((k, pytensor.shared(v, name=k, shape=v.shape)) for k, v in values.items())
        self._fns = {}
        #: the RGB mean (3,) of the training set, pixel units: what every image fed to this
        #: network has subtracted (saved with the model; None for a model that never trained)
        self.input_mean = None

    # ---------------------------------------------------------------- parameters
    def trainable_names(self, include_conv=True):
        """Names of the parameters a step updates (``param_table``)."""
        return [p.name for p in param_table(self.config) if p.trainable and (include_conv or p.kind != "conv")]

    def fc_weight_names(self):
        """The weight matrices under weight decay (Eq. 12; ``param_table``)."""
        return [p.name for p in param_table(self.config) if p.decay]

    def step_factors(self, names):
        """name -> line-search step factor (config.eps_w or eps_b, ``param_table``)."""
        eps = {p.name: getattr(self.config, p.eps) for p in param_table(self.config)}
        return {n: eps[n] for n in names}

    def get_values(self):
        return OrderedDict((k, v.get_value()) for k, v in self.params.items())

    def set_values(self, values, source=""):
        """Set parameters from ``values`` (name -> array); ``source`` (the file they came from)
        names the file in the one-line error of a parameter of the wrong shape."""
        where = f"{source}: " if source else ""
        for k, v in values.items():
            cur = self.params[k].get_value(borrow=True)
            v = np.asarray(v, dtype=np.float32)
            if v.shape != cur.shape:
                raise UserError(f"{where}parameter {k}: shape {v.shape}, expected {cur.shape}")
            self.params[k].set_value(v)

    def save(self, path):
        """The one parameter file (``structnet.io.save_params``), atomic; its state holds
        the kind, the resolved config, the seed and the training set's RGB mean."""
        state = {"kind": "StructNet", "config": json.loads(self.config.to_json()), "seed": self.seed}
        if self.input_mean is not None:
            state["input_mean"] = [float(v) for v in self.input_mean]
        save_params(path, self.get_values(), state)

    @classmethod
    def load(cls, path, mode=None):
        """Read a file written by ``save`` (or by versions before the one format, with the
        parameters at the file's root); a missing, corrupt or foreign file is a UserError."""
        path = os.fspath(path)
        if not os.path.exists(path):
            raise UserError(f"{path}: no such parameter file")
        try:
            with h5py.File(path, "r") as f:
                legacy = f.attrs.get("format") == LEGACY_FORMAT
                if legacy:
                    state = {"config": f.attrs.get("config"), "seed": f.attrs.get("seed")}
                    params = {k: f[k][()] for k in dataset_names(f)}
        except OSError as e:
            raise UserError(f"{path}: cannot read as HDF5 ({e})") from None
        if not legacy:
            params, state, _ = load_params(path, "StructNet model")
            if state.get("kind") != "StructNet":
                raise UserError(f"{path}: not a StructNet model (kind {state.get('kind')!r})")
        try:
            c = state["config"]
            cfg = Config.from_dict(json.loads(c) if isinstance(c, (str, bytes)) else c)
            seed = state["seed"]
            if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
                raise UserError(f"seed attribute {seed!r} is not a non-negative integer")
        except KeyError as e:
            raise UserError(f"{path}: attribute {e} is missing") from None
        except (ValueError, TypeError) as e:
            raise UserError(f"{path}: config attribute unreadable ({e})") from None
        except UserError as e:
            raise UserError(f"{path}: {e}") from None
        if mode:
            cfg.mode = mode
        net = cls(cfg, int(seed))
        mean = state.get("input_mean")
        if mean is not None:
            try:
                net.input_mean = np.asarray(mean, np.float64).reshape(3)
            except (ValueError, TypeError):
                raise UserError(f"{path}: input_mean {mean!r} is not 3 numbers") from None
            if not np.all(np.isfinite(net.input_mean)):
                raise UserError(f"{path}: input_mean {mean!r} is not finite")
        for k, var in net.params.items():
            if k not in params:
                raise UserError(f"{path}: parameter {k} is missing")
            v = params[k]
            if v.shape != var.get_value(borrow=True).shape:
                raise UserError(f"{path}: parameter {k} has shape {v.shape}, expected {var.get_value(borrow=True).shape}")
            if not np.all(np.isfinite(v)):
                raise UserError(f"{path}: parameter {k} contains NaN or inf")
            var.set_value(v.astype(np.float32))
        return net

    # ---------------------------------------------------------------- compiled calls
    def _fn(self, key):
        if key not in self._fns:
            p = self.params
            if key == "image":
                x = image_input()
                conv = build_conv_features(p, x)
                head = build_image_head(p, conv["pool2_flat"], conv["pool3_flat"])
                self._fns[key] = compile_fn([x], [head["h4"], head["g7"]], mode=self.config.mode)
            elif key == "pose":
                y = pose_input()
                out = build_pose_embedding(p, y, self.config.pose_embedding)
                self._fns[key] = compile_fn([y], out, mode=self.config.mode)
        return self._fns[key]

    def image_outputs(self, images):
        """(f_I(x) (N,E), f_P(x) (N,51) network units) in one pass, in chunks of eval_chunk."""
        x = np.asarray(images)
        if x.ndim != 4 or x.shape[1:] != (3, IMAGE_SIZE, IMAGE_SIZE):
            raise ValueError(f"images must be shaped (N, 3, {IMAGE_SIZE}, {IMAGE_SIZE}), got {x.shape}")
        x = x.astype(np.float32, copy=False)
        f, chunk = self._fn("image"), self.config.eval_chunk
        parts = [f(np.ascontiguousarray(x[i:i + chunk])) for i in range(0, len(x), chunk)]
        if not parts:
            E = self.config.embedding_size
            return np.zeros((0, E), np.float32), np.zeros((0, 51), np.float32)
        return np.concatenate([a for a, _ in parts]), np.concatenate([b for _, b in parts])

    def image_embedding(self, images):
        """f_I(x): images (N,3,112,112) float32 (as the dataset reader gives them) -> (N,E)."""
        return self.image_outputs(images)[0]

    def pose_embedding(self, poses_mm, chunk=65536):
        """f_J(y): poses (M,17,3) root-relative camera frame, mm -> (M,E)."""
        y = P.to_network(poses_mm)
        f = self._fn("pose")
        parts = [f(y[i:i + chunk]) for i in range(0, len(y), chunk)]
        return np.concatenate(parts) if parts else np.zeros((0, self.config.embedding_size), np.float32)

    def score(self, images, poses_mm):
        """f_S(x, y) = <f_I(x), f_J(y)> (Eq. 4): (N, M)."""
        return self.image_embedding(images) @ self.pose_embedding(poses_mm).T

    def predict_pose(self, images):
        """The auxiliary regression f_P(x) (Eq. 10) in mm: (N,17,3) (StructNet-Pred)."""
        return P.from_network(self.image_outputs(images)[1])
