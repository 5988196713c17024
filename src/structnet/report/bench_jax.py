"""``make bench`` in JAX mode: timings that wait for JAX's asynchronous results, XLA's own
cost analysis of a compiled function, and the arithmetic an Algorithm-1 batch needs."""
import numpy as np


def jax_ready(*objs):
    """Block until every JAX array in ``objs`` (nested lists, tuples, dicts; shared variables
    by their value) is computed. JAX dispatches asynchronously: a call returns before its
    results exist, so a timing that does not wait measures the dispatch (CPU JAX, batch 128:
    forward 0.00 s unwaited, 4.28 s waited). Objects that are not JAX arrays are skipped."""
    todo, seen = list(objs), []
    while todo:
        o = todo.pop()
        if isinstance(o, dict):
            todo.extend(o.values())
        elif isinstance(o, (list, tuple)):
            todo.extend(o)
        elif hasattr(o, "get_value") and hasattr(o, "type"):          # a shared variable
            todo.append(o.get_value(borrow=True, return_internal_type=True))
        elif hasattr(o, "block_until_ready"):
            seen.append(o)
    for a in seen:
        a.block_until_ready()
    return len(seen)


def waited(fn, shared):
    """``fn`` timed as it computes: its results and every variable in ``shared`` (the
    parameters and buffers its updates write) waited for (``jax_ready``)."""
    def run():
        r = fn()
        jax_ready(r, shared)
        return r
    return run


def xla_analysis(function, args=None):
    """XLA's own account of a compiled JAX-mode PyTensor function, lowered for ``args`` (its
    explicit inputs; default: zeros of its static input shapes) and its shared variables'
    values: FLOPs and bytes accessed (``cost_analysis``), and from its optimised HLO the
    float64 tensors (count, largest in bytes), convolutions, dot_generals and gathers."""
    import re
    vm = function.vm
    n_explicit = len(function.maker.inputs) - sum(1 for i in function.maker.inputs if i.shared)
    if args is None:
        args = [np.zeros(i.variable.type.shape, i.variable.type.dtype) for i in function.maker.inputs[:n_explicit]]
    values = list(args) + [s[0] for s in vm.inputs[len(args):]]
    compiled = vm.jit_fn.lower(*values).compile()
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    hlo = compiled.as_text()
    f64 = [int(np.prod([int(d) for d in dims.split(",") if d])) * 8 if dims else 8
           for dims in re.findall(r"f64\[([0-9,]*)\]", hlo)]
    return {"gflop": float(cost.get("flops", float("nan"))) / 1e9,
            "gb_accessed": float(cost.get("bytes accessed", float("nan"))) / 1e9,
            "f64_tensors": len(f64), "f64_largest_bytes": max(f64, default=0),
            "f64_over_1mb": sum(b > 2 ** 20 for b in f64),
            "convolutions": len(re.findall(r"= \S+ convolution\(", hlo)),
            "dot_generals": len(re.findall(r"= \S+ dot\(", hlo)),
            "gathers": len(re.findall(r"= \S+ gather\(", hlo))}


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
