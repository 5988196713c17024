import numpy as np
import pytest

from structnet.geometry import poses as P


def test_units_round_trip():
    rng = np.random.default_rng(0)
    p = rng.normal(0, 400, (4, 17, 3))
    y = P.to_network(p)
    assert y.shape == (4, 51) and y.dtype == np.float32
    np.testing.assert_allclose(y[0, 3:6] * 1200, p[0, 1], rtol=1e-5)
    np.testing.assert_allclose(P.from_network(y), p, rtol=1e-5, atol=1e-3)
    with pytest.raises(ValueError):
        P.to_network(np.zeros((4, 16, 3)))


def test_mpjpe_matrix_eq8():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(5, 51)), rng.normal(size=(7, 51))
    direct = np.linalg.norm(a.reshape(5, 1, 17, 3) - b.reshape(1, 7, 17, 3), axis=-1).mean(-1)
    np.testing.assert_allclose(P.mpjpe_matrix(a, b), direct, rtol=1e-5)
    assert np.allclose(np.diag(P.mpjpe_matrix(a, a)), 0, atol=1e-3)


def test_mpjpe_matrix_is_bit_for_bit_the_joint_by_joint_numpy_sum():
    """The compiled margins (geometry/margins.py) equal the NumPy expression they replaced,
    so a seed's margins, and the training they steer, did not change."""
    rng = np.random.default_rng(3)
    a = (rng.random((40, 51)) * 0.6 - 0.3).astype(np.float32)
    b = (rng.random((70, 51)) * 0.6 - 0.3).astype(np.float32)
    A, B = a.reshape(-1, 17, 3), b.reshape(-1, 17, 3)
    want = np.zeros((40, 70), np.float32)
    for j in range(17):
        want += np.sqrt(((A[:, None, j, :] - B[None, :, j, :]) ** 2).sum(-1))
    want /= 17
    np.testing.assert_array_equal(P.mpjpe_matrix(a, b), want)
    assert P.mpjpe_matrix(a[:0], b).shape == (0, 70)
