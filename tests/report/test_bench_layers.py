"""make bench's layers section: every conv and pool timed, the README table from it."""
from structnet.report.bench_layers import CONVS, bench_layers, layers_table


def test_layers_section_and_table():
    res = bench_layers(batch=2, reps=1, warmup=0)
    for name, *_, need_gx in CONVS:
        row = res[name]
        for label in ("ours", "im2col"):
            assert row[label]["forward_gflops"] > 0 and row[label]["backward_s"] > 0
            assert ("grad_x_s" in row[label]) == need_gx
        assert res["pool" + name[-1]]["ours"]["forward_s"] > 0
    table = layers_table(res, "x.json")
    rows = [ln for ln in table.splitlines() if ln.startswith("| conv") or ln.startswith("| after")]
    assert len(rows) == 6 and "`x.json`" in table
