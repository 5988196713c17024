"""``make bench``: the network's steps timed per compile mode, side by side with PyTorch.

At paper sizes (batch 128, 2000 + 10 candidates) and for each mode: cold compile (fresh
Numba and PyTensor caches), warm compile (the same caches again), forward (embeddings
and scores), max-margin step with frozen convolutions (conv features once, then the
FC update), and the full step (convolutions trained). Each measurement runs in a child
process under the same environment; if ``torch`` is importable, the reference script
``bench/torch_step.py`` runs under that environment too and the JSON gets the
ratio ours / PyTorch for each step. Two more sections: the synthetic data pipeline's
images per second (poses -> pixels -> HDF5, all cores) and inference scoring (chunked
GEMM + partial sort) against one plain GEMM of the same size. Section ``layers``
(``structnet.report.bench_layers``): each convolution and pool alone, ours, the im2col
kernels before them, and PyTorch's, in GFLOP/s.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

#: glibc settings that keep freed memory mapped (legacy_notes/machine.md: page faults dominate
#: on these VMs). Applied to every child, ours and PyTorch's alike.
MALLOC_ENV = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": "68719476736",
              "MALLOC_TOP_PAD_": "1073741824"}
STEPS = ("forward_s", "mm_step_s", "full_step_s", "algo1_batch_s")
#: the PyTorch reference: the same network and steps (the project's own file)
TORCH_SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "..", "bench", "torch_step.py")


from structnet.report.bench_feed import bench_feed  # noqa: E402
from structnet.report.bench_h36m import bench_h36m, h36m_table  # noqa: E402
from structnet.engine.timing import median_time as _median_time, waited, xla_analysis  # noqa: E402
from structnet.report.bench_jax import needed_gflop  # noqa: E402


def cpu_name():
    """The CPU's model and widest vector instructions, e.g. "AMD EPYC (AVX2)" (Linux), else
    the platform's processor: the step times depend on both (legacy_notes/speed.md)."""
    try:
        with open("/proc/cpuinfo") as f:
            lines = f.read().splitlines()
    except OSError:
        return platform.processor() or platform.machine()
    model = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), platform.machine())
    flags = set(next((ln.split(":", 1)[1].split() for ln in lines if ln.startswith("flags")), []))
    isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else ""
    return f"{model} ({isa})" if isa else model


def child(mode, batch, candidates, reps, warmup, seed=0):
    """Time one mode in this process; returns a dict. JAX: every call waited for
    (``waited``), and XLA's cost analysis of each step's compiled function beside the
    arithmetic Algorithm 1 needs (``needed_gflop``)."""
    from structnet.config import paper
    from structnet.model.network import StructNet, dropout_mask
    from structnet.geometry.poses import mpjpe_matrix
    from structnet.train.steps import StepFunctions

    t_import = time.perf_counter()
    cfg = paper()
    cfg.mode = mode
    net = StructNet(cfg, seed)
    rng = np.random.default_rng(seed)
    x = rng.random((batch, 3, 112, 112), dtype=np.float32)
    y = (rng.random((batch, 51)) * 0.6 - 0.3).astype(np.float32)
    cand = (rng.random((candidates, 51)) * 0.6 - 0.3).astype(np.float32)
    margins = mpjpe_matrix(y, cand)
    mask = dropout_mask(rng, batch, cfg.keep_prob)
    frozen = StepFunctions(net, from_features=True)
    full = StepFunctions(net, from_features=False)

    def forward():
        return frozen.forward(x, cand)

    def mm_step():
        return frozen.update(frozen.features(x), y, cand, margins, mask, 1e-3)

    def full_step():
        return full.update([x], y, cand, margins, mask, 1e-3)

    # one whole Algorithm-1 batch as training runs it (structnet.train.algorithm1): the
    # candidates are the pose set less the K most violated the working set adds
    from structnet.train.algorithm1 import algorithm1_batch
    from structnet.train.linesearch import step_grid
    from structnet.train.workingset import WorkingSet
    K = cfg.k_most_violated
    ws, grid = WorkingSet(candidates), step_grid(cfg.step_min_exp, cfg.step_max_exp, cfg.step_per_decade)
    algo = StepFunctions(net, from_features=True, eps=net.step_factors(net.trainable_names(False)))

    def algo1_batch():
        return algorithm1_batch(algo, ws, cand, x, y, np.arange(candidates - K), mask, K, grid, "bench")

    out = {"mode": mode, "batch": batch, "candidates": candidates, "algo1_fused": algo.fused,
           "waited": mode == "JAX"}
    calls = (("forward_s", forward), ("mm_step_s", mm_step), ("full_step_s", full_step), ("algo1_batch_s", algo1_batch))
    if mode == "JAX":
        shared = [net.params, frozen.gbuf, full.gbuf, algo.gbuf]
        calls = tuple((name, waited(fn, shared)) for name, fn in calls)
    first = {}
    for name, fn in calls:
        t = time.perf_counter()
        fn()
        first[name] = time.perf_counter() - t
    for name, fn in calls:
        out[name] = _median_time(fn, reps, warmup)
    # compile = building + compiling the graphs + the first calls' JIT, less one steady call
    out["compile_s"] = sum(first[k] - out[k] for k in STEPS)
    if mode == "JAX":
        fns = {"forward": (frozen._get("forward"), (x, cand)), "features": (frozen._get("features"), (x,)),
               "full_step_grad": (full._get("grad"), (x, y, cand, margins, mask)),
               "algo1_batch": (next(f for k, f in algo._fns.items() if k[0] == "batch"), None)}
        out["xla"] = {name: xla_analysis(f, a) for name, (f, a) in fns.items()}
        out["xla"]["algo1_batch"]["needed_gflop"] = needed_gflop(cfg, batch, candidates, len(grid))
        out["xla"]["algo1_batch"]["flops_over_needed"] = (out["xla"]["algo1_batch"]["gflop"]
                                                          / out["xla"]["algo1_batch"]["needed_gflop"]["total"])
    if mode == "CVM":
        out["full_step_profile"] = profile_full_step(net, x, y, cand, margins, mask)
    out["total_child_s"] = time.perf_counter() - t_import
    return out


def profile_full_step(net, x, y, cand, margins, mask, reps=3, top=12):
    """Where the full step's time goes: PyTensor's per-node profile (CVM), top nodes."""
    from structnet.train.steps import StepFunctions
    prof = StepFunctions(net, from_features=False, profile=True)
    for _ in range(reps + 1):
        prof.update([x], y, cand, margins, mask, 0.0)
    stats = prof._get("grad").profile    # the step's compute; "apply" only moves the parameters
    total = sum(stats.apply_time.values())
    rows = sorted(stats.apply_time.items(), key=lambda kv: -kv[1])[:top]
    return {"seconds_per_call": total / (reps + 1),
            "nodes": [{"node": str(node)[:120], "share": t / total, "seconds_per_call": t / (reps + 1)}
                      for (fg, node), t in rows]}


def _run_child(args, mode, cache_root, env):
    e = dict(env)
    e["NUMBA_CACHE_DIR"] = os.path.join(cache_root, "numba")
    # base_compiledir, not compiledir: PyTensor keeps its Numba graph cache in base_compiledir/numba
    e["PYTENSOR_FLAGS"] = f"base_compiledir={os.path.join(cache_root, 'pytensor')}"
    e["STRUCTNET_CACHE"] = os.path.join(cache_root, "native")   # cold: the kernels built too
    cmd = [sys.executable, "-m", "structnet.report.bench", "--child", mode, "--batch", str(args.batch),
           "--candidates", str(args.candidates), "--reps", str(args.reps), "--warmup", str(args.warmup)]
    r = subprocess.run(cmd, env=e, capture_output=True, text=True)
    if r.returncode != 0:
        return {"error": (r.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(r.stdout.strip().splitlines()[-1])


JAX_SCRIPT = os.path.join(os.path.dirname(TORCH_SCRIPT), "jax_step.py")


def _jax_reference(args, env):
    """bench/jax_step.py: the same network and Algorithm-1 batch written directly in
    jax.numpy, timed (waited for) and costed by XLA on the same backend as our JAX mode."""
    cmd = [sys.executable, JAX_SCRIPT, "--reps", str(args.reps), "--warmup", str(args.warmup),
           "--batch", str(args.batch), "--candidates", str(args.candidates)]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        return {"error": (r.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(r.stdout.strip().splitlines()[-1])


def _torch(args, env):
    script = os.path.abspath(args.torch_script)
    try:
        import torch  # noqa: F401
    except ImportError:
        print("[bench] PyTorch is not installed: no reference timings (pip install -e '.[bench]', which"
              " `make bench` does)", file=sys.stderr, flush=True)
        return {"skipped": "torch is not importable (pip install -e '.[bench]')"}
    if not os.path.exists(script):
        return {"skipped": f"{script} not found"}
    cmd = [sys.executable, script, "--threads", str(os.cpu_count() or 2), "--reps", str(args.reps),
           "--warmup", str(args.warmup), "--batch", str(args.batch), "--candidates", str(args.candidates)]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        return {"error": (r.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(r.stdout.strip().splitlines()[-1])


def bench_data(workers=0):
    """Images per second of the whole synthetic pipeline (poses -> pixels -> HDF5)."""
    from structnet.data.synthetic.build import build, get_data_preset
    cfg = get_data_preset("quick", subjects_train=("S1",), subactions=(1,), workers=workers)
    with tempfile.TemporaryDirectory(prefix="structnet-bench-data-") as d:
        stats = build(cfg, os.path.join(d, "train.h5"), "train", progress=False)
    return {"images": stats["images"], "seconds": stats["seconds"], "images_per_s": stats["images_per_s"],
            "workers": workers or os.cpu_count(), "target_images_per_s": 200}


def bench_scoring(n_images=4800, n_poses=200000, dim=1024, k=1500, reps=3):
    """Inference scoring (chunked GEMM + partial sort, top k) against one plain GEMM of the same size."""
    from structnet.model.inference import top_k
    rng = np.random.default_rng(0)
    img = rng.standard_normal((n_images, dim), dtype=np.float32)
    poses = rng.standard_normal((n_poses, dim), dtype=np.float32)
    gemm = _median_time(lambda: img @ poses.T, reps, 1)
    ours = _median_time(lambda: top_k(img, poses, k), reps, 1)
    return {"images": n_images, "poses": n_poses, "dim": dim, "k": k, "plain_gemm_s": gemm, "top_k_s": ours,
            "ratio": ours / gemm}


H36M_BEGIN = "<!-- h36m-bench:begin (generated by make bench-h36m) -->"
H36M_END = "<!-- h36m-bench:end -->"
SPEED_BEGIN = "<!-- speed-bench:begin (generated by make bench) -->"
SPEED_END = "<!-- speed-bench:end -->"
LAYERS_BEGIN = "<!-- layers-bench:begin (generated by make bench) -->"
LAYERS_END = "<!-- layers-bench:end -->"
#: README markers of the sections that write a table there
README_MARKERS = {"h36m": (H36M_BEGIN, H36M_END), "network": (SPEED_BEGIN, SPEED_END)}
#: the notes (``--notes``, legacy_notes/speed.md) take the per-layer table
NOTES_MARKERS = {"layers": (LAYERS_BEGIN, LAYERS_END)}


def _run_layers_child(args, env):
    cmd = [sys.executable, "-m", "structnet.report.bench", "--child-layers", "--batch", str(args.batch),
           "--reps", str(args.reps), "--warmup", str(args.warmup)]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        return {"error": (r.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(r.stdout.strip().splitlines()[-1])


def main(argv=None):
    from structnet.errors import Parser
    ap = Parser(prog="structnet bench", description=__doc__.splitlines()[0])
    ap.add_argument("--sections", default="network,layers,feed,data,scoring",
                    help="comma-separated: network (the steps per mode), layers (each conv and pool alone, "
                         "GFLOP/s), feed (training batches per second, the input pipeline alone), data "
                         "(synthetic pipeline), scoring, h36m (Human3.6M extraction on full-size fixture videos)")
    ap.add_argument("--feed-data", help="feed section: a dataset file (default data/synthetic-quick/train.h5)")
    ap.add_argument("--modes", default="NUMBA,CVM,C,JAX",
                    help="comma-separated compile modes (JAX is skipped when jax is missing)")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--candidates", type=int, default=2010)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--torch-script", default=TORCH_SCRIPT,
                    help="the PyTorch reference (default: the project's bench/torch_step.py)")
    ap.add_argument("--out", default=os.path.join("bench", "results", "network.json"))
    ap.add_argument("--readme", help="README to update between the markers of the network and h36m sections run")
    ap.add_argument("--notes", help="notes to update between the layers section's markers (legacy_notes/speed.md)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--child-layers", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child_layers:
        from structnet.report.bench_layers import bench_layers
        print(json.dumps(bench_layers(args.batch, args.reps, args.warmup)))
        return 0
    known = {"network", "layers", "feed", "data", "scoring", "h36m"}
    chosen = {x.strip() for x in args.sections.split(",") if x.strip()}
    if not chosen or chosen - known:
        from structnet.errors import UserError
        raise UserError(f"--sections: unknown or no section {', '.join(sorted(chosen - known)) or repr(args.sections)}"
                        f" (choose from {', '.join(sorted(known))})")
    if not args.child:
        from structnet.io import out_dir, out_file
        out_dir(os.path.dirname(os.path.abspath(args.out)), "--out")
        out_file(args.out, "--out")
        if args.readme:
            from structnet.report.tables import _markers
            out_file(args.readme, "--readme")
            for section in chosen & set(README_MARKERS):
                _markers(args.readme, *README_MARKERS[section])
        if args.notes:
            from structnet.report.tables import _markers
            out_file(args.notes, "--notes")
            for section in chosen & set(NOTES_MARKERS):
                _markers(args.notes, *NOTES_MARKERS[section])
    if args.child:
        print(json.dumps(child(args.child, args.batch, args.candidates, args.reps, args.warmup)))
        return 0

    env = dict(os.environ)
    env.update(MALLOC_ENV)
    result = {"what": "StructNet steps, median seconds; ratio = ours / PyTorch",
              "machine": {"cpus": os.cpu_count(), "cpu": cpu_name(), "platform": platform.platform(),
                          "python": platform.python_version()},
              "env": MALLOC_ENV, "batch": args.batch, "candidates": args.candidates,
              "reps": args.reps, "warmup": args.warmup, "modes": {}}
    import pytensor
    result["pytensor"] = pytensor.__version__
    sections = {x.strip() for x in args.sections.split(",")}
    if "data" in sections:
        print("[bench] data pipeline ...", file=sys.stderr, flush=True)
        result["data"] = bench_data()
    if "feed" in sections:
        print("[bench] feed ...", file=sys.stderr, flush=True)
        result["feed"] = bench_feed(args.feed_data)
    if "scoring" in sections:
        print("[bench] scoring ...", file=sys.stderr, flush=True)
        result["scoring"] = bench_scoring()
    if "layers" in sections:
        print("[bench] layers ...", file=sys.stderr, flush=True)
        result["layers"] = _run_layers_child(args, env)
    if "h36m" in sections:
        print("[bench] Human3.6M extraction ...", file=sys.stderr, flush=True)
        result["h36m"] = bench_h36m()
    modes = [m.strip().upper() for m in args.modes.split(",") if m.strip()] if "network" in sections else []
    for mode in modes:
        if mode == "JAX":
            try:
                import jax  # noqa: F401
            except ImportError:
                result["modes"][mode] = {"skipped": "jax is not installed"}
                continue
        print(f"[bench] {mode}: cold ...", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory(prefix="structnet-bench-") as cache:
            cold = _run_child(args, mode, cache, env)
            print(f"[bench] {mode}: warm ...", file=sys.stderr, flush=True)
            warm = _run_child(args, mode, cache, env)
        if "error" in cold or "error" in warm:
            result["modes"][mode] = {"error": cold.get("error") or warm.get("error")}
            continue
        entry = {"cold_compile_s": cold["compile_s"], "warm_compile_s": warm["compile_s"]}
        if mode == "JAX":
            print("[bench] JAX: the plain-JAX reference (bench/jax_step.py) ...", file=sys.stderr, flush=True)
            entry["jax_reference"] = _jax_reference(args, env)
        entry.update({k: warm[k] for k in STEPS})
        for extra in ("full_step_profile", "xla", "waited"):
            if extra in warm:
                entry[extra] = warm[extra]
        result["modes"][mode] = entry
        print(f"[bench] {mode}: {json.dumps(entry)}", file=sys.stderr, flush=True)
    if modes:
        print("[bench] PyTorch ...", file=sys.stderr, flush=True)
        result["torch"] = _torch(args, env)
    else:
        result["torch"] = {"skipped": "network section not run"}
    if all(k in result["torch"] for k in STEPS):
        for mode, entry in result["modes"].items():
            if all(k in entry for k in STEPS):
                entry["ratio_vs_torch"] = {k: entry[k] / result["torch"][k] for k in STEPS}
    if "feed" in result:     # beside the feed: the compiled steps' own rates (batch 128)
        result["feed"]["step_batches_per_s"] = {
            mode: {"full_step": 1 / e["full_step_s"], "algo1_batch": 1 / e["algo1_batch_s"]}
            for mode, e in result["modes"].items() if all(k in e for k in ("full_step_s", "algo1_batch_s"))}
    from structnet.io import write_text
    write_text(args.out, json.dumps(result, indent=2))
    if args.readme and "h36m" in result:
        from structnet.report.tables import replace_between
        replace_between(args.readme, H36M_BEGIN, H36M_END, h36m_table(result["h36m"], args.out))
    if args.readme and result["modes"]:
        from structnet.report.bench_tables import speed_table
        from structnet.report.tables import replace_between
        replace_between(args.readme, SPEED_BEGIN, SPEED_END, speed_table(result, args.out))
    if args.notes and "error" not in result.get("layers", {"error": 1}):
        from structnet.report.bench_layers import layers_table
        from structnet.report.tables import replace_between
        replace_between(args.notes, LAYERS_BEGIN, LAYERS_END, layers_table(result["layers"], args.out))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
