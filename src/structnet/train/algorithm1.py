"""Algorithm 1 of the paper (Sec. 4): max-margin training of StructNet, ``make train``.

One batch, as the paper's pseudocode (``algorithm1_batch``):

    sample C candidate poses from the pose space Y; add the K most frequent most-violated
    poses of the working set;
    for each image, the most-violated pose: argmax over candidates of score + margin
      (margin = MPJPE, Eq. 7), a max-pooling inside the graph (StepFunctions.grad);
    gradient of the cost (Eq. 12) with the image features frozen (pre-trained convolutions);
    line search: the step of the grid 10^-7 .. 10^2 with the lowest cost (Sec. 5.3);
    update the parameters with dropout on; add the most-violated poses to the working set.

``TrainPhase`` runs it in ``structnet.train.loop.run_phase``; the start from a pre-trained
DconvMP-HML (convolutions, and with ``init_fc_from_pretrain`` the image head) is here too.
"""
import os
from dataclasses import asdict

import numpy as np

from structnet.errors import UserError
from structnet.geometry import metrics
from structnet.geometry import poses as P
from structnet.io import load_params
from structnet.model.network import CONV_NAMES, StructNet
from structnet.train.batches import TrainBatches
from structnet.train.linesearch import step_grid
from structnet.train.loop import Phase, check_finite, held_out, n_batches, open_data, run_phase
from structnet.train.runs import log_records
from structnet.train.steps import StepFunctions
from structnet.train.workingset import WorkingSet


def algorithm1_batch(steps, ws, poseset, x, y, cand_idx, mask, k_most_violated, grid, where, ckpt="",
                     margins=None):
    """One batch of Algorithm 1. x (B,3,112,112) images, y (B,51) their poses (network
    units), cand_idx (C,) sampled candidate indices into poseset (N,51), mask (B,1280) the
    dropout mask of the update; margins (B,C): Delta(y, poseset[cand_idx]) when the feed
    computed them (``structnet.train.batches.TrainBatches``). Returns the log record (cost
    terms, chosen step, trial costs) and the number of image-candidate pairs scored."""
    top = ws.most_frequent(k_most_violated)
    if len(top) < k_most_violated:
        # an empty working set (the first batch) gives fewer than K: pad with sampled
        # candidates, which a repeat leaves every argmax and cost as they are, so that the
        # candidate count, and with it every compiled shape (JAX), is C + K from the start
        top = np.concatenate([top, cand_idx[:k_most_violated - len(top)]])
    if margins is None:
        margins = P.mpjpe_matrix(y, poseset[cand_idx])
    cand_idx = np.concatenate([cand_idx, top])                                  # C + K candidates
    cand = poseset[cand_idx]
    margins = np.concatenate([margins, P.mpjpe_matrix(y, poseset[top])], axis=1)  # Delta(y_i, y), Eq. 8
    if steps.fused:
        # one compiled call (StepFunctions.batch): frozen conv features; the most-violated
        # pose of each image, argmax over candidates of score + margin (a max-pooling in the
        # graph), and the gradient, dropout off; the cost at every step of the grid (line
        # search); the update with dropout on at the best step
        r = steps.batch(x, y, cand, margins, mask, grid)
        check_finite(float(r["cost"]), where, ckpt)
        check_finite(r["update_cost"], where, ckpt)
    else:
        # the same in separate calls (CPU modes: the fused graph compiles for a minute more)
        feats = steps.features(x)                                           # frozen conv features
        r = steps.grad(feats, y, cand, margins)       # most-violated poses and the gradient, dropout off
        check_finite(float(r["cost"]), where, ckpt)
        r["step"], r["trial_costs"] = steps.line_search(feats, y, cand, margins, grid)
        if steps.dropout:
            u = steps.update(feats, y, cand, margins, mask, r["step"])      # dropout on, the chosen step
            check_finite(float(u["cost"]), where, ckpt)
        else:
            steps.apply(r["step"])          # no dropout: the gradient just computed, bit for bit
    ws.add(cand_idx[r["violated"]])                                             # the working set
    rec = {"cost": float(r["cost"]), "hinge": float(r["hinge"]), "aux": float(r["aux"]), "reg": float(r["reg"]),
           "step": r["step"], "best_trial_cost": float(min(r["trial_costs"])), "trial_costs": r["trial_costs"]}
    return rec, len(x) * len(cand)


def line_search_stats(log_path, grid):
    """How often each step of the grid was chosen, over every batch of the run's log."""
    chosen = [r["step"] for r in log_records(log_path)
              if r.get("phase") == "train" and "step" in r and "event" not in r]
    keys = [f"{g:.0e}" for g in grid]
    if len(set(keys)) < len(keys):                       # a finer grid than a step a decade
        keys = [f"{g:.3g}" for g in grid]
    counts = {k: int(np.sum(np.isclose(chosen, g))) for k, g in zip(keys, grid)}
    top = counts[keys[-1]]
    return {"batches": len(chosen), "chosen": counts, "top_of_grid_fraction": top / len(chosen) if chosen else None}


def fc_from_pretrained(path, values):
    """StructNet's image head started from DconvMP-HML's regression head (deviation 19):
    h2 <- r1 (pool3 -> 1024), h3's rows for h2 <- r2 (1024 -> 2048), g7 <- r3 (2048 -> 51).
    h1, h3's rows for h1 (kept at their random init), h4 and the pose branch are untouched.
    With h1's rows of h3 at zero this network's f_P(x) would equal DconvMP-HML's output."""
    params, _, _ = load_params(path, "pre-trained model")
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


def load_pretrained_convs(path):
    """Conv weights from a pre-training run's model.h5 (or checkpoint)."""
    params, _, _ = load_params(path, "pre-trained model")
    convs = {k: v for k, v in params.items() if k.split("/")[0] in CONV_NAMES}
    if len(convs) != 2 * len(CONV_NAMES):
        raise UserError(f"{path}: no pre-trained convolution weights")
    return convs


def start_from_pretrained(net, path):
    """StructNet as training starts it: the pre-trained convolutions (and, with
    init_fc_from_pretrain, the image head of ``fc_from_pretrained``) from ``path``."""
    net.set_values(load_pretrained_convs(path), path)
    if net.config.init_fc_from_pretrain:
        net.set_values(fc_from_pretrained(path, net.get_values()), path)
    return net


class TrainPhase(Phase):
    """Algorithm 1 as a phase of ``structnet.train.loop.run_phase``."""
    name, rate = "train", "candidates_per_s"

    def __init__(self, cfg, pretrained):
        self.cfg, self.ds = cfg, open_data(cfg)
        self.net = StructNet(cfg, cfg.seed)
        self.net.input_mean = self.ds.rgb_mean                # saved with the model: predict feeds it
        self.poseset_mm = self.ds.root_relative()
        self.poseset = P.to_network(self.poseset_mm)          # the pose space Y: every training pose
        self.ws = WorkingSet(len(self.poseset))
        if pretrained:
            start_from_pretrained(self.net, pretrained)
        self.epochs, self.nb = cfg.epochs, n_batches(cfg, len(self.ds))
        self.C = min(cfg.n_candidates, len(self.poseset))
        self.grid = step_grid(cfg.step_min_exp, cfg.step_max_exp, cfg.step_per_decade)
        self.steps = None
        self.held = held_out(cfg, cfg.curve_every)
        self.curve_every = cfg.curve_every if self.held is not None else 0
        self._held_feats = None

    def params(self):
        return self.net.params

    def restore(self, ckpt, params, state, arrays):
        if "working_set" not in arrays or arrays["working_set"].shape != (len(self.poseset),):
            raise UserError(f"{ckpt}: working set missing or not of {len(self.poseset)} counts (the pose set)")
        self.net.set_values(params, ckpt)
        self.ws = WorkingSet(len(self.poseset), arrays["working_set"])

    def _steps(self):
        if self.steps is None:
            self.steps = StepFunctions(self.net, from_features=True,
                                       eps=self.net.step_factors(self.net.trainable_names(False)))
        return self.steps

    def batches(self):
        return TrainBatches(self.cfg, self.ds.path, self.C)

    def step(self, batch, step_no, where, ckpt):
        return algorithm1_batch(self._steps(), self.ws, self.poseset, batch["x"], batch["y"], batch["cand_idx"],
                                batch["mask"], self.cfg.k_most_violated, self.grid, where, ckpt, batch["margins"])

    def curve(self):
        if self.held is None:
            return None
        from structnet.model.inference import structnet_avg, top_k
        steps, held = self._steps(), self.held
        if self._held_feats is None:
            self._held_feats = [np.concatenate(a) for a in zip(*(steps.features(held.x[i:i + 128])
                                                                 for i in range(0, len(held), 128)))]
        f_img, g7 = steps.embed(self._held_feats)
        idx, _ = top_k(f_img, self.net.pose_embedding(self.poseset_mm), min(20, len(self.poseset_mm)))
        errs = {"StructNet-Max": metrics.mpjpe(self.poseset_mm[idx[:, 0]], held.gt)}
        if idx.shape[1] == 20:
            errs["StructNet-Avg(20)"] = metrics.mpjpe(structnet_avg(idx, self.poseset_mm, 20), held.gt)
        errs["StructNet-Pred"] = metrics.mpjpe(P.from_network(g7), held.gt)
        return errs

    def checkpoint(self):
        return {}, {"working_set": self.ws.counts}

    def finish(self, run_dir):
        self.net.save(os.path.join(run_dir, "model.h5"))
        return {"batch_size": self.cfg.batch_size,
                "working_set_top": self.ws.most_frequent(self.cfg.k_most_violated).tolist(),
                "line_search": line_search_stats(os.path.join(run_dir, "log.jsonl"), self.grid)}


def run_train(cfg, run_dir, pretrained=None, resume=False, feed_workers=0):
    """Algorithm 1 with frozen pre-trained convolutions; writes the run directory.
    ``feed_workers``: processes making the batches (``structnet.data.feed``; 0: a thread)."""
    return run_phase(TrainPhase(cfg, pretrained), run_dir, resume, asdict(cfg) | {"pretrained": pretrained or ""},
                     feed_workers)
