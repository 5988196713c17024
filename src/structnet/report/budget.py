"""``make budget``: what more compute buys (issue 23, deliverable 5).

Each run of the sweep is a whole pre-training of its own length (its own warm-up and
cosine schedule, not a snapshot of a longer run) followed by StructNet training; the
held-out learning curves both phases record (``structnet.train.curves``: MPJPE in mm on the
first ``curve_images`` test images) are read back from their ``results.json`` and set side by
side: the error at the end of each pre-training (DconvMP-HML's regression head) and of the
StructNet training after it (StructNet-Avg(20), StructNet-Max) against the pre-training
batches and the CPU minutes both phases took; and StructNet's curves against its own
training batches, one line per pre-training length.
"""
import os

from structnet.errors import UserError
from structnet.io import atomic_write, read_json, write_json

METHODS = ("StructNet-Avg(20)", "StructNet-Max")


def run_point(run_dir):
    """One run directory (``pretrain/`` and ``train/`` results) -> a dict: each phase's
    batches, batch size and minutes, the final held-out DconvMP-HML (mm), StructNet's curve (a
    list of {step, StructNet-Avg(20), StructNet-Max}) and its final values."""
    out = {"run": run_dir}
    for phase in ("pretrain", "train"):
        path = os.path.join(run_dir, phase, "results.json")
        res = read_json(path, f"{phase} results", ("curve", "seconds"), f"; run `make {phase}` for {run_dir}")
        curve = [p for p in res["curve"] if p.get("mpjpe")]
        if not curve:
            raise UserError(f"{path}: no learning curve (curve_every was 0); the budget needs one")
        out[f"{phase}_minutes"] = round(res["seconds"] / 60, 2)
        out[f"{phase}_batches"] = curve[-1]["step"]
        out[f"{phase}_batch_size"] = res.get("batch_size")
        if phase == "pretrain":
            out["DconvMP-HML"] = curve[-1]["mpjpe"]["DconvMP-HML"]
        else:
            out["curve"] = [{"step": p["step"], **{m: p["mpjpe"][m] for m in METHODS if m in p["mpjpe"]}} for p in curve]
            out.update({m: curve[-1]["mpjpe"].get(m) for m in METHODS})
    return out


def collect(run_dirs):
    """The points of ``run_dirs``, in order of pre-training length (the budget.json rows)."""
    return sorted((run_point(d) for d in run_dirs), key=lambda p: (p["pretrain_batches"], p["train_batches"]))


def budget_figure(points, out):
    """figures/budget.png: left, held-out MPJPE at the end of each run against its
    pre-training batches (each labelled with the minutes of both phases); right, StructNet-Avg(20)
    (solid) and -Max (dashed) against StructNet training batches, one colour a run."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
    xs = [p["pretrain_batches"] for p in points]
    for name, style in (("DconvMP-HML", "s-"), ("StructNet-Avg(20)", "o-"), ("StructNet-Max", "^--")):
        a.plot(xs, [p[name] for p in points], style, label=name + (" (end of pre-training)" if name == "DconvMP-HML"
                                                                   else " (end of training)"))
    for x, p in zip(xs, points):
        a.annotate(f"{p['pretrain_minutes'] + p['train_minutes']:.0f} min", (x, p["StructNet-Avg(20)"]),
                   textcoords="offset points", xytext=(0, 8), ha="center", fontsize=7)
    a.set_xscale("log", base=2)
    a.set_xticks(xs, [str(x) for x in xs])
    a.set_xlabel(f"pre-training batches (of {points[0]['pretrain_batch_size']})")
    a.set_title("end of each run (labels: minutes of both phases)", fontsize=9)
    a.set_ylabel("held-out MPJPE (mm)")
    a.grid(alpha=0.3)
    a.legend(fontsize=7)
    for i, p in enumerate(points):
        color = f"C{i}"
        steps = [q["step"] for q in p["curve"]]
        b.plot(steps, [q["StructNet-Avg(20)"] for q in p["curve"]], "-", color=color,
               label=f"{p['pretrain_batches']} pre-training batches")
        b.plot(steps, [q["StructNet-Max"] for q in p["curve"]], "--", color=color)
    b.set_xlabel(f"StructNet training batches (of {points[0]['train_batch_size']})")
    b.set_title("StructNet-Avg(20) solid, StructNet-Max dashed", fontsize=9)
    b.set_ylim(top=min(max(q["StructNet-Max"] for p in points for q in p["curve"][1:] or p["curve"]) * 1.1, 400))
    b.grid(alpha=0.3)
    b.legend(fontsize=7)
    fig.suptitle("What more compute buys: held-out MPJPE against pre-training and training batches", fontsize=10)
    fig.tight_layout()
    atomic_write(out, lambda tmp: fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png"))
    plt.close(fig)
    return out


def write_budget(run_dirs, out_dir):
    """budget.json and budget.png of ``run_dirs`` into ``out_dir``; returns the points."""
    points = collect(run_dirs)
    if len(points) < 2:
        raise UserError("--runs: the budget compares at least two runs")
    os.makedirs(out_dir, exist_ok=True)
    write_json(os.path.join(out_dir, "budget.json"), {"points": points})
    budget_figure(points, os.path.join(out_dir, "budget.png"))
    return points


def budget_table(points):
    """Markdown rows of ``points``: pre-training batches, minutes, DconvMP-HML, Avg(20), Max."""
    rows = ["| pre-training batches | CPU minutes (pre-training + training) | DconvMP-HML | StructNet-Avg(20) | StructNet-Max |",
            "|---|---|---|---|---|"]
    for p in points:
        rows.append(f"| {p['pretrain_batches']} | {p['pretrain_minutes']:.1f} + {p['train_minutes']:.1f} |"
                    f" {p['DconvMP-HML']:.1f} | {p['StructNet-Avg(20)']:.1f} | {p['StructNet-Max']:.1f} |")
    return "\n".join(rows)
