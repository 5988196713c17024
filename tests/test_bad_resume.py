"""Hostile input (issue 13): data loss, resume from a damaged checkpoint, leftovers of killed runs."""
import json
import shutil

import numpy as np
import pytest

from hostile import _quiet  # noqa: F401 (autouse)
from hostile import _copy_run, _edit_checkpoint, _resume_argv, expect_error, run, snapshot  # noqa: F401 (fixtures)
from structnet.cli import main


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
