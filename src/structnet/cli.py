"""``python -m structnet <command>``: one entry point; user errors are one line, exit 2."""
import os
import sys
import warnings


def _quiet():
    # PyTensor warns at import that it found no BLAS to link; our Ops and the NUMBA mode
    # use SciPy's OpenBLAS directly, so the warning is noise for users.
    warnings.filterwarnings("ignore", message=".*BLAS.*")
    warnings.filterwarnings("ignore", category=UserWarning, module="pytensor")
    warnings.filterwarnings("ignore", message="Skipping Assert")      # JAX mode: shape asserts traced away


from structnet.errors import Parser  # noqa: E402


def build_parser():
    ap = Parser(prog="structnet", description="StructNet (Li, Zhang, Chan, ICCV 2015) on PyTensor")
    sub = ap.add_subparsers(dest="command", required=True)
    s = sub.add_parser("summary", help="layers, output shapes and parameter shapes")
    s.add_argument("--json", action="store_true")
    s.add_argument("--preset", default="paper")
    s.add_argument("--set", nargs="*", metavar="KEY=VALUE", help="config overrides")
    sub.add_parser("bench", help="time the network's steps per compile mode (and PyTorch)", add_help=False)
    d = sub.add_parser("data", help="build the dataset (train.h5, test.h5): synthetic, or extract Human3.6M")
    d.add_argument("--dataset", choices=["synthetic", "h36m"], default="synthetic",
                   help="synthetic (the embedded default) or h36m (extract a user's Human3.6M)")
    d.add_argument("--out", required=True, help="directory for train.h5 and test.h5 (synthetic: and poses.h5)")
    d.add_argument("--workers", type=int, help="processes (default: one per core)")
    d.add_argument("--splits", help="train, test (h36m default: both); synthetic also poses, the pose set of"
                                    " inference (default: all three)")
    d.add_argument("--preset", default="quick", help="synthetic: quick (default), full or tiny")
    d.add_argument("--source", choices=["synthetic", "bvh"], help="synthetic: procedural poses (default) or BVH")
    d.add_argument("--bvh-dir", help="synthetic: directory of .bvh files, or of one folder per performer"
                                     " (with --source bvh)")
    d.add_argument("--bvh-map", help="bvh: JSON {our joint: file joint} for a rig that is not detected")
    d.add_argument("--bvh-unit", help="bvh: mm per file unit, or mm, cm, inch, cmu, m (default: from the leg length)")
    d.add_argument("--bvh-performers", help="bvh: JSON {performer: [file-name patterns]} for a flat folder")
    d.add_argument("--seed", type=int)
    d.add_argument("--root", help="h36m: the official release (S1/ ... metadata.xml) or h36m-fetch's tree")
    d.add_argument("--layout", default="auto", choices=["auto", "official", "fetch"], help="h36m: which layout")
    d.add_argument("--every", type=int, default=1, help="h36m: keep every n-th frame (default 1: all, as the paper)")
    d.add_argument("--actions", default="all", help="h36m: comma-separated actions (any spelling), default all 15")
    d.add_argument("--npz", help="h36m: VideoPose3D data_3d_h36m.npz -> OUT/poses.h5, a pose set for eval and APF")
    d.add_argument("--keep-work", action="store_true", help="h36m: keep the per-sequence shards after merging")
    d.add_argument("--retry-failed", action="store_true", help="h36m: redo sequences that failed before")
    d.add_argument("--include-known-corrupt", action="store_true",
                   help="h36m: also try S11 Directions.54138969 (corrupt in the release)")
    for name, helptext in (("pretrain", "pre-train DconvMP-HML (conv layers for StructNet; Table 1 baseline)"),
                           ("train", "max-margin training of StructNet (Algorithm 1)")):
        t = sub.add_parser(name, help=helptext)
        t.add_argument("--preset", default="quick", help="quick (default), gpu (more epochs, for a GPU) or paper")
        t.add_argument("--run", required=True, help="run directory (e.g. runs/quick)")
        t.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides")
        t.add_argument("--resume", action="store_true", help="continue from the run's checkpoint if there is one")
        t.add_argument("--feed-workers", type=int, metavar="N",
                       help="processes that make the batches ahead of the step (0: a thread of this process;"
                            " default $STRUCTNET_FEED_WORKERS, else 1 up to 4 cores, a quarter of the cores above;"
                            " the batches are the same for every N)")
        if name == "train":
            t.add_argument("--pretrained", help="pre-training model.h5 (default: RUN/pretrain/model.h5)")
            t.add_argument("--out", help="output directory (default: RUN/train)")
    e = sub.add_parser("eval", help="StructNet-Max/Avg/Pred and DconvMP-HML on the test set")
    e.add_argument("--run", required=True, help="training run directory (holds model.h5)")
    e.add_argument("--data", required=True, help="dataset directory (train.h5, test.h5)")
    e.add_argument("--out", required=True, help="evaluation directory")
    e.add_argument("--pretrained", help="pre-training model.h5 (the DconvMP-HML baseline)")
    e.add_argument("--pose-set", help="pose file (data --npz) or dataset file to search; default DATA/train.h5")
    a = sub.add_parser("apf", help="StructNet-Avg(A)-APF on the test set (after eval)")
    a.add_argument("--run", required=True)
    a.add_argument("--data", required=True)
    a.add_argument("--eval", required=True, help="evaluation directory of `eval`")
    a.add_argument("--A", type=int, default=500)
    a.add_argument("--layers", type=int, default=10)
    a.add_argument("--particles", type=int, default=200)
    a.add_argument("--max-images", type=int, default=0)
    a.add_argument("--pose-set", help="the pose set eval used (default DATA/train.h5)")
    tb = sub.add_parser("tables", help="Markdown tables beside the paper's numbers, and the claims")
    tb.add_argument("--eval", required=True)
    tb.add_argument("--ablations", help="directory of ablation runs")
    tb.add_argument("--embedding", help="embedding.json of `figures`")
    tb.add_argument("--out", required=True)
    tb.add_argument("--readme", help="README to update between its results markers")
    fg = sub.add_parser("figures", help="Figure 3 and Figure 4 as PNG")
    fg.add_argument("--run", required=True)
    fg.add_argument("--data", required=True)
    fg.add_argument("--eval", required=True)
    fg.add_argument("--out", required=True, help="directory for the PNGs")
    bu = sub.add_parser("budget", help="held-out error against pre-training and training batches (make budget)")
    bu.add_argument("--runs", nargs="+", required=True, help="run directories, each with pretrain/ and train/")
    bu.add_argument("--out", required=True, help="directory for budget.json and budget.png")
    pr = sub.add_parser("predict", help="3D poses of your own images, folders of images or videos, with pictures")
    pr.add_argument("inputs", nargs="+", metavar="INPUT", help="image files (PNG, JPEG, ... any size: a crop around"
                    " one person), folders of them, videos")
    pr.add_argument("--model", required=True, help="model.h5 of `train` (RUN/train/model.h5)")
    pr.add_argument("--out", required=True, help="directory for poses.json, poses.csv and pictures/")
    pr.add_argument("--pose-set", help="dataset or pose file to search (default: the model's training set)")
    pr.add_argument("--A", type=int, default=20, help="StructNet-Avg(A): the mean of the A best poses (default 20)")
    pr.add_argument("--top-k", type=int, default=5, help="hypotheses kept per input, with their scores (default 5)")
    pr.add_argument("--every", type=int, default=1, help="videos: every n-th frame (default 1)")
    pr.add_argument("--sheet", action="store_true", help="also one contact sheet of every input (sheet.png)")
    pr.add_argument("--no-pictures", action="store_true", help="poses only: no PNG per image, no MP4 per video")
    x = sub.add_parser("export-images", help="a few dataset images as PNG files (to try predict on)")
    x.add_argument("--data", required=True, help="dataset file (DATA/test.h5)")
    x.add_argument("--out", required=True, help="directory for the PNGs and index.json")
    x.add_argument("--n", type=int, default=6)
    x.add_argument("--seed", type=int, default=0)
    g = sub.add_parser("sample-figure", help="grid of dataset samples with their 2D skeletons")
    g.add_argument("--data", required=True)
    g.add_argument("--out", required=True)
    return ap


def _splits(text, allowed=("train", "test")):
    from structnet.errors import UserError
    splits = [s.strip() for s in text.split(",") if s.strip()]
    bad = [s for s in splits if s not in allowed]
    if not splits or bad:
        raise UserError(f"--splits: {'unknown split ' + repr(bad[0]) if bad else 'no split'} in {text!r}"
                        f" ({', '.join(allowed)})")
    # test.h5 last: its presence tells `make` that the dataset is complete
    return sorted(splits, key=lambda s: s == "test")


def _data(args):
    import json
    from structnet.io import at_least, claim_dir, out_file
    from structnet.io import remove_stale_temporaries
    at_least(args.workers, 1, "--workers")
    at_least(args.seed, 0, "--seed")
    at_least(args.every, 1, "--every")
    if args.dataset == "h36m":
        return _data_h36m(args, _splits("train,test" if args.splits is None else args.splits))
    splits = _splits("train,poses,test" if args.splits is None else args.splits, ("train", "poses", "test"))
    from structnet.data.synthetic.build import build, build_pose_set, config_of, get_data_preset
    cfg = get_data_preset(args.preset, source=args.source, bvh_dir=args.bvh_dir, seed=args.seed,
                          workers=args.workers, bvh_map=args.bvh_map, bvh_unit=args.bvh_unit,
                          bvh_performers=args.bvh_performers)
    train_path = os.path.join(args.out, "train.h5")
    if "poses" in splits and "train" not in splits and os.path.isfile(train_path):
        cfg = config_of(train_path)     # a pose set added to a training set: the poses of its sequences
    if cfg.source == "bvh":
        from structnet.data.synthetic.mocap import check_splits
        from structnet.data.synthetic.rigs import load_user_map, unit_scale
        if cfg.bvh_map:
            load_user_map(cfg.bvh_map)
        if cfg.bvh_unit:
            unit_scale(float("nan"), unit=cfg.bvh_unit)
        check_splits(cfg, sorted({"train" if s == "poses" else s for s in splits}))
    claim_dir(args.out, "data", "--out")
    for split in splits:                 # each output file before any rendering
        out_file(os.path.join(args.out, f"{split}.h5"), "--out")
    for split in splits:
        path = os.path.join(args.out, f"{split}.h5")
        remove_stale_temporaries(path)
        stats = build_pose_set(cfg, path) if split == "poses" else build(cfg, path, split)
        print(json.dumps({"split": split, **stats}))
    return 0


def _data_h36m(args, splits):
    import json
    from structnet.io import claim_dir
    from structnet.errors import UserError
    from structnet.data.h36m import names
    from structnet.data.h36m.extract import ExtractConfig, extract
    try:
        actions = names.parse_actions(args.actions)
    except ValueError as e:
        raise UserError(str(e)) from None
    splits = tuple(splits)
    if not args.root and not args.npz:
        raise UserError("--dataset h36m needs --root (H36M_ROOT=...): the release or h36m-fetch directory")
    claim_dir(args.out, "data", "--out", reads=[args.root])
    if args.npz:
        from structnet.data.h36m.npz import convert
        print(json.dumps(convert(args.npz, os.path.join(args.out, "poses.h5"), actions=actions, every=args.every)))
        if not args.root:
            return 0
    if not args.root:
        raise UserError("--dataset h36m needs --root (H36M_ROOT=...): the release or h36m-fetch directory")
    cfg = ExtractConfig(root=args.root, layout=args.layout, every=args.every, actions=actions,
                        workers=args.workers or 0, keep_work=args.keep_work, retry_failed=args.retry_failed,
                        skip_known_corrupt=not args.include_known_corrupt)
    summary = extract(cfg, args.out, splits)
    problems = summary.pop("problems")
    for p in problems:
        print(f"h36m problem: {p['unit']}: {p['problem']}", file=sys.stderr)
    print(json.dumps({**summary, "problems": len(problems),
                      "report": os.path.join(args.out, "extraction.json")}))
    return 0


def _train(args):
    import json
    from structnet.io import claim_dir
    from structnet.config import get_preset
    from structnet.errors import UserError
    from structnet.train.algorithm1 import run_train
    from structnet.train.pretrain import run_pretrain
    from structnet.data.feed import resolve_workers
    cfg = get_preset(args.preset).override(args.set)
    workers = resolve_workers(args.feed_workers)
    if args.command == "pretrain":
        claim_dir(args.run, "run", "--run")
        res = run_pretrain(cfg, claim_dir(os.path.join(args.run, "pretrain"), "pretrain", "--run"), resume=args.resume,
                           feed_workers=workers)
    else:
        pre = args.pretrained or os.path.join(args.run, "pretrain", "model.h5")
        if not os.path.isfile(pre):
            raise UserError(f"{pre}: no pre-trained network; run `make pretrain` first (or pass --pretrained)")
        out = args.out or os.path.join(args.run, "train")
        if not args.out:
            claim_dir(args.run, "run", "--run")
        res = run_train(cfg, claim_dir(out, "train", "--out" if args.out else "--run", reads=[os.path.dirname(pre)]),
                        pre, resume=args.resume,
                        feed_workers=workers)
    print(json.dumps(res))
    return 0


def _evaluate(args):
    import json
    from structnet.io import claim_dir, dir_kind, not_an_input, out_file
    from structnet.errors import UserError
    if args.command == "eval":
        from structnet.evaluate.evaluate import run_eval
        if args.pretrained and not os.path.isfile(args.pretrained):
            raise UserError(f"{args.pretrained}: no such pre-trained model (--pretrained)")
        claim_dir(args.out, "eval", "--out", reads=[args.run, args.data])
        res = run_eval(args.run, args.data, args.out, args.pretrained, pose_set=args.pose_set)
        print(json.dumps({k: v["all"] for k, v in res["methods"].items()}))
    elif args.command == "apf":
        from structnet.evaluate.evaluate import run_apf
        from structnet.io import at_least
        at_least(args.A, 1, "--A")
        at_least(args.layers, 1, "--layers")
        at_least(args.particles, 1, "--particles")
        at_least(args.max_images, 0, "--max-images")
        from structnet.io import check_memory
        # APF's resampling compares every particle with every other: 64 images x particles^2 flags
        check_memory(64 * args.particles * (args.particles + 51 * 8 * 6), f"--particles {args.particles}")
        out_file(os.path.join(args.eval, "results.json"), "--eval")
        if dir_kind(args.eval) not in ("eval", None):
            raise UserError(f"{args.eval}: holds no evaluation (--eval): run `make eval` and pass its --out")
        print(json.dumps(run_apf(args.run, args.data, args.eval, args.A, args.layers, args.particles,
                                 max_images=args.max_images, pose_set=args.pose_set)["all"]))
    elif args.command == "tables":
        from structnet.io import write_text
        from structnet.report.tables import check_readme, render_tables, update_readme
        out_file(args.out, "--out")
        reads = [os.path.join(args.eval, "results.json"), args.embedding, args.readme]
        not_an_input(args.out, "--out", reads)
        if args.readme:
            check_readme(args.readme)
        text = render_tables(args.eval, args.ablations, args.embedding)
        write_text(args.out, text)
        if args.readme:
            update_readme(args.readme, text, args.out)
        print(text)
    else:
        from structnet.io import read_json
        from structnet.report.figures import figure3, figure4, learning_figure
        ev = read_json(os.path.join(args.eval, "results.json"), "evaluation results", ("methods",),
                       "; run `make eval` first")
        claim_dir(args.out, "figures", "--out", reads=[args.run, args.data, args.eval])
        figure3(os.path.join(args.eval, "results.json"), os.path.join(args.out, "figure3.png"))
        learning_figure(os.path.dirname(os.path.normpath(args.run)), os.path.join(args.eval, "results.json"),
                        os.path.join(args.out, "learning.png"))
        stats = figure4(os.path.join(args.run, "model.h5"), args.data, os.path.join(args.out, "figure4.png"),
                        os.path.join(args.eval, "embedding.json"), alignment=ev.get("alignment"))
        from structnet.io import mark_dir
        mark_dir(args.out, "figures")
        print(json.dumps(stats))
    return 0


def _predict(args):
    import json
    from structnet.io import at_least, claim_dir
    if args.command == "export-images":
        from structnet.data.export import export_images
        at_least(args.n, 1, "--n")
        at_least(args.seed, 0, "--seed")
        claim_dir(args.out, "export", "--out", reads=[os.path.dirname(os.path.abspath(args.data))])
        print(json.dumps({"out": args.out, "rows": export_images(args.data, args.out, args.n, args.seed).tolist()}))
        return 0
    from structnet.estimate.run import run_predict
    at_least(args.A, 1, "--A")
    at_least(args.top_k, 1, "--top-k")
    at_least(args.every, 1, "--every")
    reads = [os.path.dirname(os.path.abspath(args.model))] + [p for p in args.inputs if os.path.isdir(p)]
    claim_dir(args.out, "predict", "--out", reads=reads)
    res = run_predict(args.model, args.inputs, args.out, args.A, args.top_k, args.every, args.pose_set,
                      args.sheet, not args.no_pictures)
    print(json.dumps(res))
    return 0


def main(argv=None):
    """Run a command; exit 2 for bad input (one line), 130 for Ctrl-C (even one a library
    swallowed: ``structnet.interrupt.interrupted``), else its own code."""
    code = _main(argv)
    from structnet.interrupt import interrupted
    if interrupted() and code != 130:
        print("structnet: interrupted", file=sys.stderr)
        return 130
    return code


def _main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    _quiet()
    from structnet.errors import UserError
    from structnet.interrupt import install_interrupt
    install_interrupt()
    try:
        from structnet.engine.backend import resolve_mode
        from structnet.io import check_environment
        check_environment()
        if os.environ.get("STRUCTNET_MODE"):
            resolve_mode(os.environ["STRUCTNET_MODE"])
        if argv and argv[0] == "bench":
            from structnet.report import bench
            return bench.main(argv[1:])
        args = build_parser().parse_args(argv)
        if args.command == "summary":
            from structnet.report import summary
            return summary.main(args)
        if args.command == "data":
            return _data(args)
        if args.command in ("pretrain", "train"):
            return _train(args)
        if args.command in ("eval", "apf", "tables", "figures"):
            return _evaluate(args)
        if args.command in ("predict", "export-images"):
            return _predict(args)
        if args.command == "budget":
            from structnet.io import claim_dir, mark_dir
            from structnet.report.budget import budget_table, write_budget
            claim_dir(args.out, "budget", "--out", reads=args.runs)
            points = write_budget(args.runs, args.out)
            mark_dir(args.out, "budget")
            print(budget_table(points))
        if args.command == "sample-figure":
            from structnet.io import not_an_input, out_file
            from structnet.report.samples import sample_grid
            out_file(args.out, "--out", suffixes=(".png",))
            not_an_input(args.out, "--out", [args.data])
            print(sample_grid(args.data, args.out))
    except UserError as e:
        print(f"structnet: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    except OSError as e:             # a path problem no check foresaw: still one line
        where = f"{e.filename}: " if e.filename else ""
        print(f"structnet: error: {where}{' '.join(str(e.strerror or e).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("structnet: interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        if _from_interrupt(e):      # Ctrl-C inside compiled code: numba wraps it in a SystemError
            print("structnet: interrupted", file=sys.stderr)
            return 130
        raise
    return 0


def _from_interrupt(e):
    seen = set()
    while e is not None and id(e) not in seen:
        if isinstance(e, KeyboardInterrupt):
            return True
        seen.add(id(e))
        e = e.__cause__ or e.__context__
    return False


if __name__ == "__main__":
    sys.exit(main())
