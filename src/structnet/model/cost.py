"""The max-margin cost of Eq. (12), with the most-violated pose found inside the graph.

    L_M = max(0, f_S(x, y_hat) + Delta(y, y_hat) - f_S(x, y))             (6)
    y_hat = argmax_{y' in Y_B} f_S(x, y') + Delta(y, y')                     (7)
    L_P = || f_P(x) - y ||^2                                                  (11)
    cost = mean_i L_M + lam * mean_i L_P + alpha * sum_j ||W_j||_F^2          (12)

The argmax over the C candidates is a max-pooling over candidates (Fig. 2 left): its
index is computed in the graph, the chosen candidate is gathered and its score
recomputed, so the gradient flows through the chosen candidate only (Fig. 2 right)
and the backward pass embeds B poses, not C.
"""
import pytensor.tensor as pt

from structnet.model.network import build_image_head, build_pose_embedding


def build_violated(f_img, f_cand, margins):
    """Eq. (7): index (B,) of argmax_c <f_I(x_b), f_J(y_c)> + Delta_bc; f_cand (C,E), margins (B,C)."""
    return pt.argmax(pt.dot(f_img, f_cand.T) + margins, axis=1)


def build_maxmargin_cost(p, config, pool2, pool3, y, cand, margins, mask=None, fc_weights=(), pre=None,
                         reg_extra=None):
    """Eq. (12) from the conv features. Returns a dict of symbolic scalars and vectors.

    pool2 (B,36864), pool3 (B,6400): conv features; y (B,51) true poses and cand (C,51)
    candidates in network units (mm/1200); margins (B,C) = Delta(y_b, cand_c) in the
    same units; mask: dropout mask (B,1280) or None (dropout off); fc_weights: the
    weight matrices under weight decay. Keys: cost, hinge, aux, reg, violated (B,),
    s_true (B,), s_hat (B,) (s_hat includes the margin). pre: h1's and h2's input products
    given directly (``build_image_head``); reg_extra: a symbolic scalar added to reg (the
    squared norms of weights not in fc_weights, computed elsewhere).
    """
    y, cand, margins = (pt.as_tensor_variable(v) for v in (y, cand, margins))
    head = build_image_head(p, pool2, pool3, mask, pre)
    f_img = head["h4"]
    variant = config.pose_embedding
    idx = build_violated(f_img, build_pose_embedding(p, cand, variant), margins)
    b = pt.arange(y.shape[0])
    s_hat = (f_img * build_pose_embedding(p, cand[idx], variant)).sum(axis=1) + margins[b, idx]
    s_true = (f_img * build_pose_embedding(p, y, variant)).sum(axis=1)
    hinge = pt.maximum(s_hat - s_true, 0).mean()
    aux = ((head["g7"] - y) ** 2).sum(axis=1).mean()
    reg = sum((w ** 2).sum() for w in fc_weights) if fc_weights else pt.constant(0.0)
    if reg_extra is not None:
        reg = reg + reg_extra
    cost = hinge + config.lam * aux + config.alpha * reg
    return {"cost": cost, "hinge": hinge, "aux": aux, "reg": reg, "violated": idx,
            "s_true": s_true, "s_hat": s_hat}
