"""``make bench`` in JAX mode: the arithmetic an Algorithm-1 batch needs, the reference for
XLA's cost analysis of our fused batch (``structnet.engine.timing.xla_analysis``)."""


def needed_gflop(cfg, batch, candidates, n_steps):
    """The arithmetic one Algorithm-1 batch needs, in GFLOP (a multiply-add = 2): what any
    implementation of the paper's algorithm must compute, the reference for the fused
    batch's FLOPs (``xla_analysis``). Counted: the conv stack's forward; the FC forward with
    dropout off (image head, the candidates' and the true poses' embeddings, the scores) and
    its backward (weight gradients; no input gradient into the frozen features); the line
    search's ``n_steps`` costs through the linear expansion of ``StepFunctions`` (the
    gradient's products with the fixed inputs of h1, h2 and h5 once, then per step: h3,
    h4, g7, h6 on the candidates and the true poses, the scores); the update's forward with dropout on
    (h3, h4, g7, scores; the rest is the first forward's) and its backward. Elementwise work
    is not counted (it is below 1% of this)."""
    from structnet.model.network import CONV_LAYERS, POOL2_WIDTH, POOL3_WIDTH, dense_layers
    B, C, E = batch, candidates, cfg.embedding_size
    size, conv = 112, 0
    for _, cin, cout, k, _ in CONV_LAYERS:
        out = size - k + 1
        conv += 2 * batch * cout * cin * k * k * out * out
        size = out // 2
    fc = {name: (n_in, n_out) for name, n_in, n_out, _, _ in dense_layers(cfg)}
    mm = lambda rows, layer: 2 * rows * fc[layer][0] * fc[layer][1]                 # noqa: E731
    pose = [n for n in ("h5", "h6") if n in fc]
    head = mm(B, "h3") + mm(B, "h4") + mm(B, "g7")
    fwd = mm(B, "h1") + mm(B, "h2") + head + sum(mm(C + 2 * B, n) for n in pose) + 2 * B * C * E
    # backward: dW of every layer; dX of every layer but h1, h2 (frozen features) and h5 (poses)
    bwd = mm(B, "h1") + mm(B, "h2") + 2 * head + sum(mm(2 * B, n) for n in pose) + (mm(2 * B, "h6") if "h6" in fc else 0)
    prep = 2 * B * POOL2_WIDTH * fc["h1"][1] + 2 * B * POOL3_WIDTH * fc["h2"][1] + (mm(C + 2 * B, "h5") if pose else 0)
    per_step = head + (mm(C + 2 * B, "h6") if "h6" in fc else 0) + 2 * B * C * E
    update = head + 2 * B * C * E + bwd
    total = conv + fwd + bwd + prep + n_steps * per_step + update
    return {"total": total / 1e9, "conv_forward": conv / 1e9, "fc_forward": fwd / 1e9, "fc_backward": bwd / 1e9,
            "line_search": (prep + n_steps * per_step) / 1e9, "update": update / 1e9}
