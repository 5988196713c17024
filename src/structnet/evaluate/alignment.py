"""Sec. 6's alignment of the embeddings: "97% of the max-score poses for the training images
are within 30 MPJPE of the ground truth". For training images (centre crops, evenly spread
over the set), the best-scoring pose of the pose set (which holds the image's own pose when
it is the training set) against the image's pose: the fraction within 30 mm, and the curve
of that fraction against the threshold."""
import numpy as np

from structnet.geometry import metrics
from structnet.model.inference import top_k

THRESHOLDS_MM = tuple(range(0, 151, 5))


def alignment(net, train, poseset_mm, pose_emb, n=2000, chunk=256, thresholds=THRESHOLDS_MM):
    """{images, within_30mm, median_mm, mean_mm, curve {mm: fraction}} for ``n`` images of the
    dataset ``train``; ``poseset_mm`` (M,17,3) root-relative mm and its embeddings (M,E)."""
    idx = np.unique(np.linspace(0, len(train) - 1, min(n, len(train))).round().astype(int))
    emb = []
    for s in range(0, len(idx), chunk):
        x = train.input_for(net.config, train.read_images(idx[s:s + chunk]))
        emb.append(net.image_outputs(x)[0])
    best, _ = top_k(np.concatenate(emb), pose_emb, 1)
    err = metrics.mpjpe(poseset_mm[best[:, 0]], train.root_relative(idx), per_frame=True)
    return {"images": int(len(idx)), "within_30mm": float(np.mean(err <= 30.0)), "median_mm": float(np.median(err)),
            "mean_mm": float(err.mean()), "curve": {int(t): float(np.mean(err <= t)) for t in thresholds}}
