"""geometry/metrics.py: MPJPE (root-relative), P-MPJPE (after a similarity), per-joint errors."""
import numpy as np
import pytest

from structnet.geometry import metrics
from structnet.geometry import skeleton as S


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
