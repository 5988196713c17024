"""report/figures.py: Figure 3 from an evaluation's results, and the body-orientation fit of Figure 4."""
import json

import numpy as np
from PIL import Image

from structnet.report.figures import body_yaw, figure3, r2_orientation


def test_figure3_is_a_png_of_the_sweep(tmp_path):
    res = {"avg_sweep": {"1": 90.0, "20": 78.0, "500": 79.0}, "pose_set": 100,
           "methods": {"StructNet-Max": {"all": [90.0, 30.0]}}}
    (tmp_path / "r.json").write_text(json.dumps(res))
    out = figure3(tmp_path / "r.json", tmp_path / "f3.png")
    assert Image.open(out).format == "PNG"


def test_orientation_r2():
    rng = np.random.default_rng(0)
    yaw = rng.uniform(-np.pi, np.pi, 200)
    comps = np.stack([np.cos(yaw), np.sin(yaw)], 1) * 3 + rng.normal(0, 0.01, (200, 2))
    assert r2_orientation(comps, yaw) > 0.99
    assert r2_orientation(rng.normal(size=(200, 2)), yaw) < 0.2
    poses = np.zeros((2, 17, 3))                  # camera frame: x right, y down, z away from the camera
    poses[:, 1], poses[:, 4], poses[:, 8] = [-100, 0, 0], [100, 0, 0], [0, -500, 0]   # Rhip, Lhip, thorax
    poses[1] *= [-1, 1, -1]                        # the same body turned half round
    np.testing.assert_allclose(np.abs(body_yaw(poses)), [0, np.pi], atol=1e-9)    # facing the camera, then away
