"""geometry/margins.py: the compiled margins (Eq. 8) are the NumPy joint-by-joint sum, bit for bit."""
import numpy as np

from structnet.geometry import poses as P


def test_margins_are_bit_for_bit_the_joint_by_joint_numpy_sum():
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
