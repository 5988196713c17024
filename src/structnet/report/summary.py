"""``python -m structnet summary [--json]``: every layer, its output shape and parameter shapes.

Output shapes come from PyTensor's shape inference on the real graph (batch of one),
so they check the Ops' ``infer_shape`` as well as the architecture.
"""
import json

import numpy as np
import pytensor.tensor as pt

from structnet.engine.backend import compile_fn
from structnet.model.network import image_input, IMAGE_SIZE, StructNet, build_conv_features, build_image_head, \
    build_pose_embedding, dense_layers

OPS = {"conv1": "conv 9x9, relu", "pool1": "max 3x3/2", "conv2": "conv 5x5, relu", "pool2": "max 3x3/2",
       "conv3": "conv 5x5, linear", "pool3": "max 3x3/2", "h1": "fc(pool2), relu", "h2": "fc(pool3), relu",
       "concat": "concat(h1, h2) + dropout", "h3": "fc, relu", "h4": "fc, relu = f_I(x)",
       "g7": "fc, tanh = f_P(x)", "h5": "fc(pose), relu", "h6": "fc, relu = f_J(y)"}


def layer_rows(net):
    """List of {name, op, output (per sample), params {W, b}} in network order."""
    p = net.params
    x = image_input()
    y = pt.matrix("poses", dtype="float32")
    conv = build_conv_features(p, x)
    head = build_image_head(p, conv["pool2_flat"], conv["pool3_flat"])
    layers = {k: v for k, v in conv.items() if not k.endswith("_flat")}
    layers.update(head)
    if net.config.pose_embedding != "raw":
        layers["h5"] = pt.maximum(pt.dot(y, p["h5/W"]) + p["h5/b"], 0)
        if net.config.pose_embedding == "2layer":
            layers["h6"] = build_pose_embedding(p, y, "2layer")
    names = list(layers)
    shape_fn = compile_fn([x, y], [layers[n].shape for n in names], mode="FAST_COMPILE", on_unused_input="ignore")
    shapes = shape_fn(np.zeros((1, 3, IMAGE_SIZE, IMAGE_SIZE), np.float32), np.zeros((1, 51), np.float32))
    rows = []
    for name, shp in zip(names, shapes):
        shp = [int(s) for s in shp]
        if name.startswith("conv") or name.startswith("pool"):
            out = [shp[0]] + shp[2:]          # channel-major (C, N, H, W) -> per sample (C, H, W)
        else:
            out = shp[1:]
        params = {k.split("/")[1]: list(v.get_value(borrow=True).shape)
                  for k, v in p.items() if k.split("/")[0] == name}
        rows.append({"name": name, "op": OPS[name], "output": out, "params": params})
    return rows


def format_table(rows):
    lines = [f"{'layer':8s} {'op':28s} {'output':16s} params"]
    for r in rows:
        ps = ", ".join(f"{k} {'x'.join(map(str, v))}" for k, v in r["params"].items())
        lines.append(f"{r['name']:8s} {r['op']:28s} {'x'.join(map(str, r['output'])):16s} {ps}")
    n = sum(int(np.prod(v)) for r in rows for v in r["params"].values())
    lines.append(f"parameters: {n:,}")
    return "\n".join(lines)


def main(args):
    from structnet.config import get_preset
    cfg = get_preset(args.preset).override(args.set or [])
    rows = layer_rows(StructNet(cfg, cfg.seed))
    print(json.dumps(rows, indent=1) if args.json else format_table(rows))
    return 0


__all__ = ["layer_rows", "format_table", "dense_layers"]


def activation_scales(net, images, poses_net):
    """Mean |activation| of every layer: images (N,3,112,112) network input, poses_net
    (M,51) network units -> {layer: float}. Dropout off. Shows a layer that starts dead
    (zero) or collapsed (constant across images: see the 'std over images' value)."""
    p = net.params
    x = image_input()
    y = pt.matrix("poses", dtype="float32")
    conv = build_conv_features(p, x)
    head = build_image_head(p, conv["pool2_flat"], conv["pool3_flat"])
    layers = {k: v for k, v in conv.items() if not k.endswith("_flat") and k.startswith("pool")}
    layers.update({k: head[k] for k in ("h1", "h2", "h3", "h4", "g7")})
    if net.config.pose_embedding != "raw":
        layers["h5"] = pt.maximum(pt.dot(y, p["h5/W"]) + p["h5/b"], 0)
        if net.config.pose_embedding == "2layer":
            layers["h6"] = build_pose_embedding(p, y, "2layer")
    names = list(layers)
    outs = []
    for n in names:
        v = layers[n]
        if n.startswith("pool"):
            v = v.dimshuffle(1, 0, 2, 3).reshape((v.shape[1], -1))       # (N, features)
        outs += [abs(v).mean(), v.std(axis=0).mean()]
    fn = compile_fn([x, y], outs, mode=net.config.mode, on_unused_input="ignore")
    vals = fn(np.asarray(images, np.float32), np.asarray(poses_net, np.float32))
    return {n: {"mean_abs": float(vals[2 * i]), "std_over_inputs": float(vals[2 * i + 1])}
            for i, n in enumerate(names)}
