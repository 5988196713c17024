"""Pre-training recipe sweep (issue: the networks must learn): for each recipe, train
DconvMP-HML from scratch for a fixed number of batches on the quick synthetic world and
log the held-out MPJPE of its regression head (centre crops of 512 test images) and the
detection cost against its prior. Writes JSON; `--table` prints a markdown table.

    .venv/bin/python bench/pretrain_sweep.py --out bench/results/pretrain_sweep.json \
        --steps 300 --every 100 --recipe "name:key=value key=value" ...
"""
import argparse
import json
import os
import sys
import time

import numpy as np

from structnet.geometry import poses as P
from structnet.config import quick
from structnet.train.curves import HeldOut
from structnet.data.dataset import Dataset
from structnet.train.pretrain import Pretrainer, detection_prior, learning_rate, make_batch
from structnet.io import write_json


def run(name, overrides, steps, every, data, batch, seed=0):
    cfg = quick().override([f"data_dir={data}"] + overrides)
    ds = Dataset(os.path.join(data, "train.h5"))
    held = HeldOut(cfg)
    y_all = P.to_network(ds.root_relative())
    model = Pretrainer(cfg, cfg.seed, mean_target=y_all.mean(0))
    prior = None
    curve, costs, times = [], [], []
    order = np.random.default_rng([seed, 1]).permutation(len(ds))
    predict = lambda x: P.from_network(model.predict(x))
    for step in range(steps):
        idx = np.sort(order[(step * batch) % len(ds):][:batch])
        rng = np.random.default_rng([seed, 1, step])
        x, y, det, mr, md = make_batch(cfg, ds, y_all, idx, rng)
        if prior is None:
            prior = detection_prior(det, cfg.det_reduce)
        t = time.perf_counter()
        out = model.step(x, y, det, mr, md, learning_rate(cfg, step, steps))
        times.append(time.perf_counter() - t)
        costs.append(out)
        if not np.isfinite(out["cost"]):
            curve.append({"step": step + 1, "mpjpe": float("nan")})
            break
        if (step + 1) % every == 0:
            curve.append({"step": step + 1, "mpjpe": held.mpjpe(predict),
                          "reg": float(np.mean([c["reg"] for c in costs[-every:]])),
                          "det": float(np.mean([c["det"] for c in costs[-every:]]))})
            print(name, curve[-1], flush=True)
    ds.close()
    return {"name": name, "overrides": overrides, "batch": batch, "steps": steps, "det_prior": prior,
            "seconds_per_step": float(np.median(times[1:])) if len(times) > 1 else None, "curve": curve}


def table(res):
    """Markdown: recipe, overrides, held-out MPJPE by step, first step below the floor, det cost."""
    floor = res.get("held_out_floor_mm")
    steps = sorted({c["step"] for r in res["recipes"] for c in r["curve"]})
    lines = ["| recipe | settings (over `quick`) | " + " | ".join(f"{s}" for s in steps)
             + " | first point below the floor | detection cost at the end (prior) |",
             "|---|---|" + "---|" * len(steps) + "---|---|"]
    for r in res["recipes"]:
        by = {c["step"]: c for c in r["curve"]}
        below = next((c["step"] for c in r["curve"] if floor and c["mpjpe"] < floor), None)
        last = r["curve"][-1] if r["curve"] else {}
        det = f"{last['det']:.4g} ({r['det_prior']:.4g})" if "det" in last and r.get("det_prior") else "-"
        lines.append(f"| {r['name']} | {' '.join(o for o in r['overrides'] if not o.startswith('batch_size'))} | "
                     + " | ".join(f"{by[s]['mpjpe']:.1f}" if s in by else "" for s in steps)
                     + f" | {below if below else 'not within ' + str(r['steps'])} | {det} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="data/synthetic-quick")
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--every", type=int, default=100)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--recipe", action="append", default=[], help='"name:key=value ..."')
    ap.add_argument("--table", action="store_true", help="print the results in --out as a markdown table")
    a = ap.parse_args()
    if a.table:
        print(table(json.load(open(a.out))))
        return 0
    results, head = [], {}
    if os.path.exists(a.out):
        head = json.load(open(a.out))
        results = head.pop("recipes")
    if "held_out_floor_mm" not in head:
        from structnet.evaluate.baselines import mean_pose_error
        tr = Dataset(os.path.join(a.data, "train.h5"))
        head["held_out_floor_mm"] = mean_pose_error(tr.root_relative(), HeldOut(quick(), a.data).gt)
        tr.close()
    done = {r["name"] for r in results}
    for spec in a.recipe:
        name, _, rest = spec.partition(":")
        if name in done:
            continue
        results.append(run(name, rest.split() + [f"batch_size={a.batch}"], a.steps, a.every, a.data, a.batch))
        write_json(a.out, head | {"data": a.data, "held_out_images": 512, "recipes": results})


if __name__ == "__main__":
    sys.exit(main())
