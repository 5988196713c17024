"""report/summary.py: every layer with its output and parameter shapes (``make summary``)."""
from structnet.config import paper
from structnet.model.network import StructNet
from structnet.report.summary import format_table, layer_rows


def test_table_counts_every_parameter():
    net = StructNet(paper(), 0)
    rows = layer_rows(net)
    text = format_table(rows)
    n = sum(v.get_value().size for v in net.params.values())
    assert f"parameters: {n:,}" in text and "conv1" in text and "h6" in text
    raw = layer_rows(StructNet(paper().override(["pose_embedding=raw"]), 0))
    assert not {"h5", "h6"} & {r["name"] for r in raw}
