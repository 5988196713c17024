"""estimate/run.py (``structnet predict``): exported test images, and a video made of them,
give exactly eval's poses; poses.json, poses.csv, pictures and a sheet are written; bad
inputs are one line, exit 2, nothing written."""
import csv
import json
import os

import numpy as np
import pytest

from structnet.cli import main
from test_inputs import _video
from hostile import expect_error


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setenv("STRUCTNET_PROGRESS", "0")


def _train_poses(tiny_data):
    from structnet.data.dataset import Dataset
    return Dataset(os.path.join(tiny_data, "train.h5")).root_relative()


def test_exported_pngs_and_a_video_give_evals_poses(tiny_data, tiny_model, tmp_path):
    from PIL import Image
    inp, out = tmp_path / "in", tmp_path / "out"
    assert main(["export-images", "--data", os.path.join(tiny_data, "test.h5"), "--out", str(inp), "--n", "5"]) == 0
    index = json.load(open(inp / "index.json"))["images"]
    rows = np.array([r["row"] for r in index])
    vid = tmp_path / "video" / "clip.mkv"
    vid.parent.mkdir()
    _video(vid, [np.asarray(Image.open(inp / r["file"])) for r in index])      # lossless FFV1
    assert main(["predict", "--model", tiny_model["model"], str(inp), str(vid), "--out", str(out),
                 "--A", "20", "--top-k", "3", "--sheet"]) == 0
    res = json.load(open(out / "poses.json"))
    train, idx = _train_poses(tiny_data), tiny_model["idx"][rows]
    recs = res["records"]
    assert len(recs) == 10 and res["joints"][0] == "pelvis" and res["A"] == 20
    images, frames = recs[:5], recs[5:]
    assert [r["input"] for r in images] == [r["file"] for r in index]
    assert [r["frame"] for r in frames] == [0, 1, 2, 3, 4] and np.allclose([r["time_s"] for r in frames],
                                                                           [0, .1, .2, .3, .4])
    for group in (images, frames):                   # the same pose per image and per frame as eval's
        assert np.allclose([r["max"] for r in group], train[idx[:, 0]], atol=1e-3)
        assert np.allclose([r["avg(20)"] for r in group], train[idx[:, :20]].mean(1), atol=1e-3)
        assert [[h["pose_set_index"] for h in r["hypotheses"]] for r in group] == idx[:, :3].tolist()
    with open(out / "poses.csv") as f:
        table = list(csv.reader(f))
    assert table[0][:6] == ["input", "file", "frame", "time_s", "estimate", "score"] and len(table[0]) == 6 + 51
    assert len(table) == 1 + 10 * (3 + 3)
    assert {r[4] for r in table[1:]} == {"Max", "Avg(20)", "Pred", "hypothesis1", "hypothesis2", "hypothesis3"}
    for name in [r["file"][:-4] + ".png" for r in index] + ["clip.mp4"]:
        assert os.path.getsize(out / "pictures" / name) > 1000
    assert os.path.getsize(out / "sheet.png") > 1000
    import av
    with av.open(str(out / "pictures" / "clip.mp4")) as c:
        assert sum(1 for _ in c.decode(video=0)) == 5


def test_bad_inputs_one_line(tiny_data, tiny_model, tmp_path, capsys):
    model = tiny_model["model"]
    (tmp_path / "fake.png").write_bytes(b"nope")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty.mkv").write_bytes(b"")
    good = tmp_path / "good"
    assert main(["export-images", "--data", os.path.join(tiny_data, "test.h5"), "--out", str(good), "--n", "1"]) == 0
    out = tmp_path / "out"
    for argv, needle in (
            ([tmp_path / "fake.png"], "fake.png: not an image"),
            ([tmp_path / "empty"], "empty: a folder with no image or video"),
            ([tmp_path / "empty.mkv"], "empty.mkv"),
            ([tmp_path / "missing.png"], "missing.png: no such file"),
            ([good, "--A", "500"], "--A 500: beyond the pose set's 120 poses"),
            ([good, "--top-k", "121"], "--top-k 121"),
            ([good, "--top-k", "0"], "--top-k must be >= 1"),
            ([good, "--every", "0"], "--every must be >= 1")):
        expect_error(capsys, ["predict", "--model", model, *argv, "--out", out], needle, watch=[tmp_path])
        assert not out.exists() or not os.listdir(out)
    # a model file of the wrong kind: a dataset, a pre-training model
    expect_error(capsys, ["predict", "--model", os.path.join(tiny_data, "test.h5"), good, "--out", out],
                 "not a structnet parameter file")
    from structnet.model.dconvmp import DconvMP
    from conftest import tiny_config
    DconvMP(tiny_config(tiny_data), 0).save(str(tmp_path / "dconvmp.h5"))
    expect_error(capsys, ["predict", "--model", tmp_path / "dconvmp.h5", good, "--out", out],
                 "not a StructNet model")
    # --out onto the training run or the inputs: refused before any work
    expect_error(capsys, ["predict", "--model", model, good, "--out", good], "holds a folder of exported images")
