"""``make figures``: Figure 3 (error against A) and Figure 4 (the embeddings), as PNG.

Figure 4 follows Sec. 6: on the training images of one subject, (a) the two image-
embedding features of highest variance with the mean image of each region of the
plane, (b) the same two features of the pose embedding with the mean pose of each
region, (c, d) the two leading PCA components of the image and pose embeddings. It also
measures how well those components encode body orientation (the yaw of the body in the
camera frame): the R^2 of a linear fit of (cos yaw, sin yaw) from the two components,
written to ``embedding.json`` for the claims table.
"""
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from structnet.geometry import skeleton as S  # noqa: E402
from structnet.data.dataset import Dataset  # noqa: E402
from structnet.model.network import StructNet  # noqa: E402
from structnet.io import atomic_write, write_json  # noqa: E402


def _save(fig, path):
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png"))
    plt.close(fig)


def figure3(results_json, out):
    with open(results_json) as f:
        res = json.load(f)
    sweep = sorted((int(a), v) for a, v in res["avg_sweep"].items())
    A, e = [a for a, _ in sweep], [v for _, v in sweep]
    fig, ax = plt.subplots(figsize=(5, 3.4))
    ax.semilogx(A, e, "o-", label="StructNet-Avg(A)")
    mx = res["methods"]["StructNet-Max"]["all"][0]
    ax.axhline(mx, color="grey", ls="--", label="StructNet-Max")
    ax.set_xlabel("A (top-scoring training poses averaged)")
    ax.set_ylabel("MPJPE (mm)")
    ax.set_title(f"Error against A ({res['pose_set']} poses in the pose set)")
    ax.legend()
    _save(fig, out)
    return out


def learning_figure(run_dir, eval_json, out):
    """figures/learning.png: held-out MPJPE against batch for pre-training (DconvMP-HML's
    regression head) and training (StructNet-Max, -Avg(20), -Pred), with the mean-pose floor
    and the pose set's ceilings (nearest pose; mean of the 20 nearest) as lines."""
    curves = {}
    for phase in ("pretrain", "train"):
        p = os.path.join(run_dir, phase, "results.json")
        if os.path.exists(p):
            with open(p) as f:
                curves[phase] = json.load(f).get("curve") or []
    if not any(curves.values()):
        return None
    ref = {}
    if eval_json and os.path.exists(eval_json):
        with open(eval_json) as f:
            ref = {k: v["all"][0] for k, v in json.load(f).get("reference", {}).items()}
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    for ax, (phase, title) in zip(axes, (("pretrain", "pre-training (DconvMP-HML)"),
                                         ("train", "StructNet training (Algorithm 1)"))):
        pts = curves.get(phase) or []
        names = list(pts[-1]["mpjpe"]) if pts else []
        for name in names:
            xs = [p["step"] for p in pts if name in p["mpjpe"]]
            ax.plot(xs, [p["mpjpe"][name] for p in pts if name in p["mpjpe"]], "o-", ms=3, label=name)
        styles = {"mean training pose (floor)": ("k", "--"), "nearest training pose (oracle)": ("m", ":"),
                  "mean of 20 nearest training poses (oracle)": ("g", ":")}
        for k, (color, ls) in styles.items():
            if k in ref:
                ax.axhline(ref[k], color=color, ls=ls, lw=1, label=k + " (test set)")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("batch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    axes[0].set_ylabel("held-out MPJPE (mm)")
    _save(fig, out)
    return out


def body_yaw(poses):
    """(N,17,3) camera-frame poses -> (N,) yaw of the body: 0 facing the camera."""
    up = poses[:, 8] - poses[:, 0]
    right = poses[:, 1] - poses[:, 4]
    fwd = np.cross(up, right)
    return np.arctan2(fwd[:, 0], -fwd[:, 2])


def r2_orientation(comps, yaw):
    """Mean R^2 of linear fits of cos(yaw) and sin(yaw) from the columns of comps."""
    X = np.column_stack([comps, np.ones(len(comps))])
    r2 = []
    for t in (np.cos(yaw), np.sin(yaw)):
        coef, *_ = np.linalg.lstsq(X, t, rcond=None)
        r2.append(1 - ((X @ coef - t) ** 2).sum() / ((t - t.mean()) ** 2).sum())
    return float(np.mean(r2))


def _pca2(x):
    xc = x - x.mean(0)
    _, _, vt = np.linalg.svd(xc, full_matrices=False)
    return xc @ vt[:2].T


def _regions(ax, xy, draw, grid=5):
    lo, hi = np.percentile(xy, 1, axis=0), np.percentile(xy, 99, axis=0)
    ax.scatter(xy[:, 0], xy[:, 1], s=2, c="lightgrey", zorder=0)
    cell = (hi - lo) / grid
    for i in range(grid):
        for j in range(grid):
            a = lo + cell * [i, j]
            m = np.all((xy >= a) & (xy < a + cell), axis=1)
            if m.sum() >= 3:
                draw(ax, m, (a[0], a[0] + cell[0], a[1], a[1] + cell[1]))
    ax.set_xlim(lo[0] - cell[0] * 0.1, hi[0] + cell[0] * 0.1)
    ax.set_ylim(lo[1] - cell[1] * 0.1, hi[1] + cell[1] * 0.1)


def figure4(model_path, data_dir, out, json_out, subject=None, n=1500, seed=0, alignment=None):
    """Figure 4: the leading components of the image and pose embeddings of one subject's
    training images; ``alignment`` (eval's Sec. 6 measure) is written under the title."""
    ds = Dataset(os.path.join(data_dir, "train.h5"))
    net = StructNet.load(model_path)
    subj = subject or int(ds.meta["subject"][0])
    rows = np.flatnonzero(ds.meta["subject"] == subj)
    rows = np.sort(np.random.default_rng(seed).choice(rows, min(n, len(rows)), replace=False))
    imgs = ds.read_images(rows)
    f_img = net.image_embedding(ds.input_for(net.config, imgs))
    rel = ds.root_relative(rows)
    f_pose = net.pose_embedding(rel)
    yaw = body_yaw(ds.poses[rows])
    top = np.argsort(-f_img.var(0))[:2]
    panels = [("(a) image embedding, top-2 variance features", f_img[:, top], "img"),
              ("(b) pose embedding, the same features", f_pose[:, top], "pose"),
              ("(c) image embedding, PCA", _pca2(f_img), "img"),
              ("(d) pose embedding, PCA", _pca2(f_pose), "pose")]

    def draw_img(ax, m, ext):
        ax.imshow(imgs[m].mean(0).astype(np.uint8), extent=(ext[0], ext[1], ext[2], ext[3]), zorder=1)

    def draw_pose(ax, m, ext):
        p = rel[m].mean(0)
        sc = 0.8 * min(ext[1] - ext[0], ext[3] - ext[2]) / 1800.0
        cx, cy = (ext[0] + ext[1]) / 2, (ext[2] + ext[3]) / 2
        for a, b in S.BONES:
            col = "tab:blue" if b in S.LEFT else "tab:red" if b in S.RIGHT else "k"
            ax.plot([cx + p[a, 0] * sc, cx + p[b, 0] * sc], [cy - p[a, 1] * sc, cy - p[b, 1] * sc], col, lw=1)

    fig, axes = plt.subplots(2, 2, figsize=(11, 10))
    for ax, (title, xy, kind) in zip(axes.ravel(), panels):
        _regions(ax, xy, draw_img if kind == "img" else draw_pose)
        ax.set_title(title, fontsize=10)
        ax.set_aspect("auto")
    title = f"Embeddings of S{subj}'s training images ({len(rows)}); mean image / mean pose per region"
    if alignment:
        title += (f"\nAlignment (Sec. 6): the max-score pose lies within 30 mm of the image's pose for "
                  f"{100 * alignment['within_30mm']:.1f}% of {alignment['images']} training images (paper: 97%)")
    fig.suptitle(title)
    _save(fig, out)
    stats = {"model": os.fspath(model_path), "subject": subj, "images": len(rows),
             "orientation_r2_top_var_image": r2_orientation(f_img[:, top], yaw),
             "orientation_r2_top_var_pose": r2_orientation(f_pose[:, top], yaw),
             "orientation_r2_pca_image": r2_orientation(panels[2][1], yaw),
             "orientation_r2_pca_pose": r2_orientation(panels[3][1], yaw)}
    if alignment:
        stats["alignment_within_30mm"] = alignment["within_30mm"]
    write_json(json_out, stats)
    return stats
