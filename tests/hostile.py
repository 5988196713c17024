"""What the hostile-input tests share: the check of a one-line error with nothing changed
(``expect_error``), a finished tiny run to damage copies of (``run``), quiet progress.

The cases, by issue 13's classes: ``test_bad_resume.py`` (1 data loss, 2 resume, 11
leftovers), ``test_bad_options.py`` (4 the mode, 5 config values, 8 APF options, 10 silent
drops), ``test_bad_files.py`` (6 output paths, 7 artefacts read, 9 BVH, 12 messages);
signals (3) in ``test_signals.py``. Every case is a one-line error (exit 2, no traceback,
the file or option named) or the right behaviour, and no file changes or is left behind."""
import hashlib
import os
import shutil

import h5py
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


@pytest.fixture(scope="session")
def run(tiny_data, tmp_path_factory):
    """A finished tiny pretrain + train + eval run (once per session; tests copy what they alter)."""
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
