"""Hostile input, as a new user gives it: every case is a one-line error (exit 2, no
traceback, the file or option named) or the right behaviour, and no file changes or is
left behind. The classes follow issue 13: data loss (1), resume (2), interrupts (3), the
mode (4), config values (5), output paths (6), artefacts read (7), APF options (8), BVH
(9), silent drops (10), leftovers (11), messages (12). Signal tests are in
``test_signals.py``."""
import hashlib
import json
import os
import shutil

import h5py
import numpy as np
import pytest

from structnet.cli import main

SMALL = ["batch_size=8", "pretrain_batch_size=8", "n_candidates=30", "k_most_violated=3", "max_batches=2",
         "epochs=1", "pretrain_epochs=1", "ckpt_every=1", "curve_every=0", "pretrain_curve_every=0"]


def snapshot(*roots):
    """{path: sha1} of every file under roots (a file root counts as itself)."""
    out = {}
    for root in roots:
        root = str(root)
        if os.path.isfile(root):
            out[root] = hashlib.sha1(open(root, "rb").read()).hexdigest()
            continue
        for d, _, files in os.walk(root):
            for f in files:
                p = os.path.join(d, f)
                out[p] = hashlib.sha1(open(p, "rb").read()).hexdigest()
    return out


def expect_error(capsys, argv, needle, watch=()):
    """main(argv) returns 2 with one line on stderr holding ``needle``; ``watch`` unchanged."""
    before = snapshot(*watch)
    capsys.readouterr()
    rc = main([str(a) for a in argv])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert rc == 2, f"exit {rc}, stderr: {err[-1500:]}"
    assert len(lines) == 1 and lines[0].startswith("structnet: error: "), err
    assert needle in lines[0], lines[0]
    assert snapshot(*watch) == before, "files changed or left behind"
    return lines[0]


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setenv("STRUCTNET_PROGRESS", "0")
    monkeypatch.delenv("STRUCTNET_MODE", raising=False)


@pytest.fixture(scope="module")
def run(tiny_data, tmp_path_factory):
    """A finished tiny pretrain + train + eval run (module-wide; tests copy what they alter)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("STRUCTNET_PROGRESS", "0")
    root = tmp_path_factory.mktemp("run")
    r = root / "run"
    small = SMALL + [f"data_dir={tiny_data}"]
    assert main(["pretrain", "--run", str(r), "--set", *small]) == 0
    assert main(["train", "--run", str(r), "--set", *small]) == 0
    assert main(["eval", "--run", str(r / "train"), "--data", str(tiny_data), "--out", str(r / "eval"),
                 "--pretrained", str(r / "pretrain" / "model.h5")]) == 0
    mp.undo()
    return r


def _copy_run(run, tmp_path, phase):
    """A copy of one phase of the run, unfinished (model.h5 and results.json removed)."""
    dst = tmp_path / phase
    shutil.copytree(run / phase, dst)
    (dst / "model.h5").unlink()
    (dst / "results.json").unlink()
    return dst


def _edit_checkpoint(path, fn):
    with h5py.File(path, "r+") as f:
        fn(f)


def _resume_argv(tiny_data, run, tmp_path, phase):
    base = [phase, "--run", str(tmp_path), "--resume", "--set", *SMALL, f"data_dir={tiny_data}"]
    if phase == "train":
        base += ["--pretrained", str(run / "pretrain" / "model.h5")]
    return base


# ------------------------------------------------------------------ 1. data loss
@pytest.mark.parametrize("phase", ["pretrain", "train"])
def test_resume_on_finished_run_leaves_it(capsys, run, tiny_data, tmp_path, phase):
    dst = tmp_path / phase
    shutil.copytree(run / phase, dst)
    before = snapshot(dst / "results.json", dst / "model.h5")
    rc = main(_resume_argv(tiny_data, run, tmp_path, phase))
    assert rc == 0 and "already finished" in capsys.readouterr().out
    assert snapshot(dst / "results.json", dst / "model.h5") == before


def test_bench_misspelt_section_keeps_json(capsys, tmp_path):
    out = tmp_path / "network.json"
    out.write_text('{"kept": true}')
    expect_error(capsys, ["bench", "--sections", "netwrok", "--out", out], "netwrok", [out])


def test_failed_eval_keeps_results(capsys, run, tiny_data, tmp_path):
    ev = tmp_path / "eval"
    shutil.copytree(run / "eval", ev)
    expect_error(capsys, ["eval", "--run", run / "train", "--data", tiny_data, "--out", ev,
                          "--pose-set", tmp_path / "nope.h5"], "nope.h5", [ev])


# ------------------------------------------------------------------ 2. resume trusts the checkpoint
def _drop_param(f):
    del f["params/h1/W" if "params/h1/W" in f else "params/r1/W"]


def _add_param(f):
    f["params/zz/W"] = np.zeros(3, np.float32)


def _bad_shape(f):
    k = "params/h1/b" if "params/h1/b" in f else "params/r1/b"
    del f[k]
    f[k] = np.zeros(3, np.float32)


def _nan_param(f):
    k = "params/h1/b" if "params/h1/b" in f else "params/r1/b"
    v = f[k][()]
    v[0] = np.nan
    f[k][...] = v


def _state(**kw):
    def fn(f):
        s = json.loads(f.attrs["state"])
        for k, v in kw.items():
            if v is None:
                s.pop(k, None)
            else:
                s[k] = v
        f.attrs["state"] = json.dumps(s)
    return fn


def _drop_array(name):
    def fn(f):
        del f[f"arrays/{name}"]
    return fn


def _short_working_set(f):
    v = f["arrays/working_set"][()]
    del f["arrays/working_set"]
    f["arrays/working_set"] = v[:-1]


CHECKPOINT_CASES = [
    ("pretrain", _drop_param, "missing r1/W"),
    ("train", _drop_param, "missing h1/W"),
    ("pretrain", _add_param, "unknown zz/W"),
    ("train", _add_param, "unknown zz/W"),
    ("pretrain", _bad_shape, "r1/b has shape"),
    ("train", _bad_shape, "h1/b has shape"),
    ("pretrain", _nan_param, "NaN"),
    ("train", _nan_param, "NaN"),
    ("train", _drop_array("working_set"), "working set"),
    ("train", _short_working_set, "working set"),
    ("pretrain", _state(epoch=None), "position"),
    ("train", _state(epoch=None), "position"),
    ("pretrain", _state(epoch=7), "outside this run"),
    ("train", _state(batch=99), "outside this run"),
    ("train", _state(epoch="1"), "position"),
    ("pretrain", lambda f: [f.__delitem__(k) for k in list(f.get("arrays", {}))[:1] for k in ["arrays/" + k]],
     "optimiser state"),
]


@pytest.mark.parametrize("phase,edit,needle", CHECKPOINT_CASES)
def test_resume_checks_checkpoint(capsys, run, tiny_data, tmp_path, phase, edit, needle):
    dst = _copy_run(run, tmp_path, phase)
    _edit_checkpoint(dst / "checkpoint.h5", edit)
    line = expect_error(capsys, _resume_argv(tiny_data, run, tmp_path, phase), needle, [dst / "checkpoint.h5"])
    assert "checkpoint.h5" in line


@pytest.mark.parametrize("content", [b"", b"\x89HDF\r\n garbage", b"not hdf5 at all" * 100])
def test_resume_from_corrupt_checkpoint(capsys, run, tiny_data, tmp_path, content):
    dst = _copy_run(run, tmp_path, "pretrain")
    (dst / "checkpoint.h5").write_bytes(content)
    expect_error(capsys, _resume_argv(tiny_data, run, tmp_path, "pretrain"), "checkpoint.h5", [dst / "checkpoint.h5"])


def test_resume_from_foreign_checkpoint(capsys, run, tiny_data, tmp_path):
    dst = _copy_run(run, tmp_path, "train")
    shutil.copy(run / "pretrain" / "checkpoint.h5", dst / "checkpoint.h5")
    expect_error(capsys, _resume_argv(tiny_data, run, tmp_path, "train"), "checkpoint.h5", [dst / "checkpoint.h5"])


# ------------------------------------------------------------------ 4. the mode
def test_unknown_mode_in_environment(capsys, monkeypatch):
    monkeypatch.setenv("STRUCTNET_MODE", "FOO")
    expect_error(capsys, ["summary", "--preset", "quick"], "STRUCTNET_MODE")


def test_unknown_mode_in_config(capsys):
    expect_error(capsys, ["summary", "--set", "mode=GPU"], "mode")


# ------------------------------------------------------------------ 5. config values
BAD_VALUES = [
    ("max_batches=-1", "max_batches"), ("pretrain_epochs=0", "pretrain_epochs"), ("epochs=0", "epochs"),
    ("k_most_violated=-1", "k_most_violated"), ("embed_dim=0", "embed_dim"), ("embed_dim=-5", "embed_dim"),
    ("pretrain_lr=nan", "pretrain_lr"), ("pretrain_lr=-1", "pretrain_lr"), ("lam=nan", "lam"),
    ("alpha=inf", "alpha"), ("eps_w=nan", "eps_w"), ("eps_b=0", "eps_b"), ("seed=-1", "seed"),
    ("batch_size=0", "batch_size"), ("keep_prob=2", "keep_prob"), ("det_weight=-1", "det_weight"),
    ("input_scale=nan", "input_scale"), ("curve_images=0", "curve_images"), ("pca_noise=-0.1", "pca_noise"),
    ("init_std_conv1=-1", "init_std_conv1"), ("pretrain_momentum=1.5", "pretrain_momentum"),
    ("step_min_exp=3", "step_min_exp"), ("pose_embedding=deep", "pose_embedding"), ("nope=1", "nope"),
    ("lam", "lam"), ("init_fc_from_pretrain=maybe", "init_fc_from_pretrain"), ("eval_chunk=0", "eval_chunk"),
    ("det_grid=0", "det_grid"), ("pretrain_warmup=-3", "pretrain_warmup"), ("n_candidates=5", "k_most_violated"),
]


@pytest.mark.parametrize("item,needle", BAD_VALUES)
def test_bad_config_value(capsys, item, needle):
    expect_error(capsys, ["summary", "--preset", "quick", "--set", item], needle)


def test_bad_preset(capsys, tmp_path):
    expect_error(capsys, ["pretrain", "--preset", "huge", "--run", tmp_path / "r"], "huge")
    assert not (tmp_path / "r").exists()


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


# ------------------------------------------------------------------ 8. APF options
@pytest.mark.parametrize("opt,value", [("--A", 0), ("--A", -5), ("--A", 100000), ("--layers", 0),
                                       ("--particles", 0), ("--max-images", -1)])
def test_bad_apf_option(capsys, run, tiny_data, opt, value):
    expect_error(capsys, ["apf", "--run", run / "train", "--data", tiny_data, "--eval", run / "eval", opt, value],
                 opt, [run / "eval"])


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


# ------------------------------------------------------------------ 10. silent drops
def test_eval_with_missing_pretrained(capsys, run, tiny_data, tmp_path):
    expect_error(capsys, ["eval", "--run", run / "train", "--data", tiny_data, "--out", tmp_path / "e",
                          "--pretrained", tmp_path / "nope.h5"], "nope.h5", [tmp_path])


def test_tables_readme_without_markers(capsys, run, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# a readme without markers\n")
    expect_error(capsys, ["tables", "--eval", run / "eval", "--out", tmp_path / "t.md", "--readme", readme],
                 "README.md", [tmp_path])


@pytest.mark.parametrize("splits", [",", "train,valid", ""])
def test_data_bad_splits(capsys, tmp_path, splits):
    expect_error(capsys, ["data", "--preset", "tiny", "--out", tmp_path / "o", "--splits", splits], "--splits",
                 [tmp_path])
    assert not (tmp_path / "o").exists()


def test_avg_beyond_pose_set_is_said(run):
    """The tiny pose set (120 poses) cannot give Avg(500) or Avg(1500): the results say so."""
    res = json.load(open(run / "eval" / "results.json"))
    assert "StructNet-Avg(500)" not in res["methods"]
    assert set(res["not_run"]) >= {"StructNet-Avg(500)", "StructNet-Avg(1500)"}
    assert "pose set" in res["not_run"]["StructNet-Avg(500)"]


@pytest.mark.parametrize("argv,needle", [
    (["data", "--preset", "tiny", "--workers", "0", "--out", "X"], "--workers"),
    (["data", "--preset", "tiny", "--workers", "-2", "--out", "X"], "--workers"),
    (["data", "--dataset", "h36m", "--every", "0", "--out", "X", "--root", "X"], "--every"),
    (["data", "--preset", "enormous", "--out", "X"], "enormous"),
    (["data", "--preset", "tiny", "--seed", "-4", "--out", "X"], "--seed"),
])
def test_bad_data_option(capsys, tmp_path, argv, needle):
    argv = [str(tmp_path / "o") if a == "X" else a for a in argv]
    expect_error(capsys, argv, needle, [tmp_path])


def test_unknown_option_is_one_line(capsys):
    expect_error(capsys, ["eval", "--run", "x", "--data", "x", "--out", "x", "--rnu", "y"], "--rnu")


# ------------------------------------------------------------------ 11. leftovers
def test_stale_temporaries_removed(run, tiny_data, tmp_path):
    dst = _copy_run(run, tmp_path, "pretrain")
    stale = dst / "checkpoint.h5.tmp999999999"
    stale.write_bytes(b"x" * 1000)
    assert main(_resume_argv(tiny_data, run, tmp_path, "pretrain")) == 0
    assert not stale.exists() and (dst / "model.h5").exists()


def test_stale_dataset_temporary_removed(tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    stale = out / "test.h5.tmp999999999"
    stale.write_bytes(b"x" * 1000)
    assert main(["data", "--preset", "tiny", "--out", str(out), "--splits", "test", "--workers", "1"]) == 0
    assert not stale.exists() and (out / "test.h5").exists()


# ------------------------------------------------------------------ 12. messages
def test_directory_for_hdf5_is_one_line(capsys, run, tmp_path):
    d = tmp_path / "model.h5"
    d.mkdir()
    expect_error(capsys, ["eval", "--run", tmp_path, "--data", tmp_path, "--out", tmp_path / "e"], "model.h5",
                 [tmp_path])
