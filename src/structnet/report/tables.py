"""``make tables``: Markdown tables from results JSON, each beside the paper's numbers,
and the paper's claims checked against our measurements.

The paper's numbers are data (``resources/paper_results.json``, with their source);
nothing here types a number by hand.
"""
import json
import os

import numpy as np

_PAPER = os.path.join(os.path.dirname(os.path.dirname(__file__)), "resources", "paper_results.json")
TABLE3_ROWS = (("raw", "raw pose (51)"), ("random1", "1-layer, random weights (1024)"),
               ("1layer", "1-layer (1024)"), ("2layer", "2-layer (1024)"))


def load_paper():
    with open(_PAPER) as f:
        return json.load(f)


def pooled(stats):
    """Pool per-action [mean, std, n] into the mean and std over all their frames."""
    n = np.array([s[2] for s in stats], float)
    m = np.array([s[0] for s in stats])
    sd = np.array([s[1] for s in stats])
    mean = (n * m).sum() / n.sum()
    var = (n * (sd ** 2 + (m - mean) ** 2)).sum() / n.sum()
    return float(mean), float(np.sqrt(var))


def _cell(v):
    return f"{v[0]:.2f} ({v[1]:.2f})" if v is not None else "-"


def table1(res, paper, ablations=None):
    """Table 1: ours and the paper's per method; StructNet*-Max (lambda = 0) from the ablation
    run ``lam0`` when there is one (at the ablations' budget, see Table 3)."""
    lam0, source = (ablations or {}).get("lam0"), {}
    if lam0 and "StructNet*-Max" not in res["methods"]:
        res = {**res, "methods": {**res["methods"], "StructNet*-Max": lam0["methods"]["StructNet-Max"]}}
        source["StructNet*-Max"] = "ours (ablation lam0)"
    t1, cmap = paper["table1"], paper["column_map"]
    cols = t1["columns"][:-1]
    head = "| method | source | " + " | ".join(cols) + " | All (6 actions) | All (every action) |"
    lines = [head, "|" + "---|" * (len(cols) + 4)]
    names = list(t1["rows"]) + [n for n in res["methods"] if n not in t1["rows"]]
    for name in names:
        m = res["methods"].get(name)
        if m:
            ours = [m["per_action"].get(cmap[c]) for c in cols]
            six = pooled([v for v in ours if v is not None]) if any(ours) else None
            lines.append(f"| {name} | {source.get(name, 'ours')} | " + " | ".join(_cell(v) for v in ours)
                         + f" | {_cell(six)} | {_cell(m['all'])} |")
        elif name in res.get("not_run", {}):
            lines.append(f"| {name} | ours | not run: {res['not_run'][name]} |" + " |" * (len(cols) + 1))
        p = t1["rows"].get(name)
        if p:
            lines.append(f"| {name} | paper | " + " | ".join(_cell(v) for v in p[:-1]) + f" | {_cell(p[-1])} | - |")
    for name, m in _ordered_reference(res):
        ours = [m["per_action"].get(cmap[c]) for c in cols]
        six = pooled([v for v in ours if v is not None]) if any(ours) else None
        lines.append(f"| *{name}* | reference | " + " | ".join(_cell(v) for v in ours)
                     + f" | {_cell(six)} | {_cell(m['all'])} |")
    return "\n".join(lines)


def _ordered_reference(res):
    """The reference rows in reading order: the floor, the nearest pose, then Avg(A) oracles by A."""
    import re
    ref = res.get("reference", {})
    def key(name):
        m = re.search(r"mean of (\d+) nearest", name)
        return (0, 0) if "floor" in name else (1, int(m.group(1))) if m else (1, 1)
    return [(k, ref[k]) for k in sorted(ref, key=key)]


LEARNED = ("DconvMP-HML", "StructNet-Max", "StructNet-Avg(20)", "StructNet-Avg(500)", "StructNet-Avg(500)-APF",
           "StructNet-Avg(1500)", "StructNet-Pred")


def floor_verdict(res):
    """Words on each learned method against the mean-pose floor (every action, mm)."""
    from structnet.evaluate.baselines import FLOOR
    ref = res.get("reference", {})
    if FLOOR not in ref:
        return "The results hold no reference rows (run `make eval` again to compute them)."
    floor = ref[FLOOR]["all"][0]
    above, below = [], []
    for name in LEARNED:
        m = res["methods"].get(name)
        if m:
            e = m["all"][0]
            (below if e < floor else above).append(f"{name} {e:.1f} mm ({100 * (floor - e) / floor:+.0f}%)")
    text = [f"Read against the reference rows: predicting the mean training pose for every image gives "
            f"{floor:.1f} mm (the floor, every action); the pose set allows "
            + ", ".join(f"{v['all'][0]:.1f} mm ({k.replace(' (oracle)', '')})" for k, v in _ordered_reference(res)
                        if k != FLOOR)
            + " (the ceilings)."]
    if below:
        text.append("Below the floor (percent better than the floor): " + "; ".join(below) + ".")
    if above:
        text.append("**Not better than the floor, so these learned nothing usable from the images: "
                    + "; ".join(above) + ".**")
    return " ".join(text)


def ablation_budget(ablations):
    """'N batches of B' of the ablation runs' training (from each run's results.json), or None."""
    seen = set()
    for r in ablations.values():
        path = os.path.join(os.path.dirname(r["model"]), "results.json")
        try:
            with open(path) as f:
                t = json.load(f)
            seen.add((t["epochs"] * t["batches_per_epoch"], t.get("batch_size") or _config_batch(os.path.dirname(path), "train")))
        except (OSError, ValueError, KeyError, TypeError):
            seen.add(None)
    if len(seen) != 1 or None in seen:
        return None
    n, b = seen.pop()
    return f"{n} batches of {b}"


def table3(ablations, paper):
    budget = ablation_budget(ablations) if ablations else None
    head = f"ours: StructNet-Max (Avg(20)), every action{', ' + budget + ' each' if budget else ''}"
    lines = [f"| pose embedding | {head} | paper |", "|---|---|---|"]
    for key, label in TABLE3_ROWS:
        r = ablations.get(key)
        ours = (_cell(r["methods"]["StructNet-Max"]["all"]) + (
            f" ({r['methods']['StructNet-Avg(20)']['all'][0]:.2f})" if "StructNet-Avg(20)" in r["methods"] else "")
            if r else "not run")
        lines.append(f"| {label} | {ours} | {_cell(paper['table3']['rows'][label])} |")
    if ablations:
        sizes = sorted({r["pose_set"] for r in ablations.values()})
        lines.append("\nEach ablation is trained from the same pre-trained network with the same budget"
                     " (`make ablations`: `ABLATION_SET`) and searches the same pose set"
                     f" ({' / '.join(str(n) for n in sizes)} poses), so the rows compare with each other,"
                     " not with Table 1.")
    return "\n".join(lines)


#: differences smaller than this are within what seeds alone change (legacy_notes/training.md:
#: held-out DconvMP-HML of two pre-training seeds differed by 1-3 mm)
NOISE_MM = 1.0


def _worse(a, b):
    """Verdict on "a is worse than b" (mm): yes, no, or too close to tell."""
    if abs(a - b) < NOISE_MM:
        return f"not distinguishable: {a - b:+.2f} mm, under {NOISE_MM:.0f} mm (seed noise)"
    return a > b


def claims(res, ablations, embedding=None):
    """Each claim of the paper with our numbers and whether it held (None = not measured).

    Ablations are compared with the ablation run "2layer" (the default network trained
    with the same, usually smaller, budget) when there is one."""
    M = {k: v["all"][0] for k, v in res["methods"].items()}
    same_budget = ablations.get("2layer")
    out = []
    from structnet.evaluate.baselines import FLOOR
    ref = {k: v["all"][0] for k, v in res.get("reference", {}).items()}
    if FLOOR in ref:
        floor = ref[FLOOR]
        learned = [k for k in LEARNED if k in M]
        out.append((f"reference: {FLOOR}", f"{floor:.2f} mm", "reference"))
        for k, v in _ordered_reference(res):
            if k != FLOOR:
                out.append((f"reference: {k}", f"{v['all'][0]:.2f} mm", "reference"))
        out.append(("every learned method beats the mean-pose floor",
                    ", ".join(f"{k} {M[k]:.2f}" for k in learned) + f" vs floor {floor:.2f} mm",
                    all(M[k] < floor for k in learned)))
    if "StructNet-Max" in M and "StructNet-Avg(500)" in M:
        mx, av = M["StructNet-Max"], M["StructNet-Avg(500)"]
        per = res["methods"]
        wins = sum(per["StructNet-Avg(500)"]["per_action"][a][0] < per["StructNet-Max"]["per_action"][a][0]
                   for a in per["StructNet-Max"]["per_action"])
        out.append(("StructNet-Avg(A) beats StructNet-Max", f"Avg(500) {av:.2f} mm vs Max {mx:.2f} mm; "
                    f"better on {wins} of {len(per['StructNet-Max']['per_action'])} actions", av < mx))
    best = min((v, k) for k, v in M.items() if k.startswith("StructNet-Avg")) if any(
        k.startswith("StructNet-Avg") for k in M) else None
    if best and "StructNet-Pred" in M:
        out.append(("StructNet beats its own Pred head", f"{best[1]} {best[0]:.2f} mm vs Pred {M['StructNet-Pred']:.2f} mm",
                    best[0] < M["StructNet-Pred"]))
    if best and "DconvMP-HML" in M:
        out.append(("StructNet beats the DconvMP-HML baseline",
                    f"{best[1]} {best[0]:.2f} mm vs DconvMP-HML {M['DconvMP-HML']:.2f} mm", best[0] < M["DconvMP-HML"]))
    if "StructNet-Avg(500)" in M and "DconvMP-HML" in M:
        gain = 100 * (1 - M["StructNet-Avg(500)"] / M["DconvMP-HML"])
        out.append(("max-margin training adds to the pre-trained network: StructNet-Avg(500) 9.0% below DconvMP-HML",
                    f"Avg(500) {M['StructNet-Avg(500)']:.2f} mm vs DconvMP-HML {M['DconvMP-HML']:.2f} mm: {gain:.1f}% below",
                    "yes" if gain >= 8 else f"partly: {gain:.1f}% (the paper: 9.0%)" if gain > 0 else "no"))
    al = res.get("alignment")
    if al:
        out.append(("Sec. 6: 97% of the training images' max-score poses lie within 30 mm of their pose",
                    f"{100 * al['within_30mm']:.1f}% within 30 mm (median {al['median_mm']:.1f} mm, {al['images']}"
                    " training images)", al["within_30mm"] >= 0.9))
    else:
        out.append(("Sec. 6: 97% of the training images' max-score poses lie within 30 mm of their pose",
                    "not measured (results from before `eval` measured it)", None))
    apf = [k for k in M if k.endswith("-APF")]
    if apf:
        base = apf[0][:-4]
        out.append(("APF gives a valid pose with about the Avg(A) error",
                    f"{apf[0]} {M[apf[0]]:.2f} mm vs {base} {M.get(base, float('nan')):.2f} mm",
                    abs(M[apf[0]] - M.get(base, np.inf)) < 0.05 * M.get(base, np.inf)))
    lam0 = ablations.get("lam0")
    if lam0:
        ref = same_budget or res
        a, b = lam0["methods"]["StructNet-Max"]["all"][0], ref["methods"]["StructNet-Max"]["all"][0]
        out.append(("lambda = 0 (no auxiliary task, StructNet*) is worse",
                    f"StructNet*-Max {a:.2f} mm vs StructNet-Max {b:.2f} mm", _worse(a, b)))
    else:
        out.append(("lambda = 0 (no auxiliary task, StructNet*) is worse", "not run (make ablations)", None))
    emb = {k: ablations[k]["methods"]["StructNet-Max"]["all"][0] for k, _ in TABLE3_ROWS if k in ablations}
    if "2layer" not in emb and "StructNet-Max" in M:
        emb["2layer"] = M["StructNet-Max"]
    if len(emb) == 4:
        order = [emb[k] for k in ("2layer", "1layer", "random1", "raw")]
        gaps = [b - a for a, b in zip(order, order[1:])]
        held = all(g > 0 for g in gaps)
        if held and min(gaps) < NOISE_MM:
            names = ("2layer", "1layer", "random1", "raw")
            small = [f"{names[i]}-{names[i + 1]}" for i, g in enumerate(gaps) if g < NOISE_MM]
            held = f"yes, but the {', '.join(small)} gap is under {NOISE_MM:.0f} mm (seed noise)"
        out.append(("2-layer < 1-layer < random 1-layer < raw pose embedding",
                    ", ".join(f"{k} {emb[k]:.2f}" for k in ("2layer", "1layer", "random1", "raw")), held))
    else:
        out.append(("2-layer < 1-layer < random 1-layer < raw pose embedding", "not run (make ablations)", None))
    if embedding:
        r2 = embedding["orientation_r2_pca_image"]
        out.append(("the leading embedding components follow body orientation",
                    f"R^2 of (cos, sin) of the body's yaw from the 2 leading PCA components: image {r2:.2f}, "
                    f"pose {embedding['orientation_r2_pca_pose']:.2f}", r2 >= 0.5))
    return out


def _config_batch(run_dir, phase):
    """The batch size of a phase from its run's config.json (results written before they said it)."""
    try:
        with open(os.path.join(run_dir, "config.json")) as f:
            cfg = json.load(f)
        return cfg["pretrain_batch_size" if phase == "pretrain" else "batch_size"]
    except (OSError, ValueError, KeyError, TypeError):
        return "?"


def run_summary(res):
    """Lines on the training runs behind the evaluated model (times, images per second)."""
    train_dir = os.path.dirname(res["model"])
    lines = []
    for phase, path in (("pre-training", os.path.join(os.path.dirname(train_dir), "pretrain", "results.json")),
                        ("training", os.path.join(train_dir, "results.json"))):
        if os.path.exists(path):
            with open(path) as f:
                r = json.load(f)
            n = r["epochs"] * r["batches_per_epoch"]
            batch = r.get("batch_size") or _config_batch(os.path.dirname(path), r.get("phase"))
            lines.append(f"- {phase} (`{path}`): {r['epochs']} epoch{'s' if r['epochs'] != 1 else ''} x {r['batches_per_epoch']} batches"
                         f" of {batch} in "
                         f"{r['seconds'] / 60:.1f} min ({r['seconds'] / max(n, 1):.2f} s per batch, "
                         f"final cost {r['final'].get('cost', float('nan')):.4f})")
            if "feed_wait_fraction" in r:
                w = r["feed_workers"]
                lines.append(f"  - the feed ({w} worker process{'es' if w != 1 else ''}" if w else "  - the feed (a thread")
                lines[-1] += (f"): the step waited for its batch {100 * r['feed_wait_fraction']:.1f}% of the time"
                              f" (`feed_wait_fraction`; {r['feed_wait_s']['total']:.1f} s in all, the longest wait"
                              f" {r['feed_wait_s']['max']:.2f} s); median step {r['step_s']['median']:.2f} s")
            curve = r.get("curve") or []
            if curve:
                pts = [curve[0]] + curve[1:][::max(1, len(curve) // 6)][:-1] + curve[-1:]
                for name in curve[-1]["mpjpe"]:
                    lines.append(f"  - held-out {name} (mm) by batch: " + ", ".join(
                        f"{p['step']}: {p['mpjpe'][name]:.1f}" for p in pts if name in p["mpjpe"]))
            ls = r.get("line_search")
            if ls and ls.get("batches"):
                lines.append(f"  - line search: the top of its grid chosen in {100 * ls['top_of_grid_fraction']:.0f}%"
                             f" of {ls['batches']} batches")
    if "seconds" in res:
        lines.append(f"- evaluation: {res['seconds']['total'] / 60:.1f} min"
                     + (f"; APF on {res['apf']['images']} images {res['apf']['seconds'] / 60:.1f} min" if "apf" in res else ""))
    return (["## The run\n"] + lines + [""]) if lines else []


def _pose_set_source(res):
    """Where the pose set came from, when it is not the training images' poses (a pose file)."""
    f = res.get("pose_set_file") or ""
    if not f or os.path.basename(f) == "train.h5":
        return ""
    return f" from `{f}`, A = 500 being {100 * 500 / res['pose_set']:.1f}% of them (the paper: ~0.5%)"


RESULTS_KEYS = ("methods", "avg_sweep", "data", "model", "test_images", "pose_set")


def _same_file(a, b):
    if os.path.exists(a) and os.path.exists(b):
        return os.path.samefile(a, b)
    return os.path.abspath(a) == os.path.abspath(b)


def render_tables(eval_dir, ablation_dir=None, embedding_json=None):
    from structnet.io import read_json
    from structnet.errors import UserError
    paper = load_paper()
    res = read_json(os.path.join(eval_dir, "results.json"), "evaluation results", RESULTS_KEYS,
                    "; run `make eval` first")
    ablations = {}
    if ablation_dir:
        if not os.path.isdir(ablation_dir):
            raise UserError(f"{ablation_dir}: no such directory of ablation runs (--ablations)")
        for name in sorted(os.listdir(ablation_dir)):
            p = os.path.join(ablation_dir, name, "eval", "results.json")
            if os.path.exists(p):
                ablations[name] = read_json(p, "evaluation results", RESULTS_KEYS)
    emb = None
    if embedding_json:
        emb = read_json(embedding_json, "embedding statistics (--embedding)", ("model",), "; run `make figures` first")
        if not _same_file(emb["model"], res["model"]):
            raise UserError(f"{embedding_json}: the embedding statistics of {emb['model']}, not of the evaluated"
                            f" model {res['model']} (--embedding); run `make figures` for this run")
    sweep = sorted((int(a), v) for a, v in res["avg_sweep"].items())
    run_lines = run_summary(res)
    parts = [f"# Results beside the paper\n\nMeasured by `make eval` on `{res['data']}` "
             f"({res['test_images']} test images, pose set of {res['pose_set']} training poses{_pose_set_source(res)}), model "
             f"`{res['model']}`. Paper: {paper['table1']['source']}. Our actions are the synthetic "
             f"world's (Photo for TakingPhoto, WalkDog for WalkingDog); mm.\n",
             *run_lines, "## Table 1\n", table1(res, paper, ablations), "", floor_verdict(res), "\n## Table 2\n\nPer-action models on the hidden test "
             "set: not run (the hidden test server is Human3.6M's; our synthetic world has none).\n",
             "## Table 3\n", table3(ablations, paper), "\n## Error against A (Figure 3 data)\n",
             "| A | " + " | ".join(str(a) for a, _ in sweep) + " |",
             "|---|" + "---|" * len(sweep),
             "| MPJPE | " + " | ".join(f"{v:.2f}" for _, v in sweep) + " |",
             "\n## The paper's claims, measured\n", "| claim | measured | held |", "|---|---|---|"]
    for claim, text, held in claims(res, ablations, emb):
        verdict = held if isinstance(held, str) else 'yes' if held else 'no' if held is not None else 'not measured'
        parts.append(f"| {claim} | {text} | {verdict} |")
    return "\n".join(parts) + "\n"


BEGIN, END = "<!-- results:begin (generated by make tables) -->", "<!-- results:end -->"


def _markers(path, begin, end):
    """The file's text; a file without both markers (in order) is a UserError."""
    from structnet.errors import UserError
    try:
        with open(path) as f:
            doc = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: cannot read ({e})") from None
    if begin not in doc or end not in doc or doc.index(end) < doc.index(begin):
        raise UserError(f"{path}: no section between the markers {begin!r} and {end!r} to replace")
    return doc


def check_readme(readme):
    """Before any work: the README exists, is writable and has the results markers."""
    from structnet.io import out_file
    out_file(readme, "--readme")
    _markers(readme, BEGIN, END)


def replace_between(path, begin, end, text):
    """Replace what lies between the markers ``begin`` and ``end`` of the file (atomic)."""
    from structnet.io import write_text
    doc = _markers(path, begin, end)
    new = doc[:doc.index(begin) + len(begin)] + "\n" + text.rstrip("\n") + "\n" + doc[doc.index(end):]
    write_text(path, new)
    return True


def update_readme(readme, text, source):
    """Replace the README's results section (between the markers) with ``text``."""
    body = text.replace("# Results beside the paper", f"Generated from `{source}`.", 1)
    body = body.replace("\n## ", "\n#### ")
    return replace_between(readme, BEGIN, END, body)
