"""Compiled functions for one max-margin step (Algorithm 1), shared by training and ``make bench``.

Inputs are numpy arrays in network units: images (B,3,112,112) float32, y (B,51),
cand (C,51), margins (B,C) = Delta(y, cand) (Eq. 8), mask (B,1280) dropout mask.
With frozen convolutions the conv stack runs once per batch (``features``) and every
other call takes its output (pool2 (B,36864), pool3 (B,6400)), so a line search
costs fully connected work only.
"""
from dataclasses import asdict

import numba
import numpy as np
import pytensor
import pytensor.tensor as pt

from structnet.engine.backend import compile_fn, resolve_mode
from structnet.model.cost import build_maxmargin_cost
from structnet.model.network import (CONCAT_WIDTH, POOL2_WIDTH, POOL3_WIDTH, image_input, pose_input, mask_input,
                                     build_conv_features, build_image_head, build_pose_embedding, no_dropout)
from structnet.train.linesearch import best_step

OUTPUTS = ("cost", "hinge", "aux", "reg", "violated")
#: the layers whose inputs stay fixed during a line search (frozen conv features), so that
#: x @ (W - s g) = x @ W - s (x @ g) is two products per batch, not one per step
LINEAR = (("h1", 0), ("h2", 1))


def _inputs(from_features):
    """Symbolic inputs, widths static: no gradient then needs a SpecifyShape to recover its
    parameter's shape (Dot's pullback adds one). Four nodes fewer in the frozen gradient;
    its cold compile hardly moved (34.3 -> 33.8 s)."""
    if from_features:
        x = [pt.matrix("pool2", dtype="float32", shape=(None, POOL2_WIDTH)),
             pt.matrix("pool3", dtype="float32", shape=(None, POOL3_WIDTH))]
    else:
        x = [image_input()]
    return x, pose_input("y"), pose_input("cand"), pt.matrix("margins", dtype="float32")


@numba.njit(cache=True, nogil=True, fastmath={"reassoc"})
def dot_norms(w, g):
    """(|w|^2, <w, g>, |g|^2) of two float32 arrays of one shape, summed in float64 in one
    pass (the products of float32 numbers are exact in float64; the sums reassociated, i.e.
    vectorised). The line search's norms: in the graph, each a float64 temporary of 9.4 M
    numbers and its sum, they took 0.24 of 1.17 s a line search (legacy_notes/speed.md)."""
    w, g = w.ravel(), g.ravel()
    a = b = c = 0.0
    for i in range(w.size):
        x, y = np.float64(w[i]), np.float64(g[i])
        a += x * x
        b += x * y
        c += y * y
    return a, b, c


def _cost(net, xs, y, cand, margins, mask, params=None):
    """Eq. (12) for ``net`` at ``params`` (name -> variable; default its shared parameters:
    a dict of moved ones is the cost at a line-search step, built directly: a graph_replace
    there cloned the gradient's whole graph into every step, and no rewrite merged the
    copies back: 11 gradients per fused batch)."""
    p = net.params if params is None else params
    if len(xs) == 1:
        conv = build_conv_features(p, xs[0])
        f2, f3 = conv["pool2_flat"], conv["pool3_flat"]
    else:
        f2, f3 = xs
    return build_maxmargin_cost(p, net.config, f2, f3, y, cand, margins, mask,
                                [p[n] for n in net.fc_weight_names()])


class StepFunctions:
    """The compiled calls of a training step for ``net``.

    from_features: True = convolutions frozen (inputs are conv features); False = the
    whole network is trained (inputs are images). eps: per-parameter step factors
    (name -> float), default 1 (plain SGD).
    """

    def __init__(self, net, from_features=True, eps=None, profile=False, fused=None):
        """fused: Algorithm 1's batch as one compiled call (``batch``); default: in JAX mode
        only (no host round trips on a device; the CPU modes compile it far slower)."""
        self.fused = resolve_mode(net.config.mode) == "JAX" if fused is None else fused
        self.net = net
        self.profile = profile
        self.from_features = from_features
        self.names = net.trainable_names(include_conv=not from_features)
        self.eps = eps or {n: 1.0 for n in self.names}
        self.gbuf = None
        self._fns = {}

    def _gbuf(self):
        """The gradient buffers (shared, one per trained parameter), made once."""
        if self.gbuf is None:
            shapes = [np.shape(self.net.params[n].get_value(borrow=True)) for n in self.names]
            # float32 and static shapes: every backend, JAX included, sees constant sizes
            self.gbuf = [pytensor.shared(np.zeros(sh, np.float32), name=f"grad:{n}", shape=sh)
                         for n, sh in zip(self.names, shapes)]
        return self.gbuf

    def _get(self, key, *args):
        """The compiled function of graph ``key`` (``_graph_<key>(*args)``): built once per
        object; ``compile_fn`` keeps it on disk between processes where its rules allow."""
        name = (key,) + args
        if name in self._fns:
            return self._fns[name]
        parts = ("StepFunctions", name, self.from_features, tuple(self.names), sorted(self.eps.items()),
                 sorted(asdict(self.net.config).items()))
        shared = {v.name: v for v in list(self.net.params.values()) + self._gbuf()}
        fn = compile_fn(graph=lambda: getattr(self, f"_graph_{key}")(*args), mode=self.net.config.mode,
                        cache=(parts, shared), profile=self.profile)
        self._fns[name] = fn
        return fn

    # the graphs: each -> (inputs, outputs, pytensor.function keywords) ----------------
    def _graph_features(self):
        """images -> the frozen conv features (pool2, pool3 flattened)."""
        img = image_input()
        conv = build_conv_features(self.net.params, img)
        return [img], [conv["pool2_flat"], conv["pool3_flat"]], {}

    def _graph_grad(self):
        """Cost terms and the gradient under a dropout mask (ones: dropout off), the gradient
        into the shared buffers."""
        xs, y, cand, margins = _inputs(self.from_features)
        mask = mask_input()
        out = _cost(self.net, xs, y, cand, margins, mask)
        grads = pytensor.grad(out["cost"], [self.net.params[n] for n in self.names])
        return (xs + [y, cand, margins, mask], [out[k] for k in OUTPUTS],
                {"updates": [(b, pt.cast(g, "float32")) for b, g in zip(self._gbuf(), grads)]})

    def _graph_apply(self):
        """theta <- theta - s * eps * g, g the last gradient (the cast keeps parameters
        float32 where a backend computes in float64: JAX with x64)."""
        s = pt.scalar("step", dtype="float32")
        upd = [(self.net.params[n], pt.cast(self.net.params[n] - (s * np.float32(self.eps[n])) * g, "float32"))
               for n, g in zip(self.names, self._gbuf())]
        return [s], [], {"updates": upd}

    def _graph_trial_prep(self):
        """Per batch, what the line search's costs share (``_linear_trial_cost``): h1's and
        h2's products with W and with g (their squared norms: ``trial_norms``)."""
        xs, _, _, _ = _inputs(self.from_features)
        g = dict(zip(self.names, self._gbuf()))
        outs = []
        for layer, i in LINEAR:
            outs += [pt.dot(xs[i], self.net.params[f"{layer}/W"]), pt.dot(xs[i], g[f"{layer}/W"])]
        return xs, outs, {}

    def trial_norms(self):
        """float64 (6,): |W|^2, <W, g>, |g|^2 of h1, then of h2, g the last gradient
        (``dot_norms``, outside the graph: the CPU modes' line search)."""
        g = dict(zip(self.names, self._gbuf()))
        return np.array([v for layer, _ in LINEAR
                         for v in dot_norms(self.net.params[f"{layer}/W"].get_value(borrow=True),
                                            g[f"{layer}/W"].get_value(borrow=True))], np.float64)

    def _graph_trial(self):
        """The cost at theta - s * eps * g, dropout off (the line search): through the linear
        expansion (``_linear_trial_cost``) when h1 and h2 train on frozen features, else every
        trained parameter moved in the graph."""
        self._gbuf()
        _, y, cand, margins = _inputs(True)
        s = pt.scalar("step", dtype="float32")
        if self._linear_trial():
            prods = {layer: tuple(pt.matrix(f"{layer}_{t}", dtype="float32",
                                            shape=(None, self.net.params[f"{layer}/W"].type.shape[1]))
                                  for t in ("xW", "xg")) for layer, _ in LINEAR}
            norms = pt.vector("norms", dtype="float64")
            cost = self._linear_trial_cost(s, prods, norms, y, cand, margins, dict(zip(self.names, self.gbuf)))
            return [v for layer, _ in LINEAR for v in prods[layer]] + [norms, y, cand, margins, s], cost, {}
        xs, y, cand, margins = _inputs(self.from_features)
        out = _cost(self.net, xs, y, cand, margins, None, self._moved(s, dict(zip(self.names, self.gbuf))))
        return xs + [y, cand, margins, s], out["cost"], {}

    def _moved(self, s, grads, skip=()):
        """The parameters at theta - s * eps * g (name -> variable), those in ``skip`` unmoved."""
        p = dict(self.net.params)
        p.update({n: p[n] - (s * np.float32(self.eps[n])) * grads[n] for n in self.names if n not in skip})
        return p

    def _graph_embed(self):
        """f_I and f_P from the conv features (or the images), dropout off."""
        p = self.net.params
        xs, _, _, _ = _inputs(self.from_features)
        if self.from_features:
            head = build_image_head(p, xs[0], xs[1])
        else:
            conv = build_conv_features(p, xs[0])
            head = build_image_head(p, conv["pool2_flat"], conv["pool3_flat"])
        return xs, [head["h4"], head["g7"]], {}

    def _graph_forward(self):
        """Scores of a batch of images against candidates, dropout off."""
        p = self.net.params
        img, cand = image_input(), pose_input("cand")
        conv = build_conv_features(p, img)
        head = build_image_head(p, conv["pool2_flat"], conv["pool3_flat"])
        fj = build_pose_embedding(p, cand, self.net.config.pose_embedding)
        return [img, cand], pt.dot(head["h4"], fj.T), {}

    def _linear_trial(self):
        """The line search's costs from ``trial_prep``: frozen features, h1 and h2 trained."""
        return self.from_features and all(f"{layer}/W" in self.names for layer, _ in LINEAR)

    def _linear_trial_cost(self, s, prods, norms, y, cand, margins, grads):
        """Symbolic cost at theta - s * eps * g, dropout off (the line search, Sec. 5.3), with
        h1's and h2's products and squared norms expanded in s: pool @ (W - s e g) = A - s e G
        and ||W - s e g||^2 = |W|^2 - 2 s e <W, g> + (s e)^2 |g|^2. prods: {layer: (A, G)};
        norms: the six squared norms and inner products (|W|^2, <W, g>, |g|^2 of h1, of h2);
        grads: name -> the gradient (shared buffers or an expression). The 16 M weights of
        h1 and h2 are neither moved nor read per step."""
        net = self.net
        pre, extra = {}, []
        for k, (layer, _) in enumerate(LINEAR):
            A, G = prods[layer]
            se = s * np.float32(self.eps[f"{layer}/W"])
            pre[layer] = A - se * G
            se_n = pt.cast(se, norms.dtype)
            extra.append(norms[3 * k] - 2 * se_n * norms[3 * k + 1] + se_n ** 2 * norms[3 * k + 2])
        linear_w = {f"{layer}/W" for layer, _ in LINEAR}
        pm = self._moved(s, grads, skip=linear_w)
        out = build_maxmargin_cost(pm, net.config, None, None, y, cand, margins, None,
                                   [pm[n] for n in net.fc_weight_names() if n not in linear_w], pre=pre,
                                   reg_extra=sum(extra))
        return out["cost"]

    def batch_layout(self, batch, n_cand, n_steps):
        """The fused batch's one input vector: [(name, shape)] of images, y, cand, margins,
        mask and the grid, in order (float32, concatenated flat)."""
        return [("images", (batch, 3, 112, 112)), ("y", (batch, 51)), ("cand", (n_cand, 51)),
                ("margins", (batch, n_cand)), ("mask", (batch, CONCAT_WIDTH)), ("grid", (n_steps,))]

    def _graph_batch(self, batch, n_cand, n_steps):
        """One Algorithm-1 batch in one compiled call, one transfer each way: a float32 vector
        of images, poses, candidates, margins, dropout mask and step grid in (``batch_layout``);
        the frozen conv features; the gradient with dropout off; the cost at every step of the
        grid through the linear expansion of ``_linear_trial_cost`` (h1's and h2's products
        and norms once per batch, not per step); the best step (the first of the lowest
        finite costs); the update with dropout on at that step; a float32 vector out (cost,
        hinge, aux, reg, the B violated indices, the trial costs, the best step's index, the
        update's cost). The parameters stay where the backend keeps them (a device)."""
        net, p = self.net, self.net.params
        lay = self.batch_layout(batch, n_cand, n_steps)
        total = sum(int(np.prod(shape)) for _, shape in lay)
        packed = pt.vector("packed", dtype="float32", shape=(total,))
        parts, off = {}, 0
        for name, shape in lay:
            n = int(np.prod(shape))
            parts[name] = packed[off:off + n].reshape(shape)
            off += n
        img, y, cand, margins, mask, grid = (parts[k] for k in ("images", "y", "cand", "margins", "mask", "grid"))
        conv = build_conv_features(p, img)
        xs = [conv["pool2_flat"], conv["pool3_flat"]]
        params = [p[n] for n in self.names]
        out = _cost(net, xs, y, cand, margins, None)
        grads = dict(zip(self.names, pytensor.grad(out["cost"], params)))
        if self._linear_trial():
            prods, norms = {}, []
            for layer, i in LINEAR:
                W, g = p[f"{layer}/W"], grads[f"{layer}/W"]
                prods[layer] = (pt.dot(xs[i], W), pt.dot(xs[i], g))
                norms += [(a * b).sum(dtype="float32", acc_dtype="float32") for a, b in ((W, W), (W, g), (g, g))]
            norms = pt.stack(norms)
            trials = [self._linear_trial_cost(grid[k], prods, norms, y, cand, margins, grads) for k in range(n_steps)]
        else:
            trials = [_cost(net, xs, y, cand, margins, None, self._moved(grid[k], grads))["cost"]
                      for k in range(n_steps)]
        trials = pt.cast(pt.stack(trials), "float32")
        best = pt.argmin(pt.switch(pt.isfinite(trials), trials, np.float32(np.inf)))
        s = grid[best]
        if self.dropout:
            out_u = _cost(net, xs, y, cand, margins, mask)
            grads_u = pytensor.grad(out_u["cost"], params)
        else:       # no dropout: the update's gradient is the line search's (``dropout``)
            out_u, grads_u = out, [grads[n] for n in self.names]
        upd = [(v, pt.cast(v - (s * np.float32(self.eps[n])) * g, "float32"))
               for n, v, g in zip(self.names, params, grads_u)]
        f32 = [pt.cast(out[k], "float32") for k in ("cost", "hinge", "aux", "reg")]
        result = pt.concatenate([pt.stack(f32), pt.cast(out["violated"], "float32"), trials,
                                 pt.stack([pt.cast(best, "float32"), pt.cast(out_u["cost"], "float32")])])
        return [packed], result, {"updates": upd}

    def batch(self, images, y, cand, margins, mask, grid):
        """One Algorithm-1 batch (``_graph_batch``) -> dict: cost, hinge, aux, reg,
        violated (B,) candidate indices, trial_costs (len(grid),), step, update_cost."""
        grid = np.asarray(grid, np.float32)
        B, C, n = len(images), len(cand), len(grid)
        packed = np.concatenate([np.asarray(a, np.float32).reshape(-1) for a in (images, y, cand, margins, mask, grid)])
        r = np.asarray(self._get("batch", B, C, n)(packed))
        out = {"cost": r[0], "hinge": r[1], "aux": r[2], "reg": r[3], "violated": r[4:4 + B].astype(np.int64)}
        trials, (best, ucost) = r[4 + B:4 + B + n], r[4 + B + n:]
        out.update(trial_costs=[float(c) for c in trials], step=float(grid[int(best)]), update_cost=float(ucost))
        return out

    def compile_all(self, keys=("features", "grad", "apply", "trial_prep", "trial")):
        for k in keys:
            if (k == "features" and not self.from_features) or (k == "trial_prep" and not self._linear_trial()):
                continue
            self._get(k)

    # numpy in, numpy out ---------------------------------------------------------
    def features(self, images):
        # float32 whatever the backend computed in (JAX runs with 64-bit types enabled)
        return [np.asarray(a, np.float32) for a in self._get("features")(images)]

    @property
    def dropout(self):
        """Whether the update's dropout mask differs from the line search's (keep_prob < 1).
        Without dropout the update's gradient is the one ``grad`` just left in the buffers
        (the same graph on the same inputs: bit for bit), so Algorithm 1 applies it
        (``apply``) instead of computing it twice (``update``)."""
        return self.net.config.keep_prob < 1

    def apply(self, step):
        """theta <- theta - step * eps * g, g the gradient in the buffers (the last ``grad``)."""
        self._get("apply")(np.float32(step))

    def update(self, xs, y, cand, margins, mask, step):
        """One SGD step with dropout mask ``mask``: the gradient (``grad``), then the parameters
        moved by step * eps * gradient (``apply``). Returns the cost terms before the step."""
        r = self.grad(xs, y, cand, margins, mask)
        self.apply(step)
        return r

    def grad(self, xs, y, cand, margins, mask=None):
        """Cost terms, and the gradient into ``gbuf``; ``mask=None``: dropout off."""
        if mask is None:
            mask = no_dropout(len(y))
        r = self._get("grad")(*xs, y, cand, margins, mask)
        return dict(zip(OUTPUTS, r))

    def trial(self, xs, y, cand, margins, step):
        """Cost at theta - step * eps * g (g the last ``grad``), dropout off. For many steps
        on one batch use ``line_search`` (its per-batch part once)."""
        return self.line_search(xs, y, cand, margins, [step])[1][0]

    def line_search(self, xs, y, cand, margins, grid):
        """(best step, cost at each step of ``grid``) for the last ``grad`` (Sec. 5.3;
        ``structnet.train.linesearch.best_step``)."""
        trial = self._get("trial")
        if self._linear_trial():
            args = list(self._get("trial_prep")(*xs)) + [self.trial_norms()]
        else:
            args = list(xs)
        return best_step(lambda s: float(trial(*args, y, cand, margins, np.float32(s))), grid)

    def embed(self, xs):
        """(f_I (B,E), f_P (B,51)) from conv features (frozen convolutions) or images."""
        return [np.asarray(a, np.float32) for a in self._get("embed")(*xs)]

    def forward(self, images, cand):
        return self._get("forward")(images, cand)
