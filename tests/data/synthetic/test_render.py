import numpy as np

from structnet.geometry import camera as C
from structnet.data.synthetic import motion as M
from structnet.data.synthetic import render as R


def _one(seed):
    P = M.generate_sequence("S5", "Greeting", 1, 1.0)
    cam = C.get_camera("S5", 2)
    rng = np.random.default_rng(seed)
    return R.render(C.world_to_camera(P[10], cam), cam, R.background("S5", 2), R.appearance("S5"),
                    R.random_light(rng), 0.02, rng), P[10], cam


def test_deterministic_for_a_seed():
    (a, pa, ba), _, _ = _one(4)
    (b, pb, bb), _, _ = _one(4)
    (c, _, _), _, _ = _one(5)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.shape == (128, 128, 3) and a.dtype == np.uint8


def test_joints_inside_the_crop_and_body_drawn():
    (img, px, box), P, cam = _one(0)
    assert np.all(px > 0) and np.all(px < 128)
    # the crop box is square, around the projected joints
    uv = C.project(C.world_to_camera(P, cam), cam)
    np.testing.assert_allclose(px, (uv - box[:2]) * 128 / box[2], rtol=1e-5)
    # a body pixel differs from the same pixel of the empty room
    bg = np.empty((128, 128, 3))
    R._sample_background(R.background("S5", 2), box, np.array(cam.res, float), bg)
    pelvis = px[0].astype(int)
    assert np.abs(img[pelvis[1], pelvis[0]] / 255 - bg[pelvis[1], pelvis[0]]).sum() > 0.05


def test_front_and_back_differ():
    P = M.generate_sequence("S1", "Waiting", 1, 1.0)[0]
    cam = C.get_camera("S1", 0)
    rng = np.random.default_rng(0)
    light, look, bg = R.random_light(rng), R.appearance("S1"), R.background("S1", 0)
    centre = P[0] * np.array([1, 1, 0])
    turned = (P - centre) @ np.diag([-1, -1, 1]) + centre       # the body turned 180 deg about z
    a, pa, _ = R.render(C.world_to_camera(P, cam), cam, bg, look, light, 0, rng)
    b, pb, _ = R.render(C.world_to_camera(turned, cam), cam, bg, look, light, 0, rng)
    ha, hb = pa[10].astype(int), pb[10].astype(int)
    face = lambda img, p: img[p[1] + 3:p[1] + 10, p[0] - 3:p[0] + 4].mean((0, 1))
    assert np.abs(face(a, ha) - face(b, hb)).sum() > 20
