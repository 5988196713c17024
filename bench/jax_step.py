"""Reference timings in plain JAX: the StructNet network and one Algorithm-1 batch written
directly in jax.numpy, as ``torch_step.py`` writes them in PyTorch.

What it is for: structnet's JAX mode compiles PyTensor graphs to XLA. This file is the same
arithmetic written by hand (NCHW convolutions, float32 throughout, the line search's ten
costs as the paper and torch_step.py compute them), so that XLA's cost analysis and the
time of the two can be put side by side on any JAX backend, CPU included: a gap between
them is a defect of our graphs, not of XLA or of the device.

Steps timed (median of --reps after --warmup, every result waited for):
  forward      image embedding of the batch + pose embedding of the candidates + scores
  algo1_batch  conv features (frozen), the gradient with dropout off and the most-violated
               poses, the cost at each of the 10 steps 1e-7 .. 1e2 (every FC parameter moved
               by step * eps * grad), the best step, the update with dropout on; one jit

    python jax_step.py [--reps 5] [--batch 128] [--candidates 2010]

Prints one JSON object, with XLA's FLOPs and bytes per call (``cost_analysis``).
"""
import argparse
import json
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

jax.config.update("jax_enable_x64", False)

DN = ("NCHW", "OIHW", "NCHW")


def make_params(rng):
    def w(*shape, std):
        return jnp.asarray((rng.standard_normal(shape) * std).astype(np.float32))
    z = lambda n: jnp.zeros(n, jnp.float32)          # noqa: E731
    return {"conv1.W": w(32, 3, 9, 9, std=5e-5), "conv1.b": z(32), "conv2.W": w(64, 32, 5, 5, std=1e-3),
            "conv2.b": z(64), "conv3.W": w(64, 64, 5, 5, std=1e-3), "conv3.b": z(64),
            "h1.W": w(64 * 24 * 24, 256, std=1e-3), "h1.b": z(256), "h2.W": w(64 * 10 * 10, 1024, std=1e-3),
            "h2.b": z(1024), "h3.W": w(1280, 2048, std=1e-3), "h3.b": z(2048), "h4.W": w(2048, 1024, std=1e-3),
            "h4.b": z(1024), "g7.W": w(2048, 51, std=1e-3), "g7.b": z(51), "h5.W": w(51, 1024, std=0.1),
            "h5.b": z(1024), "h6.W": w(1024, 1024, std=0.1), "h6.b": z(1024)}


def pool(x):
    """3x3 max-pool at stride 2, cuda-convnet sizing (104 -> 52, 48 -> 24, 20 -> 10)."""
    H, W = x.shape[2:]
    ph, pw = (-(-(H - 3) // 2)) * 2 + 3 - H, (-(-(W - 3) // 2)) * 2 + 3 - W
    return lax.reduce_window(x, -jnp.inf, lax.max, (1, 1, 3, 3), (1, 1, 2, 2), ((0, 0), (0, 0), (0, ph), (0, pw)))


def convs(p, x):
    c = lambda x, n: lax.conv_general_dilated(x, p[n + ".W"], (1, 1), "VALID", dimension_numbers=DN) \
        + p[n + ".b"][None, :, None, None]            # noqa: E731
    c1 = pool(jax.nn.relu(c(x, "conv1")))
    c2 = pool(jax.nn.relu(c(c1, "conv2")))
    c3 = pool(c(c2, "conv3"))
    return c2.reshape(len(x), -1), c3.reshape(len(x), -1)


def cost(p, feats, y, cand, margin, mask, lam=1.0, alpha=1e-4):
    f2, f3 = feats
    h = jnp.concatenate([jax.nn.relu(f2 @ p["h1.W"] + p["h1.b"]), jax.nn.relu(f3 @ p["h2.W"] + p["h2.b"])], 1) * mask
    h3 = jax.nn.relu(h @ p["h3.W"] + p["h3.b"])
    f_img = jax.nn.relu(h3 @ p["h4.W"] + p["h4.b"])
    pose = lambda q: jax.nn.relu(jax.nn.relu(q @ p["h5.W"] + p["h5.b"]) @ p["h6.W"] + p["h6.b"])   # noqa: E731
    violation = jnp.max(f_img @ pose(cand).T + margin, axis=1)          # max-pool over candidates
    hinge = jnp.mean(jax.nn.relu(violation - jnp.sum(f_img * pose(y), 1)))
    aux = jnp.tanh(h3 @ p["g7.W"] + p["g7.b"])
    reg = sum(jnp.sum(v * v) for k, v in p.items() if k.endswith(".W") and not k.startswith("conv"))
    return hinge + lam * jnp.mean(jnp.sum((aux - y) ** 2, 1)) + alpha * reg


FC = ("h1", "h2", "h3", "h4", "g7", "h5", "h6")


def algo1(p, x, y, cand, margin, mask, grid):
    feats = lax.stop_gradient(convs(p, x))
    fc = {k: v for k, v in p.items() if k.split(".")[0] in FC}
    eps = {k: (5e-4 if k.endswith(".W") else 2e-3) for k in fc}
    ones = jnp.ones_like(mask)
    g = jax.grad(lambda q: cost(p | q, feats, y, cand, margin, ones))(fc)
    trials = jnp.stack([cost(p | {k: fc[k] - s * eps[k] * g[k] for k in fc}, feats, y, cand, margin, ones)
                        for s in grid])
    best = jnp.argmin(jnp.where(jnp.isfinite(trials), trials, jnp.inf))
    s = jnp.asarray(grid, jnp.float32)[best]
    gu = jax.grad(lambda q: cost(p | q, feats, y, cand, margin, mask))(fc)
    return p | {k: fc[k] - s * eps[k] * gu[k] for k in fc}, trials


def timed(fn, reps, warmup):
    for _ in range(warmup):
        jax.block_until_ready(fn())
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        jax.block_until_ready(fn())
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def cost_of(jitted, *args):
    c = jitted.lower(*args).compile().cost_analysis()
    c = c[0] if isinstance(c, (list, tuple)) else c
    return {"gflop": float(c.get("flops", float("nan"))) / 1e9, "gb_accessed": float(c.get("bytes accessed", float("nan"))) / 1e9}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--candidates", type=int, default=2010)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    p = make_params(rng)
    x = jnp.asarray(rng.random((a.batch, 3, 112, 112), dtype=np.float32))
    y = jnp.asarray((rng.random((a.batch, 51)) * 0.6 - 0.3).astype(np.float32))
    cand = jnp.asarray((rng.random((a.candidates, 51)) * 0.6 - 0.3).astype(np.float32))
    margin = jnp.linalg.norm(y.reshape(a.batch, 1, 17, 3) - cand.reshape(1, -1, 17, 3), axis=-1).mean(-1)
    mask = jnp.asarray(((rng.random((a.batch, 1280)) < 0.25) / 0.25).astype(np.float32))
    grid = tuple(10.0 ** e for e in range(-7, 3))

    @jax.jit
    def forward(p, x, cand):
        f2, f3 = convs(p, x)
        h = jnp.concatenate([jax.nn.relu(f2 @ p["h1.W"] + p["h1.b"]), jax.nn.relu(f3 @ p["h2.W"] + p["h2.b"])], 1)
        f_img = jax.nn.relu(jax.nn.relu(h @ p["h3.W"] + p["h3.b"]) @ p["h4.W"] + p["h4.b"])
        return f_img @ jax.nn.relu(jax.nn.relu(cand @ p["h5.W"] + p["h5.b"]) @ p["h6.W"] + p["h6.b"]).T

    batch = jax.jit(algo1, static_argnums=6)
    state = {"p": p}

    def step():
        state["p"], trials = batch(state["p"], x, y, cand, margin, mask, grid)
        return state["p"], trials

    out = {"jax": jax.__version__, "device": str(jax.devices()[0]), "batch": a.batch, "candidates": a.candidates,
           "forward_s": timed(lambda: forward(p, x, cand), a.reps, a.warmup),
           "algo1_batch_s": timed(step, a.reps, a.warmup),
           "xla": {"forward": cost_of(forward, p, x, cand),
                   "algo1_batch": cost_of(batch, p, x, y, cand, margin, mask, grid)}}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
