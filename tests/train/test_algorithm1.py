"""train/algorithm1.py: Algorithm 1 lowers the cost, resumes exactly, and stops cleanly on NaN."""
import json
import os

import numpy as np
import pytest

from conftest import tiny_config
from structnet.train import algorithm1, loop, pretrain
from structnet.errors import UserError
from structnet.train.runs import load_checkpoint


@pytest.fixture(scope="module")


def pretrained(tiny_data, tmp_path_factory):
    run = tmp_path_factory.mktemp("pre")
    res = pretrain.run_pretrain(tiny_config(tiny_data, pretrain_epochs=2), str(run))
    return run, res


def test_pretraining_lowers_its_cost(pretrained):
    run, res = pretrained
    log = [json.loads(x) for x in open(run / "log.jsonl") if '"batch"' in x]
    first, last = log[0]["cost"], log[-1]["cost"]
    assert len(log) == 8 and last < first
    assert os.path.exists(run / "model.h5") and os.path.exists(run / "config.json")


def test_training_lowers_the_cost_and_resumes_exactly(pretrained, tiny_data, tmp_path, monkeypatch):
    pre = str(pretrained[0] / "model.h5")
    cfg = tiny_config(tiny_data, epochs=2)
    full = tmp_path / "full"
    algorithm1.run_train(cfg, str(full), pre)
    log = [json.loads(x) for x in open(full / "log.jsonl") if '"batch"' in x]
    assert len(log) == 8
    # the line search picked the step of least trial cost, and that cost is below the start
    for r in log:
        assert r["best_trial_cost"] == min(r["trial_costs"]) <= r["cost"] + 1e-6
    # every batch's chosen step lowers the cost of that batch (batches of 8 are too noisy to
    # compare the cost of one batch with another's)
    assert sum(r["best_trial_cost"] < r["cost"] - 1e-6 for r in log) >= 6, [(r["cost"], r["best_trial_cost"]) for r in log]
    # --resume on the finished run leaves its results and model as they are
    before = {n: (full / n).read_bytes() for n in ("results.json", "model.h5")}
    again = algorithm1.run_train(cfg, str(full), pre, resume=True)
    assert again["final"] and {n: (full / n).read_bytes() for n in before} == before

    # an interrupted run (killed after its 6th batch was logged) resumed from its checkpoint
    part = tmp_path / "part"
    calls = {"n": 0}
    real_log = loop.Log.__call__

    def dying_log(self, **rec):
        real_log(self, **rec)
        if rec.get("batch") is not None:
            calls["n"] += 1
            if calls["n"] == 6:
                raise KeyboardInterrupt
    monkeypatch.setattr(loop.Log, "__call__", dying_log)
    with pytest.raises(KeyboardInterrupt):
        algorithm1.run_train(cfg, str(part), pre)
    monkeypatch.setattr(loop.Log, "__call__", real_log)
    _, state, _ = load_checkpoint(str(part / "checkpoint.h5"))
    assert (state["epoch"], state["batch"]) == (1, 1)
    algorithm1.run_train(cfg, str(part), pre, resume=True)
    a, _, wa = load_checkpoint(str(full / "checkpoint.h5"))
    b, _, wb = load_checkpoint(str(part / "checkpoint.h5"))
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    np.testing.assert_array_equal(wa["working_set"], wb["working_set"])
    with pytest.raises(UserError, match="different config"):
        algorithm1.run_train(tiny_config(tiny_data, epochs=3), str(part), pre, resume=True)


def test_corrupt_checkpoint_and_nan(pretrained, tiny_data, tmp_path, monkeypatch):
    pre = str(pretrained[0] / "model.h5")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "checkpoint.h5").write_bytes(b"\x89HDF\r\n garbage")
    with pytest.raises(UserError, match="checkpoint.h5: corrupt checkpoint"):
        algorithm1.run_train(tiny_config(tiny_data), str(bad), pre, resume=True)
    with pytest.raises(UserError, match="no pre-trained convolution"):
        algorithm1.load_pretrained_convs(_write_empty(tmp_path))
    # a NaN cost stops the run with a clear message; the last good checkpoint stays
    nan = tmp_path / "nan"
    with pytest.raises(loop.TrainingDiverged, match="cost became (nan|inf) at train epoch 0 batch 1"):
        algorithm1.run_train(tiny_config(tiny_data, step_max_exp=30, step_min_exp=30, alpha=1e30), str(nan), pre)
    assert not os.path.exists(nan / "checkpoint.h5")           # nothing good to keep yet
    # parameters that turn NaN in the 2nd update: the run stops, the checkpoint of batch 1 stays
    from structnet.train.steps import StepFunctions
    real_apply = StepFunctions.apply
    n = {"calls": 0}

    def poisoned(self, *a, **k):
        out = real_apply(self, *a, **k)
        n["calls"] += 1
        if n["calls"] == 2:
            w = self.net.params["h3/W"]
            w.set_value(np.full_like(w.get_value(), np.nan))
        return out
    monkeypatch.setattr(StepFunctions, "apply", poisoned)
    ok = tmp_path / "ok"
    with pytest.raises(loop.TrainingDiverged, match="last good checkpoint"):
        algorithm1.run_train(tiny_config(tiny_data), str(ok), pre)
    params, state, _ = load_checkpoint(str(ok / "checkpoint.h5"))
    assert state["batch"] == 1 and all(np.all(np.isfinite(v)) for v in params.values())


def _write_empty(tmp_path):
    from structnet.train.runs import save_checkpoint
    p = tmp_path / "empty.h5"
    save_checkpoint(str(p), {"h1/W": np.zeros((2, 2), np.float32)}, {})
    return str(p)
