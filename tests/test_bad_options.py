"""Hostile input (issue 13): the mode, config values, APF options, silent drops."""
import json

import pytest

from hostile import _quiet  # noqa: F401 (autouse)
from hostile import expect_error, run  # noqa: F401 (fixtures)


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


# ------------------------------------------------------------------ 8. APF options
@pytest.mark.parametrize("opt,value", [("--A", 0), ("--A", -5), ("--A", 100000), ("--layers", 0),
                                       ("--particles", 0), ("--max-images", -1)])
def test_bad_apf_option(capsys, run, tiny_data, opt, value):
    expect_error(capsys, ["apf", "--run", run / "train", "--data", tiny_data, "--eval", run / "eval", opt, value],
                 opt, [run / "eval"])


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


def test_data_h36m_has_no_poses_split(capsys, tmp_path):
    """The synthetic world's pose set is a split of its own; Human3.6M's comes from --npz."""
    line = expect_error(capsys, ["data", "--dataset", "h36m", "--root", tmp_path, "--out", tmp_path / "o",
                                 "--splits", "poses"], "--splits", [tmp_path])
    assert "train, test" in line


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
