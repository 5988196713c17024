import json
import os

import numpy as np
import pytest

from structnet.geometry import camera as C
from structnet.data.dataset import Dataset
from structnet.errors import UserError
from structnet.data.h36m import extract as E
from structnet.data.h36m import formats, names
from structnet.geometry.camera import joint_box


def _rows(ds, subject, action, camera):
    m = ((ds.meta["subject"] == names.subject_number(subject)) & (ds.meta["camera"] == camera)
         & (ds.meta["action"] == names.ACTIONS.index(action)))
    return np.flatnonzero(m)


def _problems(summary, text):
    return [p for p in summary["problems"] if text in p["problem"]]


@pytest.fixture(scope="module")
def official_out(official_root, tmp_path_factory):
    root, truth = official_root
    out = tmp_path_factory.mktemp("h36m-official-out")
    summary = E.extract(E.ExtractConfig(root=str(root), workers=2), str(out), progress=False)
    return out, summary, truth


def test_official_poses_boxes_and_images(official_out):
    out, summary, truth = official_out
    ds = Dataset(out / "train.h5")
    assert ds.source == "h36m" and ds.actions == list(names.ACTIONS)
    t = truth["S1.Walking.54138969"]
    r = _rows(ds, "S1", "Walking", 0)
    assert len(r) == 6 and np.array_equal(ds.meta["frame"][r], np.arange(6))
    assert np.array_equal(ds.poses[r], t["poses"].astype(np.float32))             # the CDF's 17 joints
    boxes = np.stack([formats.square_box(b) for b in t["boxes"]])
    assert np.array_equal(ds.box[r], boxes)                                       # the masks' boxes
    img = ds.read_images(r).astype(int)
    ref = np.stack([formats.crop(f, b) for f, b in zip(t["frames"], boxes)]).astype(int)
    assert np.abs(img - ref).mean() < 2.0                                          # codec error only
    assert np.abs(img - ref[::-1]).mean() > 2 * np.abs(img - ref).mean()         # the right frames, in order
    j2d = np.stack([(C.project(p, t["cam"]) - b[:2]) * 128 / b[2] for p, b in zip(t["poses"], boxes)])
    assert np.allclose(ds.joints2d[r], j2d, atol=1e-3)
    # the person is inside the crop
    assert np.all((ds.joints2d[r] > 0) & (ds.joints2d[r] < 128))
    ds.close()


def test_official_faults_are_reported_not_fatal(official_out):
    out, summary, truth = official_out
    ds = Dataset(out / "train.h5")
    # video shorter than the pose file: the common prefix, reported; subaction from metadata.xml
    r = _rows(ds, "S1", "Walking", 2)
    assert len(r) == 4 and set(ds.meta["subaction"][r]) == {1}
    assert set(ds.meta["subaction"][_rows(ds, "S1", "Walking", 0)]) == {2}
    assert _problems(summary, "4 video frames, 6 poses")
    assert _problems(summary, "5 video frames, 4 poses in Walking.54138969.cdf; used the first 4")   # longer video
    # missing mask: boxes from the joints, reported
    t = truth["S1.Eating.55011271"]
    r = _rows(ds, "S1", "Eating", 1)
    assert len(r) == 3 and _problems(summary, "missing mask file")
    for p, b in zip(t["poses"], ds.box[r]):
        assert np.allclose(b, np.round(joint_box(C.project(p, t["cam"]), p[0, 2], t["cam"].f.mean())))
    # unreadable CDF, the _ALL file, the known corrupt S11 video, another corrupt video
    assert _problems(summary, "unreadable CDF")
    assert len(_rows(ds, "S1", "Eating", 0)) == 0
    assert [p for p in summary["problems"] if p["unit"] == "S1/_ALL.54138969"]
    assert _problems(summary, "corrupt video (skipped by the papers")
    assert [p for p in summary["problems"] if p["unit"] == "S11.Phoning.60457274" and "sequence skipped" in p["problem"]]
    test = Dataset(out / "test.h5")
    assert set(test.meta["subject"]) == {9} and len(test) == 4
    assert summary["splits"]["test"]["failed"] == 1 and summary["splits"]["train"]["failed"] == 1
    report = json.loads((out / "extraction.json").read_text())
    assert len(report["problems"]) == len(summary["problems"])
    assert not (out / "work").exists()                                         # shards removed after merging
    ds.close()
    test.close()


def test_every_and_action_filter(official_root, tmp_path):
    root, truth = official_root
    cfg = E.ExtractConfig(root=str(root), workers=1, every=2, actions=("Walking",))
    E.extract(cfg, str(tmp_path), splits=("train",), progress=False)
    ds = Dataset(tmp_path / "train.h5")
    assert set(ds.meta["action"]) == {names.ACTIONS.index("Walking")}
    assert np.array_equal(ds.meta["frame"][_rows(ds, "S1", "Walking", 0)], [0, 2, 4])
    assert np.array_equal(ds.meta["frame"][_rows(ds, "S1", "Walking", 2)], [0, 2])


def test_interrupted_extraction_resumes(official_root, tmp_path, monkeypatch):
    root, truth = official_root
    cfg = E.ExtractConfig(root=str(root), workers=1, actions=("Walking", "Eating"))
    real = E.process_official
    calls, interrupted = [], []

    def flaky(unit, *a):
        calls.append(unit.key)
        if len(calls) == 2 and not interrupted:
            interrupted.append(unit.key)
            raise KeyboardInterrupt
        return real(unit, *a)

    monkeypatch.setattr(E, "process_official", flaky)
    with pytest.raises(KeyboardInterrupt):
        E.extract(cfg, str(tmp_path), splits=("train",), progress=False)
    assert not (tmp_path / "train.h5").exists()
    shards = os.listdir(tmp_path / "work" / "train")
    assert sorted(shards) == ["S1.Eating 1.54138969.h5", "settings.json"]        # nothing half-written
    # another `every` on the unfinished work directory is refused
    with pytest.raises(UserError, match="other settings"):
        E.extract(E.ExtractConfig(root=str(root), workers=1, every=3), str(tmp_path), splits=("train",),
                  progress=False)
    calls.clear()
    E.extract(cfg, str(tmp_path), splits=("train",), progress=False)
    assert "S1.Eating 1.54138969" not in calls and len(calls) == 3            # the finished one is skipped
    a = Dataset(tmp_path / "train.h5")
    assert len(a) == 6 + 4 + 3
    # a rerun keeps the finished split and its report as they are
    calls.clear()
    report = (tmp_path / "extraction.json").read_bytes()
    s = E.extract(cfg, str(tmp_path), splits=("train",), progress=False)
    assert calls == [] and s["splits"]["train"]["images"] == 13 and (tmp_path / "extraction.json").read_bytes() == report
    # and a rerun with another frame step on the finished extraction is refused, nothing touched
    with pytest.raises(UserError, match=r"extracted with other settings \(every 1 there, 3 asked"):
        E.extract(E.ExtractConfig(root=str(root), workers=1, every=3), str(tmp_path), splits=("train",),
                  progress=False)
    assert (tmp_path / "extraction.json").read_bytes() == report


def test_bad_roots_are_one_line_errors(tmp_path):
    with pytest.raises(UserError, match="no such directory"):
        E.extract(E.ExtractConfig(root=str(tmp_path / "nope")), str(tmp_path / "o"), progress=False)
    (tmp_path / "S1" / "Videos").mkdir(parents=True)
    with pytest.raises(UserError, match="no Human3.6M layout found: expected S1/MyPoseFeatures"):
        E.extract(E.ExtractConfig(root=str(tmp_path)), str(tmp_path / "o"), progress=False)
    with pytest.raises(UserError, match="every=0"):
        E.extract(E.ExtractConfig(root=str(tmp_path), every=0), str(tmp_path / "o"), progress=False)


def test_fetch_layout(fetch_root, tmp_path):
    root, truth = fetch_root
    summary = E.extract(E.ExtractConfig(root=str(root), workers=2), str(tmp_path), progress=False)
    assert summary["layout"] == "fetch"
    ds = Dataset(tmp_path / "train.h5")
    for cam, n in ((0, 3), (2, 2)):                  # camera 2 lost one JPEG
        t = truth[f"S1.Walking-1.{names.CAMERA_IDS[cam]}"]
        r = _rows(ds, "S1", "Walking", cam)
        keep = [0, 1, 2] if cam == 0 else [0, 2]
        assert len(r) == n and np.array_equal(ds.meta["frame"][r], t["frame"][keep])
        assert np.array_equal(ds.poses[r], t["poses"][keep].astype(np.float32))
        assert set(ds.meta["subaction"][r]) == {1}
        for i, k in zip(r, keep):
            box = np.round(joint_box(t["joints2d"][k], t["poses"][k][0, 2], t["cam"].f.mean()))
            assert np.allclose(ds.box[i], box)
            assert np.allclose(ds.joints2d[i], (t["joints2d"][k] - box[:2]) * 128 / box[2], atol=1e-2)
            ref = formats.crop(t["frames"][k], box).astype(int)
            assert np.abs(ds.read_images([i])[0].astype(int) - ref).mean() < 2.5     # JPEG error only
    assert _problems(summary, "1 of 3 frame images missing")
    test = Dataset(tmp_path / "test.h5")
    assert set(test.meta["action"]) == {names.ACTIONS.index("Directions")} and set(test.meta["subaction"]) == {2}
    ds.close()
    test.close()


def test_cli_data_h36m(official_root, tmp_path, capsys):
    from structnet.cli import main
    root, _ = official_root
    assert main(["data", "--dataset", "h36m", "--root", str(root), "--out", str(tmp_path), "--workers", "1",
                 "--actions", "Walking", "--splits", "test"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out.strip().splitlines()[-1])["splits"]["test"]["images"] == 4
    assert main(["data", "--dataset", "h36m", "--root", str(tmp_path / "missing"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no such directory" in err
    assert main(["data", "--dataset", "h36m", "--root", str(root), "--out", str(tmp_path),
                 "--actions", "Jumping"]) == 2
    assert "unknown action" in capsys.readouterr().err


def test_retry_failed_redoes_only_failed_sequences(official_root, tmp_path, monkeypatch):
    root, _ = official_root
    cfg = E.ExtractConfig(root=str(root), workers=1, actions=("Eating",), keep_work=True)
    E.extract(cfg, str(tmp_path), splits=("train",), progress=False)
    assert sorted(os.listdir(tmp_path / "work" / "train")) == ["S1.Eating 1.54138969.h5", "S1.Eating.55011271.h5",
                                                               "settings.json"]
    os.remove(tmp_path / "train.h5")
    calls = []
    real = E.process_official
    monkeypatch.setattr(E, "process_official", lambda unit, *a: (calls.append(unit.key), real(unit, *a))[1])
    E.extract(cfg, str(tmp_path), splits=("train",), progress=False)
    assert calls == []                                               # failures are remembered
    os.remove(tmp_path / "train.h5")
    cfg.retry_failed = True
    E.extract(cfg, str(tmp_path), splits=("train",), progress=False)
    assert calls == ["S1.Eating 1.54138969"]
    assert len(Dataset(tmp_path / "train.h5")) == 3
