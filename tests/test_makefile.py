"""The Makefile's recipes, read with ``make -n`` (nothing runs): what `make all` asks of
the steps it does not run itself."""
import os
import shutil
import subprocess

import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..")

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="no make")


def _tables_command(tmp_path, run):
    r = subprocess.run(["make", "-n", "tables", f"RUN={run}", f"VENV={tmp_path / 'venv'}"], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stdout.splitlines() if "structnet tables" in ln]
    assert len(lines) == 1, r.stdout
    return lines[0]


def test_tables_without_ablations_do_not_ask_for_them(tmp_path):
    """`make all` runs no ablations; its last step, `tables`, must not name their
    directory (the tables command refuses a missing one; Table 3 then says "not run")."""
    run = tmp_path / "run"
    assert "--ablations" not in _tables_command(tmp_path, run)
    (run / "ablations").mkdir(parents=True)
    assert f"--ablations {run}/ablations" in _tables_command(tmp_path, run)


def _lines(tmp_path, *args):
    r = subprocess.run(["make", "-n", *args, f"VENV={tmp_path / 'venv'}"], cwd=ROOT, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()


def test_predict_exports_test_images_or_takes_the_users(tmp_path):
    run = tmp_path / "run"
    out = _lines(tmp_path, "predict", f"RUN={run}")
    export = [ln for ln in out if "structnet export-images" in ln]
    pred = [ln for ln in out if "structnet predict" in ln]
    assert len(export) == 1 and "test.h5" in export[0] and len(pred) == 1
    assert f"{run}/predict-inputs --out {run}/predict --sheet" in pred[0]
    out = _lines(tmp_path, "predict", f"RUN={run}", "INPUT=me.jpg clip.mp4")
    assert not [ln for ln in out if "export-images" in ln]
    assert [ln for ln in out if "structnet predict" in ln and "me.jpg clip.mp4 --out" in ln]


def test_all_runs_the_ablations_before_the_tables(tmp_path):
    """Table 3 and StructNet*-Max come from `make all` (issue 23): the ablations run, then the
    tables name them."""
    run = tmp_path / "run"
    out = _lines(tmp_path, "all", f"RUN={run}")
    abl = [i for i, ln in enumerate(out) if f"dir={run}/ablations/" in ln]
    tab = [i for i, ln in enumerate(out) if "structnet tables" in ln]
    assert abl and tab and abl[0] < tab[0]


def test_eval_and_apf_search_the_synthetic_pose_set(tmp_path):
    """The synthetic world's eval and APF search DATA/poses.h5 (deviations.md 24), which a
    dataset built before it existed gets from `data --splits poses`; Human3.6M without
    H36M_NPZ searches its training set."""
    data, run = tmp_path / "data", tmp_path / "run"
    data.mkdir()
    (data / "test.h5").write_text("")                  # a dataset made before the pose set
    out = _lines(tmp_path, "apf", f"DATA={data}", f"RUN={run}")
    make_poses = [ln for ln in out if "structnet data" in ln]
    assert len(make_poses) == 1 and make_poses[0].endswith(f"--out {data} --splits poses")
    commands = "\n".join(out).replace("\\\n", " ").splitlines()     # continuation lines joined
    for cmd in ("structnet eval", "structnet apf"):
        line = [ln for ln in commands if cmd in ln]
        assert len(line) == 1 and f"--pose-set {data}/poses.h5" in line[0], cmd
    (data / "poses.h5").write_text("")
    assert not [ln for ln in _lines(tmp_path, "apf", f"DATA={data}", f"RUN={run}") if "structnet data" in ln]
    out = _lines(tmp_path, "apf", "DATASET=h36m", f"DATA={data}", f"RUN={run}")
    assert not [ln for ln in out if "--pose-set" in ln]
