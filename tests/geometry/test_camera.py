import numpy as np
import pytest

from structnet.geometry import camera as C


def test_calibration_loaded():
    cam = C.get_camera("S9", 1)
    assert cam.id == "55011271" and cam.res == (1000, 1000)
    np.testing.assert_allclose(cam.R @ cam.R.T, np.eye(3), atol=1e-6)
    with pytest.raises(KeyError):
        C.get_camera("S2", 0)


def test_transforms_round_trip():
    cam = C.get_camera("S1", 0)
    X = np.random.default_rng(0).normal(0, 1000, (10, 3))
    np.testing.assert_allclose(C.camera_to_world(C.world_to_camera(X, cam), cam), X, atol=1e-6)
    # the camera centre maps to the origin of the camera frame
    np.testing.assert_allclose(C.world_to_camera(cam.t, cam), 0, atol=1e-9)


def test_projection_hand_computed():
    cam = C.get_camera("S1", 0)
    # on the optical axis: the principal point
    np.testing.assert_allclose(C.project([0, 0, 3000.0], cam), cam.c, atol=1e-9)
    # x = 300, y = -150, z = 3000 -> xy = (0.1, -0.05), r2 = 0.0125
    X = np.array([300.0, -150.0, 3000.0])
    k1, k2, k3 = cam.k
    p1, p2 = cam.p
    r2 = 0.0125
    radial = 1 + k1 * r2 + k2 * r2 ** 2 + k3 * r2 ** 3
    tan = p1 * 0.1 + p2 * -0.05
    u = cam.f[0] * (0.1 * (radial + tan) + p1 * r2) + cam.c[0]
    v = cam.f[1] * (-0.05 * (radial + tan) + p2 * r2) + cam.c[1]
    np.testing.assert_allclose(C.project(X, cam), [u, v], rtol=1e-12)
    with pytest.raises(ValueError):
        C.project([0, 0, -1.0], cam)


def test_people_in_the_capture_area_are_in_view():
    for s in C.SUBJECTS:
        for i in range(4):
            cam = C.get_camera(s, i)
            uv = C.project(C.world_to_camera(np.array([[0, 0, 1000.0]]), cam), cam)[0]
            assert 0 < uv[0] < cam.res[0] and 0 < uv[1] < cam.res[1]
