"""report/bench_layers.py: every conv and pool timed, GFLOP/s the FLOPs over the time, and the
table (legacy_notes/speed.md) made from it."""
from structnet.report.bench_layers import CONVS, bench_layers, layers_table


def test_layers_section_and_table():
    res = bench_layers(batch=2, reps=1, warmup=0)
    for name, *_, need_gx in CONVS:
        row = res[name]
        for label in ("ours", "im2col"):
            r = row[label]
            assert abs(r["forward_gflops"] * r["forward_s"] - row["gflop_per_pass"]) < 1e-9 * row["gflop_per_pass"]
            assert r["backward_s"] > 0 and ("grad_x_s" in r) == need_gx
        assert res["pool" + name[-1]]["ours"]["forward_s"] > 0
    table = layers_table(res, "x.json")
    rows = [ln for ln in table.splitlines() if ln.startswith("| conv") or ln.startswith("| after")]
    assert len(rows) == 6 and "`x.json`" in table
    assert f"| conv1 | {res['conv1']['gflop_per_pass']:.1f} | {res['conv1']['ours']['forward_gflops']:.0f} / " in table
