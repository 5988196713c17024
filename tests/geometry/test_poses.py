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
