import numpy as np

from structnet.evaluate import baselines as B
from structnet.geometry.metrics import mpjpe


def _poses(rng, n):
    p = rng.normal(0, 200, (n, 17, 3))
    return p - p[:, :1]                      # root-relative, as the pose set is


def test_floor_and_oracles_against_a_direct_computation():
    rng = np.random.default_rng(0)
    train = _poses(rng, 300)
    test = train[rng.choice(300, 40, replace=False)] + rng.normal(0, 20, (40, 17, 3))
    test -= test[:, :1]
    preds, note = B.reference_predictions(train, train, test, A=(1, 5, 20))
    assert note is None
    # the floor: the mean training pose for every image
    np.testing.assert_allclose(preds[B.FLOOR], np.repeat(train.mean(0)[None], 40, 0))
    # oracles: brute force MPJPE of every (test, train) pair
    d = np.linalg.norm(test[:, None] - train[None], axis=-1).mean(-1)            # (40, 300)
    order = np.argsort(d, axis=1, kind="stable")
    np.testing.assert_allclose(preds[B.oracle_name(1)], train[order[:, 0]], rtol=1e-5)
    for a in (5, 20):
        np.testing.assert_allclose(preds[B.oracle_name(a)], train[order[:, :a]].mean(1), rtol=1e-4, atol=1e-3)
    # the nearest pose is never worse than the mean pose; errors as metrics computes them
    assert mpjpe(preds[B.oracle_name(1)], test) < mpjpe(preds[B.FLOOR], test)
    assert abs(B.mean_pose_error(train, test) - mpjpe(preds[B.FLOOR], test)) < 1e-9
    assert abs(B.oracle_errors(train, test, (1,))[B.oracle_name(1)] - d.min(1).mean()) < 1e-3


def test_an_oracle_of_the_test_poses_themselves_is_zero():
    rng = np.random.default_rng(1)
    test = _poses(rng, 30)
    idx = B.nearest_indices(test, test, 3)
    np.testing.assert_array_equal(idx[:, 0], np.arange(30))


def test_large_pose_sets_are_subsampled(monkeypatch):
    rng = np.random.default_rng(2)
    monkeypatch.setattr(B, "MAX_POSE_SET", 50)
    preds, note = B.reference_predictions(_poses(rng, 60), _poses(rng, 120), _poses(rng, 5), A=(1,))
    assert "random 50" in note and preds[B.oracle_name(1)].shape == (5, 17, 3)


def test_nearest_indices_in_chunks_and_ties_by_index():
    """Chunks of rows in two threads give brute force's order; equal distances go by index."""
    rng = np.random.default_rng(3)
    train, test = _poses(rng, 200), _poses(rng, 45)
    d = np.linalg.norm(test[:, None] - train[None], axis=-1).mean(-1)
    want = np.argsort(d, axis=1, kind="stable")[:, :10]
    np.testing.assert_array_equal(B.nearest_indices(train, test, 10, chunk=7), want)
    twice = np.concatenate([train[:5], train[:5]])          # every pose twice: indices i and i + 5
    idx = B.nearest_indices(twice, train[:5], 2, chunk=2)
    np.testing.assert_array_equal(idx, np.stack([np.arange(5), np.arange(5) + 5], 1))
