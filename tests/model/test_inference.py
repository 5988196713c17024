"""model/inference.py: top-k over a pose set in chunks, StructNet-Max, -Avg(A), hypotheses."""
import numpy as np

from structnet.model.inference import hypotheses, structnet_avg, structnet_max, top_k


def test_top_k_streams_chunks():
    rng = np.random.default_rng(1)
    img, pose = rng.normal(size=(9, 8)).astype(np.float32), rng.normal(size=(500, 8)).astype(np.float32)
    idx, sc = top_k(img, pose, 7, chunk=64)
    full = img @ pose.T
    np.testing.assert_array_equal(idx, np.argsort(-full, axis=1)[:, :7])
    np.testing.assert_allclose(sc, -np.sort(-full, axis=1)[:, :7], rtol=1e-6)
    poses = rng.normal(size=(500, 17, 3))
    np.testing.assert_array_equal(structnet_max(idx, poses), poses[idx[:, 0]])
    np.testing.assert_allclose(structnet_avg(idx, poses, 3), poses[idx[:, :3]].mean(1))
    h, s = hypotheses(idx, sc, poses, 4)
    assert h.shape == (9, 4, 17, 3) and np.all(np.diff(s, axis=1) <= 0)
