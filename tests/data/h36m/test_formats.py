import numpy as np
import pytest

from structnet.data.synthetic import h36m_fixtures as fixtures
from structnet.data.h36m import formats
from structnet.data.h36m.formats import SequenceError


def test_cdf_round_trip(tmp_path):
    p32 = np.random.default_rng(0).normal(0, 500, (7, 32, 3)).astype(np.float32)
    path = tmp_path / "S1" / "Walking.54138969.cdf"
    fixtures.write_cdf(str(path), p32)
    assert np.array_equal(formats.read_pose_cdf(path), p32)


def test_cdf_faults(tmp_path):
    with pytest.raises(SequenceError, match="no such file"):
        formats.read_pose_cdf(tmp_path / "missing.cdf")
    bad = tmp_path / "bad.cdf"
    bad.write_bytes(b"garbage" * 20)
    with pytest.raises(SequenceError, match="unreadable CDF"):
        formats.read_pose_cdf(bad)


def test_mask_boxes_from_a_v73_mat(tmp_path):
    boxes = np.array([[10, 20, 30, 40], [0, 0, 5, 1000], [0, 0, 0, 0]], float)
    path = tmp_path / "m.mat"
    fixtures.write_mask_mat(str(path), boxes, (1000, 1002))
    assert open(path, "rb").read(10) == b"MATLAB 7.3"
    got = formats.read_mask_boxes(path)
    assert np.array_equal(got[:2], boxes[:2])
    assert np.all(np.isnan(got[2]))                    # empty mask


def test_square_box_and_crop():
    assert np.array_equal(formats.square_box((10, 20, 30, 40)), [5, 20, 40])
    frame = np.zeros((100, 80, 3), np.uint8)
    frame[40:60, 30:50] = 200
    c = formats.crop(frame, (30, 40, 20), size=10)
    assert c.shape == (10, 10, 3) and np.all(c == 200)
    # a box hanging over the frame's edge is padded with black
    c = formats.crop(frame, (-20, -20, 40), size=4)
    assert np.all(c[:2, :2] == 0)


def test_video_frames_and_corrupt_file(tmp_path):
    rng = np.random.default_rng(0)
    frames = np.clip(rng.normal(128, 40, (5, 64, 48, 3)), 0, 255).astype(np.uint8)
    frames = np.repeat(np.repeat(frames[:, ::16, ::16], 16, 1), 16, 2)   # blocky: codec-friendly
    path = tmp_path / "v.mp4"
    fixtures.write_mp4(str(path), frames)
    v = formats.Video(path)
    got = [get() for i, get in v]
    assert v.count == 5 and v.error is None
    err = np.abs(np.stack(got).astype(int)[:, None] - frames[None]).mean((2, 3, 4))   # decoded x written
    assert np.all(np.diag(err) < 3) and np.all(err[~np.eye(5, dtype=bool)] > 10)
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(500))
    with pytest.raises(SequenceError, match="bad.mp4"):
        list(formats.Video(bad))


def test_truncated_video_yields_its_first_frames(tmp_path):
    """A download cut short: the decodable prefix comes out (the extractor then reports the
    frame-count mismatch and keeps the common prefix)."""
    frames = np.random.default_rng(1).integers(0, 255, (40, 64, 64, 3), dtype=np.uint8)
    path = tmp_path / "full.mp4"
    fixtures.write_mp4(str(path), frames, faststart=True)
    data = path.read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[:len(data) // 2])
    v = formats.Video(tmp_path / "cut.mp4")
    n = sum(1 for _ in v)
    assert 0 < n < 40 and v.count == n
