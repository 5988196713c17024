"""report/bench_jax.py: the arithmetic an Algorithm-1 batch needs (the reference of XLA's FLOPs)."""
def test_needed_arithmetic_counts_the_paper_batch():
    """The reference count of an Algorithm-1 batch at paper sizes: the conv stack's forward is
    the layers bench's 62.2 GFLOP (21.5 + 30.2 + 10.5), and the line search's ten costs
    dominate the fully connected work."""
    from structnet.config import paper
    from structnet.report.bench_jax import needed_gflop
    n = needed_gflop(paper(), 128, 2010, 10)
    assert abs(n["conv_forward"] - 62.2) < 0.1
    assert n["line_search"] > n["fc_forward"] > n["update"] * 0.5
    assert abs(n["total"] - sum(v for k, v in n.items() if k != "total")) < 1e-9
