"""estimate/pictures.py: one estimate's picture (crop, camera view, fixed view) and a sheet."""
import numpy as np

from structnet.estimate import pictures
from structnet.geometry.skeleton import REST_OFFSETS, PARENTS


def _pose():
    p = np.zeros((17, 3))
    for j in range(1, 17):
        p[j] = p[PARENTS[j]] + REST_OFFSETS[j][[0, 2, 1]] * [1, -1, 1]   # body frame -> camera frame (y down)
    return p - p[0]


def test_figure_and_sheet(tmp_path):
    crop = np.full((128, 128, 3), 90, np.uint8)
    rgb = pictures.to_array(pictures.figure(crop, _pose(), "x"))
    assert rgb.shape == (300, 900, 3) and rgb.dtype == np.uint8
    assert (rgb != 255).any(axis=2).mean() > 0.05                     # something is drawn
    # limbs coloured: the left side's blue and the right side's red are both drawn
    for side in ("left", "right"):
        c = np.round(np.array(pictures.COLOURS[side]) * 255)
        assert (np.abs(rgb.astype(int) - c).max(axis=2) < 30).sum() > 50, side
    pictures.sheet([crop] * 3, [_pose()] * 3, ["a", "b", "c"], str(tmp_path / "s.png"))
    assert (tmp_path / "s.png").stat().st_size > 1000
