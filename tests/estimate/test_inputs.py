"""estimate/inputs.py: crops of any image size, folders, videos, and one-line errors."""
import numpy as np
import pytest
from PIL import Image

from structnet.errors import UserError
from structnet.estimate import inputs


def test_crop_keeps_128_and_pads_others_with_the_mean():
    a = np.random.default_rng(0).integers(0, 256, (128, 128, 3), dtype=np.uint8)
    assert inputs.to_crop(a) is not None and np.array_equal(inputs.to_crop(a), a)
    tall = np.full((300, 100, 3), 200, np.uint8)
    c = inputs.to_crop(tall, fill=(10, 20, 30))
    assert c.shape == (128, 128, 3) and c.dtype == np.uint8
    assert tuple(c[64, 0]) == (10, 20, 30) and tuple(c[64, 127]) == (10, 20, 30)   # padded left and right
    assert tuple(c[0, 64]) == (200, 200, 200) and tuple(c[127, 64]) == (200, 200, 200)  # scaled to the height
    with pytest.raises(ValueError):
        inputs.to_crop(np.zeros((5, 5), np.uint8))
    with pytest.raises(ValueError):
        inputs.to_crop(np.zeros((5, 5, 3), np.float32))


def test_expand_folders_files_and_errors(tmp_path, capsys):
    Image.new("RGB", (40, 60)).save(tmp_path / "b.png")
    Image.new("RGB", (40, 60)).save(tmp_path / "a.jpg")
    (tmp_path / "notes.txt").write_text("x")
    assert inputs.expand([tmp_path]) == [("image", str(tmp_path / "a.jpg")), ("image", str(tmp_path / "b.png"))]
    assert "skipped 1 file that is neither an image nor a video (e.g. notes.txt)" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    for bad, words in ((empty, "no image or video"), (tmp_path / "notes.txt", "not an image or video"),
                       (tmp_path / "none.png", "no such file")):
        with pytest.raises(UserError, match=words):
            inputs.expand([bad])


def test_unreadable_image_and_video(tmp_path):
    (tmp_path / "fake.png").write_bytes(b"not a png at all")
    with pytest.raises(UserError, match="fake.png: not an image"):
        inputs.read_image(str(tmp_path / "fake.png"))
    (tmp_path / "fake.mp4").write_bytes(b"\x00" * 100)
    with pytest.raises(UserError, match="fake.mp4"):
        list(inputs.video_frames(str(tmp_path / "fake.mp4")))


def _video(path, frames, codec="ffv1", fmt="matroska"):
    import av
    with av.open(str(path), "w", format=fmt) as out:
        s = out.add_stream(codec, rate=10)
        s.width, s.height = frames[0].shape[1], frames[0].shape[0]
        s.pix_fmt = "bgr0" if codec == "ffv1" else "yuv420p"
        for f in frames:
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                out.mux(p)
        for p in s.encode():
            out.mux(p)


def test_video_every_nth_frame_lossless(tmp_path):
    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 256, (128, 128, 3), dtype=np.uint8) for _ in range(5)]
    _video(tmp_path / "v.mkv", frames)
    got = list(inputs.video_frames(str(tmp_path / "v.mkv"), every=2))
    assert [g[0] for g in got] == [0, 2, 4]
    assert np.allclose([g[1] for g in got], [0.0, 0.2, 0.4])
    assert all(np.array_equal(g[2], frames[g[0]]) for g in got)
    items = list(inputs.items(inputs.expand([tmp_path / "v.mkv"]), every=2))
    assert [it.name for it in items] == ["v.mkv#0", "v.mkv#2", "v.mkv#4"] and items[1].frame == 2


def test_video_without_frames(tmp_path):
    import av
    with av.open(str(tmp_path / "empty.mkv"), "w", format="matroska") as out:
        s = out.add_stream("ffv1", rate=10)
        s.width, s.height, s.pix_fmt = 16, 16, "bgr0"
    with pytest.raises(UserError, match="empty.mkv: (a video without frames|not a video)"):
        list(inputs.video_frames(str(tmp_path / "empty.mkv")))
