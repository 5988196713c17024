import numpy as np
import pytest

from structnet.evaluate import apf
from structnet.geometry import metrics
from structnet.data.synthetic import motion as M
from structnet.geometry import skeleton as S
from structnet.model.inference import hypotheses, structnet_avg, structnet_max, top_k


def test_mpjpe_and_p_mpjpe():
    rng = np.random.default_rng(0)
    gt = rng.normal(0, 300, (5, 17, 3))
    shifted = gt + [100.0, 0, 0]                       # a translation: root-relative error 0
    assert metrics.mpjpe(shifted, gt) == pytest.approx(0, abs=1e-9)
    moved = gt.copy()
    moved[:, 5] += [0, 30.0, 40.0]                     # one joint off by 50 mm
    assert metrics.mpjpe(moved, gt) == pytest.approx(50 / 17)
    np.testing.assert_allclose(metrics.mpjpe(moved, gt, per_frame=True), 50 / 17)
    R = S.rotation("z", 0.7) @ S.rotation("x", -0.3)
    sim = 1.3 * gt @ R.T + [5, -7, 9]
    assert metrics.p_mpjpe(sim, gt) == pytest.approx(0, abs=1e-6)
    assert metrics.mpjpe(sim, gt) > 50
    assert metrics.per_joint_errors(moved, gt).shape == (5, 17)
    with pytest.raises(ValueError):
        metrics.mpjpe(gt[:4], gt)


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


def test_apf_returns_a_valid_pose_of_the_template_close_to_the_target():
    seq = M.generate_sequence("S11", "Discussion", 1, 2.0)
    rel = seq - seq[:, :1]
    template = apf.subject_template(rel)
    truth = rel[::20][:5]
    # an Avg(A)-like target: the mean of nearby poses (its bones are not rigid); start from one of them
    target_avg = np.stack([rel[max(0, i - 6):i + 7].mean(0) for i in range(0, 100, 20)])
    init = rel[[min(i + 6, len(rel) - 1) for i in range(0, 100, 20)]]
    rng = np.random.default_rng(0)
    out, err = apf.fit(target_avg, init, template, rng, layers=8, particles=150)
    np.testing.assert_allclose(S.bone_lengths(out), np.broadcast_to(np.linalg.norm(template[1:], axis=1), (5, 16)),
                               atol=1e-6)
    # the start: the init pose's joint angles on the template (the 17-joint tree cannot turn the
    # nose apart from the shoulders, so this is the best rigid fit, not the init pose itself)
    start = S.forward_kinematics(S.inverse_kinematics(init, template), template)
    before = metrics.mpjpe(start, target_avg, per_frame=True)
    assert np.all(err <= before + 1e-9) and err.mean() < before.mean()
    assert metrics.mpjpe(out, truth) < metrics.mpjpe(target_avg, truth) + 10
