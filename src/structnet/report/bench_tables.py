"""The README's speed table, written by ``make bench`` from its JSON: each compile mode's
steps beside PyTorch's, the compile times, the feed's rates and, in JAX mode, XLA's account
of the fused Algorithm-1 batch."""
import datetime

STEP_NAMES = (("forward_s", "forward"), ("mm_step_s", "max-margin step"), ("full_step_s", "full step"),
              ("algo1_batch_s", "Algorithm-1 batch"))


def speed_table(res, source):
    """Markdown from a ``make bench`` result (``structnet.report.bench``)."""
    torch = res.get("torch", {})
    lines = ["| | " + " | ".join(n for _, n in STEP_NAMES) + " | cold compile | warm compile |",
             "|---" * (len(STEP_NAMES) + 3) + "|"]
    if all(k in torch for k, _ in STEP_NAMES):
        lines.append(f"| PyTorch {torch.get('torch', '')} ({torch.get('device', 'cpu')}) | "
                     + " | ".join(f"{torch[k]:.3f}" for k, _ in STEP_NAMES) + " | | |")
    for mode, e in res.get("modes", {}).items():
        if not all(k in e for k, _ in STEP_NAMES):
            lines.append(f"| {mode} | " + " | ".join("-" for _ in STEP_NAMES)
                         + f" | {e.get('skipped') or e.get('error', '')} | |")
            continue
        r = e.get("ratio_vs_torch", {})
        cells = [f"{e[k]:.3f}" + (f" ({r[k]:.2f}x)" if k in r else "") for k, _ in STEP_NAMES]
        lines.append(f"| {mode}{' (waited)' if e.get('waited') else ''} | " + " | ".join(cells)
                     + f" | {e['cold_compile_s']:.1f} s | {e['warm_compile_s']:.1f} s |")
    when = datetime.date.today().isoformat()
    lines.append(f"\nSeconds (median), batch {res.get('batch')}, {res.get('candidates')} candidates, and ours / PyTorch; "
                 f"`{source}`, {res.get('machine', {}).get('cpus')} CPUs"
                 + (f" ({res['machine']['cpu']})" if res.get("machine", {}).get("cpu") else "")
                 + f", written by `make bench` on {when}.")
    feed = res.get("feed")
    if feed and feed.get("runs"):
        rates = {k: v["batches_per_s"] for k, v in feed["runs"].items() if "batches_per_s" in v}
        parts = [f"{k.replace('_workers', ', ').replace('pretrain_32', 'batches of 32').replace('train_128', 'batches of 128')}"
                 f" workers: {v:.0f}/s" for k, v in rates.items()]
        steps = feed.get("step_batches_per_s", {}).get("NUMBA")
        lines.append("\nThe feed alone (section `feed`, batches made per second: 0 workers = a thread): "
                     + "; ".join(parts) + (f". NUMBA's steps consume {steps['algo1_batch']:.2f} Algorithm-1 batches"
                                           f" and {steps['full_step']:.2f} full steps of 128 per second." if steps else "."))
    x = res.get("modes", {}).get("JAX", {}).get("xla", {}).get("algo1_batch")
    if x:
        ref = res["modes"]["JAX"].get("jax_reference", {})
        rx = ref.get("xla", {}).get("algo1_batch", {})
        lines.append(f"\nJAX's fused Algorithm-1 batch (XLA's cost analysis): {x['gflop']:.0f} GFLOP"
                     f" ({x['flops_over_needed']:.2f}x the {x['needed_gflop']['total']:.0f} GFLOP the batch needs),"
                     f" {x['gb_accessed']:.1f} GB accessed, {x['f64_over_1mb']} float64 tensors over 1 MB"
                     + (f"; the same batch written directly in JAX (`bench/jax_step.py`): {rx['gflop']:.0f} GFLOP,"
                        f" {rx['gb_accessed']:.1f} GB, {ref['algo1_batch_s']:.2f} s" if rx else "") + ".")
    return "\n".join(lines)
