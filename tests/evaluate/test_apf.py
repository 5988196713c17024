"""evaluate/apf.py: the annealed particle filter fits a valid skeleton of the template."""
import numpy as np

from structnet.evaluate import apf
from structnet.geometry import metrics
from structnet.data.synthetic import motion as M
from structnet.geometry import skeleton as S


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
