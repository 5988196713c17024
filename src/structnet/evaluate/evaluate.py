"""``make eval`` and ``make apf``: the paper's methods on the test set, MPJPE per action.

Methods (Sec. 5.2, Table 1): StructNet-Max, StructNet-Avg(A) for every A of the config,
StructNet-Pred (the auxiliary head), DconvMP-HML (the pre-training regression),
StructNet-Avg(A)-APF (``make apf``). Results: ``<eval dir>/results.json``; per method the
MPJPE per action (mean and standard deviation over frames), over all frames, P-MPJPE
and the per-joint error.
"""
import os
import sys
import time

import numpy as np

from structnet.geometry import metrics
from structnet.evaluate.alignment import alignment
from structnet.evaluate.baselines import reference_predictions
from structnet.geometry import poses as P
from structnet.data.dataset import Dataset
from structnet.errors import UserError
from structnet.model.inference import pose_set_embeddings, structnet_avg, structnet_max, top_k
from structnet.model.network import StructNet
from structnet.io import mark_dir, write_json

AVG_A = (20, 500, 1500)
SWEEP_A = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 1500, 2000)


def method_errors(pred, gt, actions, action_names):
    """Per-action mean/std, all-frames mean/std, P-MPJPE and per-joint errors of one method."""
    e = metrics.mpjpe(pred, gt, per_frame=True)
    per_action = {}
    for a in np.unique(actions):
        m = actions == a
        per_action[action_names[a]] = [float(e[m].mean()), float(e[m].std()), int(m.sum())]
    return {"per_action": per_action, "all": [float(e.mean()), float(e.std())],
            "action_mean": float(np.mean([v[0] for v in per_action.values()])),
            "p_mpjpe": metrics.p_mpjpe(pred, gt), "per_joint": metrics.per_joint_errors(pred, gt).mean(0).tolist()}


def _image_pass(net, ds, mean, chunk=256):
    """Image embeddings (N,E) and auxiliary predictions (N,17,3) mm of the test set (centre
    crops, the training set's RGB ``mean`` subtracted)."""
    emb, pred = [], []
    for s in range(0, len(ds), chunk):
        x = ds.input_for(net.config, ds.read_images(np.arange(s, min(s + chunk, len(ds)))), mean=mean)
        e, g = net.image_outputs(x)
        emb.append(e)
        pred.append(P.from_network(g))
    return np.concatenate(emb), np.concatenate(pred)


def dconvmp_predict(pretrain_model, cfg, ds, mean, chunk=256):
    from structnet.model.dconvmp import DconvMP
    model = DconvMP.load(pretrain_model, cfg)
    out = [P.from_network(model.predict(ds.input_for(cfg, ds.read_images(np.arange(s, min(s + chunk, len(ds)))),
                                                     mean=mean)))
           for s in range(0, len(ds), chunk)]
    return np.concatenate(out)


def _pose_set(data_dir, pose_set, train, test=None):
    """The pose set searched at inference (root-relative mm): the training poses, or a pose file.
    A pose set that holds the test poses (the test set itself, or a file with its subjects)
    would put the answer into the search: a one-line error."""
    default = os.path.join(data_dir, "train.h5")
    if not pose_set or os.path.abspath(pose_set) == os.path.abspath(default):
        return train.root_relative(), default
    test_path = os.path.join(data_dir, "test.h5")
    if os.path.exists(pose_set) and os.path.exists(test_path) and os.path.samefile(pose_set, test_path):
        raise UserError(f"{pose_set}: --pose-set is the test set: its poses are the answers (use the training"
                        " poses, the default, or a pose file of the training subjects)")
    from structnet.data.posefile import load_pose_set
    poses = load_pose_set(pose_set)
    if test is not None:
        leaked = leak_fraction(poses, test.root_relative())
        if leaked > 0.01:
            raise UserError(f"{pose_set}: --pose-set holds {100 * leaked:.0f}% of the test poses exactly; a pose set"
                            " of the training subjects only keeps the answers out of the search")
    return poses, pose_set


def leak_fraction(poses, test_poses, mm=0.5):
    """The fraction of ``test_poses`` (N,17,3) found in ``poses`` (M,17,3) to ``mm`` (rounded)."""
    key = lambda p: {r.tobytes() for r in np.round(np.asarray(p, np.float64).reshape(len(p), -1) / mm).astype(np.int64)}  # noqa: E731
    have = key(poses)
    rows = np.round(np.asarray(test_poses, np.float64).reshape(len(test_poses), -1) / mm).astype(np.int64)
    return float(np.mean([r.tobytes() in have for r in rows])) if len(rows) else 0.0


def run_eval(run_dir, data_dir, out_dir, pretrain_model=None, avg=AVG_A, mode=None, pose_set=None):
    """Evaluate run_dir/model.h5 on data_dir/test.h5 with the training poses (or the pose
    file ``pose_set``) as pose set."""
    t0 = time.perf_counter()
    model_path = os.path.join(run_dir, "model.h5")
    net = StructNet.load(model_path, mode=mode)
    test, train = Dataset(os.path.join(data_dir, "test.h5")), Dataset(os.path.join(data_dir, "train.h5"))
    os.makedirs(out_dir, exist_ok=True)
    gt = test.root_relative()
    poseset, poseset_path = _pose_set(data_dir, pose_set, train, test)
    k = min(max(max(avg), max(SWEEP_A)), len(poseset))
    t_img = time.perf_counter()
    img_emb, pred_aux = _image_pass(net, test, train.rgb_mean)
    t_pose = time.perf_counter()
    pose_emb = pose_set_embeddings(net, poseset, os.path.join(run_dir, "poseset_embeddings.h5"))
    t_score = time.perf_counter()
    idx, scores = top_k(img_emb, pose_emb, k)
    t_done = time.perf_counter()
    actions = test.meta["action"]
    methods = {"StructNet-Max": structnet_max(idx, poseset)}
    not_run = {}
    for A in avg:
        if A <= k:
            methods[f"StructNet-Avg({A})"] = structnet_avg(idx, poseset, A)
        else:
            not_run[f"StructNet-Avg({A})"] = f"the pose set has {len(poseset)} poses, fewer than A = {A}"
    methods["StructNet-Pred"] = pred_aux
    if pretrain_model:
        methods["DconvMP-HML"] = dconvmp_predict(pretrain_model, net.config, test, train.rgb_mean)
    else:
        not_run["DconvMP-HML"] = "no pre-trained model given (--pretrained)"
    for name, why in not_run.items():
        print(f"eval: {name} not run: {why}", file=sys.stderr, flush=True)
    results = {name: method_errors(p, gt, actions, test.actions) for name, p in methods.items()}
    # reference rows: the floor (mean training pose) and what the pose set allows (oracles)
    refs, ref_note = reference_predictions(train.root_relative(), poseset, gt, (1,) + tuple(avg))
    reference = {name: method_errors(p, gt, actions, test.actions) for name, p in refs.items()}
    sweep = {A: metrics.mpjpe(structnet_avg(idx, poseset, A), gt) for A in SWEEP_A if A <= k}
    # how well image and pose embeddings align on the training images (Sec. 6: 97% within 30 mm)
    aligned = alignment(net, train, poseset, pose_emb)
    np.savez(os.path.join(out_dir, "topk.npz"), idx=idx[:, :max(avg)], scores=scores[:, :max(avg)])
    out = {"model": model_path, "data": data_dir, "test_images": len(test), "pose_set": len(poseset), "pose_set_file": poseset_path,
           "actions": test.actions, "methods": results, "not_run": not_run, "reference": reference, "reference_note": ref_note,
           "avg_sweep": sweep, "alignment": aligned,
           "seconds": {"image_pass": t_pose - t_img, "pose_set_embeddings": t_score - t_pose,
                       "scoring_top_k": t_done - t_score, "total": time.perf_counter() - t0}}
    write_json(os.path.join(out_dir, "results.json"), out)
    mark_dir(out_dir, "eval")
    return out


def run_apf(run_dir, data_dir, eval_dir, A=500, layers=10, particles=200, seed=0, max_images=0, pose_set=None):
    """StructNet-Avg(A)-APF for the test set; adds the method to eval_dir/results.json."""
    from structnet.evaluate import apf
    from structnet.io import load_topk, read_json
    res_path = os.path.join(eval_dir, "results.json")
    res = read_json(res_path, "evaluation results", ("methods", "pose_set", "test_images"), "; run `make eval` first")
    topk = load_topk(os.path.join(eval_dir, "topk.npz"))
    if A > topk.shape[1]:
        raise UserError(f"--A {A}: APF on Avg({A}) needs the top {A} poses; eval kept {topk.shape[1]}"
                        f" ({os.path.join(eval_dir, 'topk.npz')})")
    test, train = Dataset(os.path.join(data_dir, "test.h5")), Dataset(os.path.join(data_dir, "train.h5"))
    if len(topk) != len(test) or res["test_images"] != len(test):
        raise UserError(f"{os.path.join(eval_dir, 'topk.npz')}: {len(topk)} rows, but {test.path} has {len(test)}"
                        " test images; rerun `make eval` on this dataset")
    gt = test.root_relative()
    poseset, poseset_path = _pose_set(data_dir, pose_set or res.get("pose_set_file"), train, test)
    if len(poseset) != res["pose_set"]:
        raise UserError(f"{poseset_path}: {len(poseset)} poses, but eval searched {res['pose_set']}; "
                        "pass the pose set eval used (--pose-set)")
    n = len(test) if not max_images else min(max_images, len(test))
    rng = np.random.default_rng(seed)
    out = np.empty((n, 17, 3))
    t0 = time.perf_counter()
    from tqdm import tqdm
    for subj in np.unique(test.meta["subject"][:n]):
        rows = np.flatnonzero(test.meta["subject"][:n] == subj)
        template = apf.subject_template(gt[test.meta["subject"] == subj])
        for s in tqdm(range(0, len(rows), 64), desc=f"APF S{subj}", unit="batch",
                      disable=os.environ.get("STRUCTNET_PROGRESS", "1") == "0"):
            r = rows[s:s + 64]
            target = structnet_avg(topk[r], poseset, A)
            out[r], _ = apf.fit(target, poseset[topk[r, 0]], template, rng, layers, particles)
    name = f"StructNet-Avg({A})-APF"
    res["methods"][name] = method_errors(out, gt[:n], test.meta["action"][:n], test.actions)
    res["apf"] = {"A": A, "layers": layers, "particles": particles, "images": n,
                  "seconds": time.perf_counter() - t0}
    write_json(res_path, res)
    return res["methods"][name]
