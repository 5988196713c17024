"""train/runs.py: run directories, atomic checkpoints, the logs' readers."""
import os

import numpy as np
import pytest

from structnet.errors import UserError
from structnet.train.runs import load_checkpoint


def test_interrupt_during_a_checkpoint_write_stops_after_it(tmp_path, monkeypatch):
    """Ctrl-C while the checkpoint is written: the write completes, then the interrupt stops the run."""
    import os
    import signal
    from structnet import io
    from structnet.train import runs
    real = io.h5py.File

    class Interrupting(real):
        def flush(self):
            os.kill(os.getpid(), signal.SIGINT)       # arrives in the middle of the write
            return super().flush()
    monkeypatch.setattr(io.h5py, "File", Interrupting)
    path = tmp_path / "c.h5"
    with pytest.raises(KeyboardInterrupt):
        runs.save_checkpoint(str(path), {"a/W": np.ones((2, 2), np.float32)}, {"epoch": 1})
    monkeypatch.setattr(io.h5py, "File", real)
    params, state, _ = load_checkpoint(str(path))           # complete and readable
    assert state == {"epoch": 1} and params["a/W"].shape == (2, 2)
    assert not list(tmp_path.glob("*.tmp*"))


def test_stale_temporaries_of_killed_runs_are_removed(tmp_path):
    from structnet.train.runs import prepare_run_dir
    run = tmp_path / "run"
    run.mkdir()
    (run / "checkpoint.h5.tmp999999").write_bytes(b"half")     # no such process
    (run / f"checkpoint.h5.tmp{os.getppid()}").write_bytes(b"live")  # a running writer's
    prepare_run_dir(str(run), {"a": 1}, resume=False)
    assert not (run / "checkpoint.h5.tmp999999").exists()
    assert (run / f"checkpoint.h5.tmp{os.getppid()}").exists()


def test_checkpoint_checks_and_curve_reader(tmp_path):
    import json

    from structnet.train.runs import check_checkpoint, read_curve
    good = {"h1/W": np.zeros((2, 3), np.float32)}
    check_checkpoint("c.h5", good, {"h1/W": (2, 3)}, {"epoch": 1, "batch": 2}, 3, 5)
    for params, expected, state, msg in ((good, {"h1/W": (2, 3), "h2/W": (1,)}, {"epoch": 0, "batch": 0}, "missing h2/W"),
                                        (good, {"h1/W": (3, 3)}, {"epoch": 0, "batch": 0}, "has shape"),
                                        (good, {"h1/W": (2, 3)}, {"epoch": 3, "batch": 1}, "outside this run"),
                                        (good, {"h1/W": (2, 3)}, {"epoch": "1", "batch": 0}, "outside this run")):
        with pytest.raises(UserError, match=msg):
            check_checkpoint("c.h5", params, expected, state, 3, 5)
    log = tmp_path / "log.jsonl"
    pts = [{"phase": "train", "event": "curve", "step": s, "seconds": s, "mpjpe": {"M": 100 - s}} for s in (50, 0, 25)]
    log.write_text("".join(json.dumps(p) + "\n" for p in pts + [pts[0] | {"mpjpe": {"M": 1}}]))
    curve = read_curve(str(log), "train")
    assert [p["step"] for p in curve] == [0, 25, 50] and curve[-1]["mpjpe"] == {"M": 1}   # a resumed point wins
