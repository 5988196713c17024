import os
import re

import h5py
import numpy as np
import pytest

from structnet import StructNet, paper
from structnet.errors import UserError
from structnet.report.summary import layer_rows

# legacy_notes/original-code.md, "Network": layer -> output per sample
TABLE = {"conv1": [32, 104, 104], "pool1": [32, 52, 52], "conv2": [64, 48, 48], "pool2": [64, 24, 24],
         "conv3": [64, 20, 20], "pool3": [64, 10, 10], "h1": [256], "h2": [1024], "concat": [1280],
         "h3": [2048], "h4": [1024], "g7": [51], "h5": [1024], "h6": [1024]}


@pytest.fixture(scope="module")
def net():
    return StructNet(paper(), seed=0)


def test_summary_matches_original_code_table(net):
    rows = {r["name"]: r for r in layer_rows(net)}
    assert {k: rows[k]["output"] for k in TABLE} == TABLE
    assert rows["conv1"]["params"] == {"W": [32, 3, 9, 9], "b": [32]}
    assert rows["h1"]["params"] == {"W": [36864, 256], "b": [256]}
    assert rows["h6"]["params"] == {"W": [1024, 1024], "b": [1024]}


def test_summary_matches_the_authors_cfg_as_legacy_notes_give_it(net):
    text = open(os.path.join(os.path.dirname(__file__), "..", "..", "legacy_notes", "original-code.md")).read()
    rows = {r["name"]: r["output"] for r in layer_rows(net)}
    found = 0
    for line in text.splitlines():
        m = re.match(r"\|\s*(\w+)[^|]*\|[^|]*\|\s*([\d x,]+?)\s*\|\s*$", line)
        if m and m.group(1) in rows:
            want = [int(v) for v in re.findall(r"\d[\d,]*", m.group(2).replace(",", ""))]
            assert rows[m.group(1)] == want, m.group(1)
            found += 1
    assert found >= 12


def test_init_follows_spec():
    net = StructNet(paper(), seed=3)
    v = net.get_values()
    assert abs(v["conv1/W"].std() - 5e-5) < 1e-5
    assert abs(v["h1/W"].std() - 1e-3) < 1e-4
    assert abs(v["h5/W"].std() - 0.1) < 0.01
    assert all(not v[k].any() for k in v if k.endswith("/b"))
    same = StructNet(paper(), seed=3).get_values()
    assert all(np.array_equal(v[k], same[k]) for k in v)


def test_api_shapes_and_save_load_round_trip(net, tmp_path):
    rng = np.random.default_rng(0)
    images = rng.random((3, 3, 112, 112), dtype=np.float32)
    poses = rng.normal(0, 300, (5, 17, 3))
    assert net.image_embedding(images).shape == (3, 1024)
    assert net.pose_embedding(poses).shape == (5, 1024)
    s = net.score(images, poses)
    assert s.shape == (3, 5)
    pred = net.predict_pose(images)
    assert pred.shape == (3, 17, 3) and np.all(np.abs(pred) < 1200)

    path = tmp_path / "net.h5"
    net.save(path)
    with h5py.File(path) as f:
        assert f["params/conv1/W"].shape == (32, 3, 9, 9) and f["params/h1/W"].shape == (36864, 256)
    back = StructNet.load(path)
    for k, v in net.get_values().items():
        np.testing.assert_array_equal(back.get_values()[k], v)
    np.testing.assert_allclose(back.score(images, poses), s, rtol=1e-5)
    assert not [p for p in os.listdir(tmp_path) if "tmp" in p]


def test_load_errors_are_one_line(tmp_path, net):
    with pytest.raises(UserError, match="no such parameter file"):
        StructNet.load(tmp_path / "missing.h5")
    bad = tmp_path / "corrupt.h5"
    bad.write_bytes(b"not an hdf5 file at all")
    with pytest.raises(UserError, match="corrupt.h5: cannot read"):
        StructNet.load(bad)
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = 1
    with pytest.raises(UserError, match="not a structnet parameter file"):
        StructNet.load(foreign)
    good = tmp_path / "good.h5"
    net.save(good)
    with h5py.File(good, "a") as f:
        del f["params/h3/W"]
        f["params/h3/W"] = np.zeros((3, 3), np.float32)
    with pytest.raises(UserError, match="h3/W has shape"):
        StructNet.load(good)


def test_reads_model_files_of_the_format_before(tmp_path, net):
    """Model files written before the one parameter format (datasets at the root) still load."""
    from structnet.model.network import LEGACY_FORMAT
    old = tmp_path / "old.h5"
    with h5py.File(old, "w") as f:
        f.attrs["format"] = LEGACY_FORMAT
        f.attrs["config"] = net.config.to_json()
        f.attrs["seed"] = net.seed
        for k, v in net.get_values().items():
            f[k] = v
    back = StructNet.load(old)
    for k, v in net.get_values().items():
        np.testing.assert_array_equal(back.get_values()[k], v)


def test_bad_image_shape(net):
    with pytest.raises(ValueError, match="images must be shaped"):
        net.image_embedding(np.zeros((2, 3, 100, 100), np.float32))
    with pytest.raises(ValueError, match="NaN"):
        net.pose_embedding(np.full((1, 17, 3), np.nan))
