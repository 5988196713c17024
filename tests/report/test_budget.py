"""report/budget.py: the budget-to-error points read back from runs, their figure, the CLI."""
import json

import pytest
from PIL import Image

from structnet.cli import main
from structnet.errors import UserError
from structnet.report.budget import budget_table, collect, write_budget


def fake_run(root, name, pre_batches, dconvmp, train_curve, pre_seconds=60.0, train_seconds=120.0):
    """A run directory as pretrain and train leave it: only the results.json the budget reads."""
    run = root / name
    for phase in ("pretrain", "train"):
        (run / phase).mkdir(parents=True)
    pre = {"phase": "pretrain", "batch_size": 32, "seconds": pre_seconds,
           "curve": [{"step": 0, "mpjpe": {"DconvMP-HML": 290.0}}, {"step": pre_batches, "mpjpe": {"DconvMP-HML": dconvmp}}]}
    tr = {"phase": "train", "batch_size": 128, "seconds": train_seconds,
          "curve": [{"step": s, "mpjpe": {"StructNet-Avg(20)": a, "StructNet-Max": m, "StructNet-Pred": 99.0}}
                    for s, a, m in train_curve]}
    (run / "pretrain" / "results.json").write_text(json.dumps(pre))
    (run / "train" / "results.json").write_text(json.dumps(tr))
    return str(run)


def test_points_in_order_of_pretraining_with_their_final_errors(tmp_path):
    long = fake_run(tmp_path, "long", 3000, 82.0, [(0, 300, 350), (25, 90, 100), (50, 78, 86)], 900, 400)
    short = fake_run(tmp_path, "short", 375, 140.0, [(0, 310, 360), (25, 150, 160)])
    pts = collect([long, short])
    assert [p["pretrain_batches"] for p in pts] == [375, 3000]
    assert pts[1]["DconvMP-HML"] == 82.0 and pts[1]["StructNet-Avg(20)"] == 78 and pts[1]["StructNet-Max"] == 86
    assert pts[1]["train_batches"] == 50 and pts[1]["pretrain_minutes"] == 15.0
    assert [q["step"] for q in pts[1]["curve"]] == [0, 25, 50] and "StructNet-Pred" not in pts[1]["curve"][0]
    table = budget_table(pts)
    assert "| 375 | 1.0 + 2.0 | 140.0 | 150.0 | 160.0 |" in table


def test_figure_and_json_written(tmp_path):
    runs = [fake_run(tmp_path, f"p{n}", n, e, [(0, 300, 350), (25, e, e + 8)]) for n, e in ((375, 140.0), (750, 110.0))]
    write_budget(runs, str(tmp_path / "out"))
    assert Image.open(tmp_path / "out" / "budget.png").format == "PNG"
    assert len(json.loads((tmp_path / "out" / "budget.json").read_text())["points"]) == 2


def test_a_run_without_a_curve_or_results_is_named(tmp_path):
    good = fake_run(tmp_path, "good", 375, 140.0, [(0, 300, 350), (25, 150, 160)])
    bad = fake_run(tmp_path, "bad", 750, 110.0, [])
    with pytest.raises(UserError, match="bad.*no learning curve"):
        collect([good, bad])
    with pytest.raises(UserError, match="missing.*no train results"):
        (tmp_path / "missing" / "pretrain").mkdir(parents=True)
        (tmp_path / "missing" / "pretrain" / "results.json").write_text((tmp_path / "good" / "pretrain" / "results.json").read_text())
        collect([good, str(tmp_path / "missing")])


def test_cli_one_line_errors(tmp_path, capsys):
    good = fake_run(tmp_path, "good", 375, 140.0, [(0, 300, 350), (25, 150, 160)])
    assert main(["budget", "--runs", good, "--out", str(tmp_path / "out")]) == 2
    assert "at least two runs" in capsys.readouterr().err
    assert not (tmp_path / "out" / "budget.json").exists()
    other = fake_run(tmp_path, "other", 750, 110.0, [(0, 300, 350), (25, 120, 130)])
    assert main(["budget", "--runs", good, other, "--out", good]) == 2        # onto a run it reads
    assert main(["budget", "--runs", good, other, "--out", str(tmp_path / "out")]) == 0
    assert "| 750 |" in capsys.readouterr().out
