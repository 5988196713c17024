"""Reference timings: the StructNet network and training step in PyTorch (CPU).

The same work as structnet's own benchmark (``make bench``), so the two can be compared
as a ratio measured in one run on one machine. Sizes are the authors' (legacy_notes/layers.md:
input 3x112x112, conv 9/5/5 with 32/64/64 filters, max-pool 3x3 stride 2 with ceil sizing,
h1 256, h2 1024, h3 2048, h4 1024, pose embedding 1024-1024, aux 51 tanh), batch 128,
2000 + 10 candidates.

Steps timed (median of --reps after --warmup):
  forward    image embedding of the batch + pose embedding of the candidates + scores
  mm_step    max-margin training step with convolutions frozen: forward, most-violated
             pose (argmax of score + margin over candidates), hinge + lambda * aux
             squared error + alpha * ||W||^2, backward into the FC layers, SGD update
  full_step  the same with the convolutions trained too (the pre-training regime)
  algo1_batch  one whole mini-batch of Algorithm 1 as the authors ran it: conv features
             once (frozen), with dropout off the gradient and the most-violated poses,
             the cost at each of the 10 line-search steps 1e-7 .. 1e2 (every parameter
             moved by step * eps * grad, eps = 5e-4 for weights, 2e-3 for biases), then
             the update with the best step and dropout on

Needs torch (``pip install -e ".[bench]"``, which ``make bench`` does). Prints one JSON
object. Run it under the same environment as the code it is compared with (``make bench``
sets the same glibc malloc settings for both: page faults dominate on small VMs).

    python torch_step.py [--threads 2] [--reps 5] [--batch 128] [--candidates 2010] [--device cuda]

On a GPU (--device cuda) every timing waits for the device (torch.cuda.synchronize).
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F


def pool(x):
    # max 3x3 stride 2 with cuda-convnet sizing, out = ceil((n - 3) / 2) + 1 (104->52, 48->24, 20->10)
    return F.max_pool2d(x, 3, 2, ceil_mode=True)


def make_params(g):
    def w(*shape, std):
        return (torch.randn(*shape, generator=g) * std).float()
    p = {
        "conv1.W": w(32, 3, 9, 9, std=5e-5), "conv1.b": torch.zeros(32),
        "conv2.W": w(64, 32, 5, 5, std=1e-3), "conv2.b": torch.zeros(64),
        "conv3.W": w(64, 64, 5, 5, std=1e-3), "conv3.b": torch.zeros(64),
        "h1.W": w(64 * 24 * 24, 256, std=1e-3), "h1.b": torch.zeros(256),
        "h2.W": w(64 * 10 * 10, 1024, std=1e-3), "h2.b": torch.zeros(1024),
        "h3.W": w(1280, 2048, std=1e-3), "h3.b": torch.zeros(2048),
        "h4.W": w(2048, 1024, std=1e-3), "h4.b": torch.zeros(1024),
        "g7.W": w(2048, 51, std=1e-3), "g7.b": torch.zeros(51),
        "h5.W": w(51, 1024, std=0.1), "h5.b": torch.zeros(1024),
        "h6.W": w(1024, 1024, std=0.1), "h6.b": torch.zeros(1024),
    }
    return p


def convs(p, x):
    c1 = pool(F.relu(F.conv2d(x, p["conv1.W"], p["conv1.b"])))
    c2 = pool(F.relu(F.conv2d(c1, p["conv2.W"], p["conv2.b"])))
    c3 = pool(F.conv2d(c2, p["conv3.W"], p["conv3.b"]))
    return c2, c3


def image_branch(p, c2, c3, train):
    n = c2.shape[0]
    h1 = F.relu(c2.reshape(n, -1) @ p["h1.W"] + p["h1.b"])
    h2 = F.relu(c3.reshape(n, -1) @ p["h2.W"] + p["h2.b"])
    h = torch.cat([h1, h2], 1)
    if train:
        h = F.dropout(h, p=0.75, training=True)
    h3 = F.relu(h @ p["h3.W"] + p["h3.b"])
    return h3, F.relu(h3 @ p["h4.W"] + p["h4.b"])


def pose_branch(p, y):
    return F.relu(F.relu(y @ p["h5.W"] + p["h5.b"]) @ p["h6.W"] + p["h6.b"])


def cost(p, x, y, cand, margin, train_conv, lam=1.0, alpha=1e-4, feats=None, train=True):
    if feats is None:
        with torch.set_grad_enabled(train_conv):
            c2, c3 = convs(p, x)
    else:
        c2, c3 = feats
    h3, f_img = image_branch(p, c2, c3, train=train)
    s_cand = f_img @ pose_branch(p, cand).T                    # (B, C)
    s_true = (f_img * pose_branch(p, y)).sum(1)                # (B,)
    violation = (s_cand + margin).max(1).values                # max-pool over candidates
    hinge = F.relu(violation - s_true).mean()
    aux = torch.tanh(h3 @ p["g7.W"] + p["g7.b"])
    reg = sum((v ** 2).sum() for k, v in p.items() if k.endswith(".W") and not k.startswith("conv"))
    return hinge + lam * ((aux - y) ** 2).sum(1).mean() + alpha * reg


DEV = "cpu"


def sync():
    if DEV.startswith("cuda"):
        torch.cuda.synchronize()


def timed(fn, reps, warmup):
    for _ in range(warmup):
        fn()
    sync()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        sync()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--candidates", type=int, default=2010)
    ap.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    a = ap.parse_args()
    global DEV
    DEV = a.device
    torch.set_num_threads(a.threads)
    g = torch.Generator().manual_seed(0)
    p = make_params(g)
    x = torch.rand(a.batch, 3, 112, 112, generator=g)
    y = torch.rand(a.batch, 51, generator=g) * 0.6 - 0.3
    cand = torch.rand(a.candidates, 51, generator=g) * 0.6 - 0.3
    p = {k: v.to(DEV) for k, v in p.items()}
    x, y, cand = x.to(DEV), y.to(DEV), cand.to(DEV)
    margin = (y.reshape(a.batch, 1, 17, 3) - cand.reshape(1, -1, 17, 3)).norm(dim=-1).mean(-1)

    @torch.no_grad()
    def forward():
        c2, c3 = convs(p, x)
        _, f_img = image_branch(p, c2, c3, train=False)
        return f_img @ pose_branch(p, cand).T

    def step(train_conv):
        names = [k for k in p if train_conv or not k.startswith("conv")]
        for k in names:
            p[k].requires_grad_(True)
        loss = cost(p, x, y, cand, margin, train_conv)
        grads = torch.autograd.grad(loss, [p[k] for k in names])
        with torch.no_grad():
            for k, gr in zip(names, grads):
                p[k] -= 1e-3 * gr
        for k in names:
            p[k].requires_grad_(False)
        return loss

    fc = [k for k in p if not k.startswith("conv")]
    eps = {k: (5e-4 if k.endswith(".W") else 2e-3) for k in fc}
    grid = [10.0 ** e for e in range(-7, 3)]

    def algo1_batch():
        with torch.no_grad():
            feats = convs(p, x)                                   # frozen convolutions: once
        for k in fc:
            p[k].requires_grad_(True)
        loss = cost(p, x, y, cand, margin, False, feats=feats, train=False)
        grads = dict(zip(fc, torch.autograd.grad(loss, [p[k] for k in fc])))
        for k in fc:
            p[k].requires_grad_(False)
        with torch.no_grad():
            trials = []
            for s in grid:                                        # line search, dropout off
                q = dict(p)
                q.update({k: p[k] - s * eps[k] * grads[k] for k in fc})
                trials.append(float(cost(q, x, y, cand, margin, False, feats=feats, train=False)))
            best = grid[min(range(len(grid)), key=trials.__getitem__)]
        for k in fc:
            p[k].requires_grad_(True)
        loss = cost(p, x, y, cand, margin, False, feats=feats, train=True)   # dropout on
        grads = torch.autograd.grad(loss, [p[k] for k in fc])
        with torch.no_grad():
            for k, g in zip(fc, grads):
                p[k] -= best * eps[k] * g
                p[k].requires_grad_(False)
        return loss

    out = {
        "torch": torch.__version__, "device": DEV, "threads": a.threads, "batch": a.batch,
        "candidates": a.candidates,
        "forward_s": timed(forward, a.reps, a.warmup),
        "mm_step_s": timed(lambda: step(False), a.reps, a.warmup),
        "full_step_s": timed(lambda: step(True), a.reps, a.warmup),
        "algo1_batch_s": timed(algo1_batch, a.reps, a.warmup),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
