"""Activation scale layer by layer (issue: the networks must learn, item 4): mean |activation|
and the mean over features of the standard deviation across inputs, for conv1..conv3 (after
pooling), h1..h4, g7 and the pose embedding h5, h6, on 128 test images (centre crops) and
their poses: at initialisation (the config's init, and the pre-trained convolutions with the
FC layers as StructNet training starts them) and after training.

    .venv/bin/python bench/activations.py --run runs/quick --data data/synthetic-quick \
        --out bench/results/activations.json
"""
import argparse
import json
import os

import numpy as np

from structnet.geometry import poses as P
from structnet.config import Config
from structnet.data.dataset import Dataset
from structnet.model.network import StructNet
from structnet.io import write_json
from structnet.report.summary import activation_scales


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", default="runs/quick")
    ap.add_argument("--data", default="data/synthetic-quick")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    with open(os.path.join(a.run, "train", "config.json")) as f:
        cfg = Config.from_dict({k: v for k, v in json.load(f).items() if k != "pretrained"})
    ds = Dataset(os.path.join(a.data, "test.h5"))
    idx = np.linspace(0, len(ds) - 1, 128).round().astype(int)
    x = ds.input_for(cfg, ds.read_images(idx))
    y = P.to_network(ds.root_relative(idx))
    rows = {}
    rows["init (random, the config's init)"] = activation_scales(StructNet(cfg, cfg.seed), x, y)
    from structnet.train.algorithm1 import start_from_pretrained
    start = start_from_pretrained(StructNet(cfg, cfg.seed), os.path.join(a.run, "pretrain", "model.h5"))
    rows["start of StructNet training (pre-trained)"] = activation_scales(start, x, y)
    rows["after training"] = activation_scales(StructNet.load(os.path.join(a.run, "train", "model.h5")), x, y)
    write_json(a.out, {"run": a.run, "images": len(idx), "rows": rows})
    layers = list(rows["after training"])
    print("| layer | " + " | ".join(rows) + " |")
    print("|---|" + "---|" * len(rows))
    for l in layers:
        print(f"| {l} | " + " | ".join(f"{r[l]['mean_abs']:.3g} ({r[l]['std_over_inputs']:.2g})" for r in rows.values()) + " |")


if __name__ == "__main__":
    main()
