"""``make bench``, section ``layers``: each convolution and max-pool of the network alone.

Per conv layer at paper sizes (batch 128): the forward pass, the weight gradient and the
input gradient (not for conv1, whose input is the image), in seconds and GFLOP/s (nominal
FLOPs, 2 * C * k * k * O * Ho * Wo * N per pass), for our native kernels
(``structnet.engine.ops.native``, what every CPU mode runs), for the im2col + BLAS kernels they
replaced (``structnet.engine.ops.conv.im2col_*``, the Numba fallback: the "before" of the
CPU-speed work) and, when ``torch`` is importable, for PyTorch's own CPU convolution
(``aten.convolution`` and ``aten.convolution_backward``, NCHW). Per pool: forward and
gradient, ours and PyTorch's (``max_pool2d`` with ceil sizing). Run in a child process
under the same environment as the network section.
"""
import os

import numpy as np

from structnet.engine.timing import median_time as _time

# name, in channels, out channels, kernel, input size, input gradient needed
CONVS = (("conv1", 3, 32, 9, 112, False), ("conv2", 32, 64, 5, 52, True), ("conv3", 64, 64, 5, 24, True))


def _entry(gflop, fwd, gw, gx):
    bwd = gw + (gx or 0.0)
    e = {"forward_s": fwd, "grad_w_s": gw, "grad_x_s": gx, "backward_s": bwd,
         "forward_gflops": gflop / fwd, "backward_gflops": gflop * (2 if gx else 1) / bwd}
    return {k: v for k, v in e.items() if v is not None}


def _torch_conv(x, w, gz, need_gx, reps, warmup):
    import torch
    torch.set_num_threads(os.cpu_count() or 1)
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(1, 0, 2, 3)))      # NCHW
    wt = torch.from_numpy(w)
    gzt = torch.from_numpy(np.ascontiguousarray(gz.transpose(1, 0, 2, 3)))
    conv = torch.ops.aten.convolution
    back = torch.ops.aten.convolution_backward
    args = ([1, 1], [0, 0], [1, 1], False, [0, 0], 1)
    with torch.no_grad():
        fwd = _time(lambda: conv(xt, wt, None, *args), reps, warmup)
        bwd = _time(lambda: back(gzt, xt, wt, None, *args, [need_gx, True, False]), reps, warmup)
    return fwd, bwd


def _torch_pool(z, gp, reps, warmup):
    import torch
    zt = torch.from_numpy(np.ascontiguousarray(z))
    gt = torch.from_numpy(np.ascontiguousarray(gp))
    with torch.no_grad():
        fwd = _time(lambda: torch.ops.aten.max_pool2d_with_indices(zt, [3, 3], [2, 2], [0, 0], [1, 1], True),
                    reps, warmup)
        _, idx = torch.ops.aten.max_pool2d_with_indices(zt, [3, 3], [2, 2], [0, 0], [1, 1], True)
        bwd = _time(lambda: torch.ops.aten.max_pool2d_with_indices_backward(
            gt, zt, [3, 3], [2, 2], [0, 0], [1, 1], True, idx), reps, warmup)
    return fwd, bwd


def bench_layers(batch=128, reps=5, warmup=1, seed=0):
    """dict layer -> {gflop, ours, im2col, torch} (conv) or {ours, torch} (pool after that conv)."""
    from structnet.engine.ops import conv as cv
    from structnet.engine.ops import native, pool
    try:
        import torch  # noqa: F401
        have_torch = True
    except ImportError:
        have_torch = False
    rng = np.random.default_rng(seed)
    out = {"batch": batch, "native_kernels": native.available(), "vector_width": native.vector_width(),
           "block_channels": native.block_channels(), "threads": int(os.environ.get("STRUCTNET_THREADS") or os.cpu_count() or 1)}
    for name, cin, cout, k, size, need_gx in CONVS:
        ho = size - k + 1
        gflop = 2.0 * cin * k * k * cout * ho * ho * batch / 1e9
        x = rng.standard_normal((cin, batch, size, size), dtype=np.float32)
        w = (rng.standard_normal((cout, cin, k, k), dtype=np.float32) * 0.01)
        gz = rng.standard_normal((cout, batch, ho, ho), dtype=np.float32)
        row = {"gflop_per_pass": gflop}
        kernels = {"ours": cv.kernels()[:3],
                   "im2col": (cv.im2col_fwd, cv.im2col_grad_w, cv.im2col_grad_x)}
        for label, (f, g_w, g_x) in kernels.items():
            fwd = _time(lambda: f(x, w), reps, warmup)
            gw = _time(lambda: g_w(x, gz), reps, warmup)
            gx = _time(lambda: g_x(w, gz), reps, warmup) if need_gx else None
            row[label] = _entry(gflop, fwd, gw, gx)
        if have_torch:
            fwd, bwd = _torch_conv(x, w, gz, need_gx, reps, warmup)
            row["torch"] = {"forward_s": fwd, "backward_s": bwd, "forward_gflops": gflop / fwd,
                            "backward_gflops": gflop * (2 if need_gx else 1) / bwd}
        out[name] = row
        z = cv.kernels()[0](x, w)
        gp = rng.standard_normal((cout, batch, ho // 2, ho // 2), dtype=np.float32)
        prow = {"input": list(z.shape),
                "ours": {"forward_s": _time(lambda: pool.maxpool_fwd(z), reps, warmup),
                         "backward_s": _time(lambda: pool.maxpool_grad(z, gp), reps, warmup)}}
        if have_torch:
            fwd, bwd = _torch_pool(z, gp, reps, warmup)
            prow["torch"] = {"forward_s": fwd, "backward_s": bwd}
        out["pool" + name[-1]] = prow
    return out


def layers_table(res, source):
    """Markdown: per conv layer, forward and backward GFLOP/s (ours, im2col before, PyTorch)."""
    lines = ["| layer | GFLOP per pass | forward GFLOP/s: ours / before / PyTorch | "
             "backward GFLOP/s: ours / before / PyTorch |", "|---|---|---|---|"]
    for name, *_ in CONVS:
        r = res[name]
        t = r.get("torch", {})

        def g(key, r=r, t=t):
            return " / ".join(f"{v:.0f}" if v else "-" for v in
                              (r["ours"][key], r["im2col"][key], t.get(key)))
        lines.append(f"| {name} | {r['gflop_per_pass']:.1f} | {g('forward_gflops')} | {g('backward_gflops')} |")
    lines.append("\n| pool (3x3/2) | input | forward ms: ours / PyTorch | backward ms: ours / PyTorch |")
    lines.append("|---|---|---|---|")
    for name, *_ in CONVS:
        p = res["pool" + name[-1]]
        t = p.get("torch", {})

        def ms(key, p=p, t=t):
            return " / ".join(f"{v * 1e3:.0f}" if v else "-" for v in (p["ours"][key], t.get(key)))
        lines.append(f"| after {name} | {'x'.join(map(str, p['input']))} | {ms('forward_s')} | {ms('backward_s')} |")
    lines.append(f"\nFrom `{source}` (section `layers`): batch {res['batch']}, {res['threads']} threads, "
                 f"{32 * res.get('vector_width', 8)}-bit vectors, blocks of {res.get('block_channels', 32)} channels; "
                 "backward = weight gradient + input gradient (conv1: weight gradient only); "
                 "\"before\" = the im2col + BLAS kernels the native ones replaced.")
    return "\n".join(lines)
