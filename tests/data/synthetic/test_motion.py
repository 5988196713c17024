import numpy as np
import pytest

from structnet.data.synthetic import motion as M
from structnet.geometry import skeleton as S


@pytest.mark.parametrize("action", M.ACTIONS)
def test_every_action_is_a_valid_moving_body(action):
    P = M.generate_sequence("S6", action, 1, 4.0, seed=3)
    assert P.shape == (200, 17, 3) and np.all(np.isfinite(P))
    lengths = S.bone_lengths(P)
    assert lengths.std(0).max() < 1e-6                     # rigid bones over the sequence
    assert P[..., 2].min() >= M.ANKLE_HEIGHT - 1e-6          # nothing below the floor
    assert np.abs(np.diff(P, axis=0)).max() < 200            # smooth at 50 fps
    assert P.std(0).mean() > 5                               # it moves


def test_actions_differ_and_seed_is_reproducible():
    a = M.generate_sequence("S1", "Walking", 1, 3.0)
    np.testing.assert_array_equal(a, M.generate_sequence("S1", "Walking", 1, 3.0))
    assert not np.allclose(a, M.generate_sequence("S1", "Walking", 2, 3.0))
    sit = M.generate_sequence("S1", "Sitting", 1, 3.0)
    assert sit[:, 0, 2].mean() < a[:, 0, 2].mean() - 300      # sitting pelvis is low
    walk_speed = np.linalg.norm(np.diff(a[:, 0, :2], axis=0), axis=1).mean() * M.FPS
    assert 500 < walk_speed < 2500                            # mm/s
    with pytest.raises(ValueError):
        M.generate_sequence("S1", "Dancing", 1, 1.0)


def test_subjects_have_different_bodies():
    h = {s: np.linalg.norm(M.subject_body(s)[1:], axis=1).sum() for s in M.TRAIN_SUBJECTS + M.TEST_SUBJECTS}
    assert len({round(v) for v in h.values()}) == 7
    b = M.subject_body("S9")
    np.testing.assert_allclose(np.linalg.norm(b[S.MIRROR], axis=1), np.linalg.norm(b, axis=1))
