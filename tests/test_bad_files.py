"""Hostile input (issue 13): output paths, artefacts read back, BVH files, messages."""
import json
import shutil

import h5py
import numpy as np
import pytest

from hostile import _quiet  # noqa: F401 (autouse)
from hostile import expect_error, run  # noqa: F401 (fixtures)


# ------------------------------------------------------------------ 6. output paths
def _a_file(tmp_path):
    p = tmp_path / "afile"
    p.write_text("x")
    return p


OUTPUT_CASES = {
    "data_out_is_file": lambda t, d, r: (["data", "--preset", "tiny", "--out", _a_file(t)], "afile"),
    "data_out_unwritable": lambda t, d, r: (["data", "--preset", "tiny", "--out", "/proc/structnet-data"],
                                            "/proc/structnet-data"),
    "data_out_too_long": lambda t, d, r: (["data", "--preset", "tiny", "--out", t / ("x" * 300)], "xxxx"),
    "data_out_parent_is_file": lambda t, d, r: (["data", "--preset", "tiny", "--out", _a_file(t) / "d"], "afile"),
    "pretrain_run_is_file": lambda t, d, r: (["pretrain", "--run", _a_file(t), "--set", f"data_dir={d}"], "afile"),
    "train_out_is_file": lambda t, d, r: (["train", "--run", r, "--out", _a_file(t), "--set", f"data_dir={d}"],
                                          "afile"),
    "eval_out_is_file": lambda t, d, r: (["eval", "--run", r / "train", "--data", d, "--out", _a_file(t)], "afile"),
    "tables_out_is_dir": lambda t, d, r: (["tables", "--eval", r / "eval", "--out", t], str(t)),
    "tables_out_no_parent": lambda t, d, r: (["tables", "--eval", r / "eval", "--out", t / "no" / "t.md"], "no"),
    "figures_out_is_file": lambda t, d, r: (["figures", "--run", r / "train", "--data", d, "--eval", r / "eval",
                                             "--out", _a_file(t)], "afile"),
    "sample_figure_out_is_dir": lambda t, d, r: (["sample-figure", "--data", d / "train.h5", "--out", t], str(t)),
    "bench_out_is_dir": lambda t, d, r: (["bench", "--sections", "network", "--out", t], str(t)),
    "apf_eval_dir_unwritable": lambda t, d, r: (["apf", "--run", r / "train", "--data", d, "--eval", "/proc/self"],
                                                "/proc/self"),
}


@pytest.mark.parametrize("case", sorted(OUTPUT_CASES))
def test_bad_output_path(capsys, run, tiny_data, tmp_path, case):
    argv, needle = OUTPUT_CASES[case](tmp_path, tiny_data, run)
    expect_error(capsys, argv, needle, [tmp_path, run / "eval"])


# ------------------------------------------------------------------ 7. artefacts read without checks
def _eval_copy(run, tmp_path, edit=None):
    ev = tmp_path / "eval"
    shutil.copytree(run / "eval", ev)
    if edit:
        edit(ev)
    return ev


def _write(name, content):
    def fn(ev):
        p = ev / name
        if content is None:
            p.unlink()
        else:
            p.write_bytes(content)
    return fn


def _model_copy(run, tmp_path, edit):
    d = tmp_path / "model"
    d.mkdir()
    shutil.copy(run / "train" / "model.h5", d / "model.h5")
    with h5py.File(d / "model.h5", "r+") as f:
        edit(f)
    return d


def _model_state(**kw):
    """Edit the model file's state (kind, config, seed): a value, a function of the old, or None to drop."""
    def edit(f):
        s = json.loads(f.attrs["state"])
        for k, v in kw.items():
            if v is None:
                s.pop(k, None)
            else:
                s[k] = v(s[k]) if callable(v) else v
        f.attrs["state"] = json.dumps(s)
    return edit


def _dataset_copy(tiny_data, tmp_path, edit):
    d = tmp_path / "data"
    shutil.copytree(tiny_data, d)
    with h5py.File(d / "train.h5", "r+") as f:
        edit(f)
    return d


def _set(name, fn):
    def edit(f):
        v = f[name][()]
        f[name][...] = fn(v)
    return edit


ARTEFACT_CASES = {
    "tables_no_results": lambda t, d, r: (["tables", "--eval", _eval_copy(r, t, _write("results.json", None)),
                                           "--out", t / "t.md"], "results.json"),
    "tables_corrupt_results": lambda t, d, r: (["tables", "--eval", _eval_copy(r, t, _write("results.json", b"{oops")),
                                                "--out", t / "t.md"], "results.json"),
    "tables_results_wrong_schema": lambda t, d, r: (["tables", "--eval", _eval_copy(r, t, _write("results.json", b"[1, 2]")),
                                                     "--out", t / "t.md"], "results.json"),
    "tables_missing_embedding": lambda t, d, r: (["tables", "--eval", r / "eval", "--embedding", t / "emb.json",
                                                  "--out", t / "t.md"], "emb.json"),
    "tables_missing_ablations": lambda t, d, r: (["tables", "--eval", r / "eval", "--ablations", t / "abl",
                                                  "--out", t / "t.md"], "abl"),
    "figures_no_results": lambda t, d, r: (["figures", "--run", r / "train", "--data", d,
                                            "--eval", _eval_copy(r, t, _write("results.json", None)), "--out", t / "f"],
                                           "results.json"),
    "apf_no_topk": lambda t, d, r: (["apf", "--run", r / "train", "--data", d,
                                     "--eval", _eval_copy(r, t, _write("topk.npz", None)), "--A", 20], "topk.npz"),
    "apf_corrupt_topk": lambda t, d, r: (["apf", "--run", r / "train", "--data", d,
                                          "--eval", _eval_copy(r, t, _write("topk.npz", b"PK\x03\x04junk")), "--A", 20],
                                         "topk.npz"),
    "apf_corrupt_results": lambda t, d, r: (["apf", "--run", r / "train", "--data", d,
                                             "--eval", _eval_copy(r, t, _write("results.json", b"")), "--A", 20],
                                            "results.json"),
    "eval_model_without_config": lambda t, d, r: (["eval", "--run", _model_copy(r, t, _model_state(config=None)),
                                                   "--data", d, "--out", t / "e"], "model.h5"),
    "eval_model_bad_seed": lambda t, d, r: (["eval", "--run", _model_copy(r, t, _model_state(seed="x")),
                                             "--data", d, "--out", t / "e"], "model.h5"),
    "eval_model_unknown_config_key": lambda t, d, r: (
        ["eval", "--run", _model_copy(r, t, _model_state(config=lambda c: {**c, "wings": 2})), "--data", d,
         "--out", t / "e"], "model.h5"),
    "eval_model_corrupt_config": lambda t, d, r: (["eval", "--run", _model_copy(r, t, _model_state(config="{")),
                                                   "--data", d, "--out", t / "e"], "model.h5"),
    "eval_model_is_a_checkpoint": lambda t, d, r: (["eval", "--run", _model_copy(r, t, _model_state(kind="DconvMP-HML")),
                                                    "--data", d, "--out", t / "e"], "not a StructNet model"),
    "eval_missing_data": lambda t, d, r: (["eval", "--run", r / "train", "--data", t / "nodata", "--out", t / "e"],
                                          "nodata"),
    "eval_nan_rgb_cov": lambda t, d, r: (["eval", "--run", r / "train", "--out", t / "e",
                                          "--data", _dataset_copy(d, t, _set("stats/rgb_cov", lambda v: v * np.nan))],
                                         "rgb_cov"),
    "eval_nan_joints2d": lambda t, d, r: (["eval", "--run", r / "train", "--out", t / "e",
                                           "--data", _dataset_copy(d, t, _set("joints2d", lambda v: v * np.nan))],
                                          "joints2d"),
    "eval_huge_poses": lambda t, d, r: (["eval", "--run", r / "train", "--out", t / "e",
                                         "--data", _dataset_copy(d, t, _set("poses", lambda v: v * 1e30))], "poses"),
    "eval_pose_set_is_dir": lambda t, d, r: (["eval", "--run", r / "train", "--data", d, "--out", t / "e",
                                              "--pose-set", t], str(t)),
    "eval_pose_set_corrupt": lambda t, d, r: (["eval", "--run", r / "train", "--data", d, "--out", t / "e",
                                               "--pose-set", _a_file(t)], "afile"),
    "eval_action_outside_list": lambda t, d, r: (["eval", "--run", r / "train", "--out", t / "e",
                                                  "--data", _dataset_copy(d, t, _set("action", lambda v: v + 50))],
                                                 "action"),
    "sample_figure_not_hdf5": lambda t, d, r: (["sample-figure", "--data", _a_file(t), "--out", t / "s.png"], "afile"),
    "pretrain_data_dir_is_file": lambda t, d, r: (["pretrain", "--run", t / "r", "--set", f"data_dir={_a_file(t)}"],
                                                  "afile"),
}


@pytest.mark.parametrize("case", sorted(ARTEFACT_CASES))
def test_bad_artefact(capsys, run, tiny_data, tmp_path, case):
    argv, needle = ARTEFACT_CASES[case](tmp_path, tiny_data, run)
    expect_error(capsys, argv, needle, [tmp_path, run / "eval"])


# ------------------------------------------------------------------ 9. BVH
def _bvh(frames, frame_time="0.02"):
    rows = "\n".join(" ".join(["0"] * 6) for _ in range(frames))
    return ("HIERARCHY\nROOT Hips\n{\n OFFSET 0 0 0\n CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation"
            " Yrotation\n End Site\n {\n  OFFSET 0 10 0\n }\n}\n"
            f"MOTION\nFrames: {frames}\nFrame Time: {frame_time}\n{rows}\n")


BVH_CASES = {
    "binary": (b"\x00\x01\x02\xff\xfe" * 200, "clip.bvh"),
    "frame_time_zero": (_bvh(10, "0").encode(), "Frame Time"),
    "frame_time_nan": (_bvh(10, "nan").encode(), "Frame Time"),
    "one_frame": (_bvh(1).encode(), "frame"),
    "no_motion": (b"HIERARCHY\nROOT Hips\n{\n", "clip.bvh"),
    "no_known_rig": (_bvh(10).encode(), "no known rig"),
}


@pytest.mark.parametrize("case", sorted(BVH_CASES))
def test_bad_bvh(capsys, tmp_path, case):
    content, needle = BVH_CASES[case]
    d = tmp_path / "bvh"
    d.mkdir()
    (d / "clip.bvh").write_bytes(content)
    expect_error(capsys, ["data", "--preset", "tiny", "--source", "bvh", "--bvh-dir", d, "--out", tmp_path / "o",
                          "--workers", 1], needle, [tmp_path])


@pytest.mark.parametrize("opt,value,needle", [("--bvh-unit", "furlong", "--bvh-unit"), ("--bvh-unit", "-3", "--bvh-unit"),
                                              ("--bvh-map", "nomap.json", "nomap.json"),
                                              ("--bvh-performers", "nope.json", "nope.json")])
def test_bad_bvh_option(capsys, tmp_path, opt, value, needle):
    d = tmp_path / "bvh"
    d.mkdir()
    (d / "clip.bvh").write_text(_bvh(10))
    expect_error(capsys, ["data", "--preset", "tiny", "--source", "bvh", "--bvh-dir", d, "--out", tmp_path / "o",
                          opt, value], needle, [tmp_path])


@pytest.mark.parametrize("where", ["missing", "empty"])
def test_bvh_dir_without_clips(capsys, tmp_path, where):
    d = tmp_path / "bvh"
    if where == "empty":
        d.mkdir()
    expect_error(capsys, ["data", "--preset", "tiny", "--source", "bvh", "--bvh-dir", d, "--out", tmp_path / "o"],
                 "bvh", [tmp_path])


# ------------------------------------------------------------------ 12. messages
def test_directory_for_hdf5_is_one_line(capsys, run, tmp_path):
    d = tmp_path / "model.h5"
    d.mkdir()
    expect_error(capsys, ["eval", "--run", tmp_path, "--data", tmp_path, "--out", tmp_path / "e"], "model.h5",
                 [tmp_path])
