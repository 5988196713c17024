"""train/loop.py: the loop of both phases: its data checks and the feed's accounting."""
import pytest

from conftest import tiny_config
from structnet.train import pretrain
from structnet.errors import UserError


def test_missing_data_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no such dataset file"):
        pretrain.run_pretrain(tiny_config(tmp_path), str(tmp_path / "run"))


def test_feed_stats_over_a_phases_log(tmp_path):
    """feed_wait_fraction = the steps' wait / (wait + steps), over every batch of the log,
    resumed sessions included; other phases and events are not counted."""
    import json

    from structnet.train.loop import feed_stats
    log = tmp_path / "log.jsonl"
    recs = [{"phase": "train", "epoch": 0, "batch": 0, "wait_s": 1.0, "step_s": 2.0},
            {"phase": "train", "epoch": 0, "batch": 1, "wait_s": 0.0, "step_s": 2.0},
            {"phase": "train", "event": "curve", "step": 2},
            {"phase": "pretrain", "epoch": 0, "batch": 0, "wait_s": 9.0, "step_s": 1.0},
            {"phase": "train", "epoch": 1, "batch": 0, "wait_s": 0.0, "step_s": 3.0}]
    log.write_text("".join(json.dumps(r) + "\n" for r in recs) + "{cut short")
    s = feed_stats(str(log), "train", 2)
    assert s["feed_workers"] == 2 and abs(s["feed_wait_fraction"] - 1 / 8) < 1e-12
    assert s["feed_wait_s"] == {"total": 1.0, "median": 0.0, "max": 1.0} and s["step_s"]["total"] == 7.0
    assert feed_stats(str(log), "nothing", 1) == {}
