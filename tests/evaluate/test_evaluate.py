"""evaluate/evaluate.py: one method's errors, per action and overall (the rows of Table 1)."""
import numpy as np

from structnet.evaluate.evaluate import method_errors


def test_method_errors_per_action():
    rng = np.random.default_rng(0)
    gt = rng.normal(0, 300, (6, 17, 3))
    pred = gt.copy()
    pred[3:, 2] += [0, 0, 17.0]                     # one joint 17 mm off in the last three frames: 1 mm MPJPE
    r = method_errors(pred, gt, np.array([0, 0, 0, 1, 1, 1]), ["Walking", "Eating"])
    assert r["per_action"] == {"Walking": [0.0, 0.0, 3], "Eating": [1.0, 0.0, 3]}
    assert r["all"] == [0.5, 0.5] and r["action_mean"] == 0.5 and len(r["per_joint"]) == 17
    assert abs(r["per_joint"][2] - 8.5) < 1e-9
