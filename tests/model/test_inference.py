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


def test_pose_set_cache_follows_the_model(tmp_path):
    """The cache beside model.h5 is keyed by the pose branch's parameters too: another
    training into the same directory does not read the old model's embeddings."""
    from structnet.config import quick
    from structnet.model.inference import pose_set_embeddings
    from structnet.model.network import StructNet
    poses = np.random.default_rng(0).normal(0, 300, (50, 17, 3))
    cache = tmp_path / "emb.h5"
    a, b = StructNet(quick(), 0), StructNet(quick(), 1)
    ea = pose_set_embeddings(a, poses, cache)
    eb = pose_set_embeddings(b, poses, cache)                  # another model: recomputed
    np.testing.assert_array_equal(eb, b.pose_embedding(poses))
    assert not np.array_equal(ea, eb)
    np.testing.assert_array_equal(pose_set_embeddings(b, poses, cache), eb)   # and read back
