import numpy as np
import pytest

from structnet.geometry import skeleton as S


def test_tables():
    assert len(S.JOINTS) == 17 and list(S.PARENTS) == [-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15]
    assert all(S.MIRROR[S.MIRROR] == np.arange(17))
    assert np.allclose(S.bone_lengths(S.REST_OFFSETS.cumsum(0) * 0 + S.forward_kinematics(
        np.broadcast_to(np.eye(3), (17, 3, 3)), S.REST_OFFSETS)), np.linalg.norm(S.REST_OFFSETS[1:], axis=1))


def test_fk_ik_round_trip():
    rng = np.random.default_rng(0)
    L = S.axis_angle_to_matrix(rng.normal(0, 0.6, (20, 17, 3)))
    root = rng.normal(0, 500, (20, 3))
    P = S.forward_kinematics(L, S.REST_OFFSETS, root)
    L2 = S.inverse_kinematics(P, S.REST_OFFSETS)
    np.testing.assert_allclose(S.forward_kinematics(L2, S.REST_OFFSETS, P[:, 0]), P, atol=1e-6)
    # bone lengths are the offsets' whatever the rotations
    np.testing.assert_allclose(S.bone_lengths(P), np.broadcast_to(np.linalg.norm(S.REST_OFFSETS[1:], axis=1), (20, 16)))


def test_rotation_helpers():
    rng = np.random.default_rng(1)
    v = rng.normal(0, 1, (50, 3))
    R = S.axis_angle_to_matrix(v)
    np.testing.assert_allclose(R @ np.swapaxes(R, 1, 2), np.broadcast_to(np.eye(3), R.shape), atol=1e-12)
    np.testing.assert_allclose(S.axis_angle_to_matrix(S.matrix_to_axis_angle(R)), R, atol=1e-9)
    np.testing.assert_allclose(S.rotation("x", np.pi / 2) @ [0, 0, -1.0], [0, 1, 0], atol=1e-12)
    with pytest.raises(ValueError):
        S.rotation("w", 1.0)
    with pytest.raises(ValueError):
        S.bone_lengths(np.zeros((3, 16, 3)))
