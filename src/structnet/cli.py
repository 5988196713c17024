"""``python -m structnet <command>``: one entry point; user errors are one line, exit 2."""
import argparse
import os
import sys
import warnings


def _quiet():
    # PyTensor warns at import that it found no BLAS to link; our Ops and the NUMBA mode
    # use SciPy's OpenBLAS directly, so the warning is noise for users.
    warnings.filterwarnings("ignore", message=".*BLAS.*")
    warnings.filterwarnings("ignore", category=UserWarning, module="pytensor")


def build_parser():
    ap = argparse.ArgumentParser(prog="structnet", description="StructNet (Li, Zhang, Chan, ICCV 2015) on PyTensor")
    sub = ap.add_subparsers(dest="command", required=True)
    s = sub.add_parser("summary", help="layers, output shapes and parameter shapes")
    s.add_argument("--json", action="store_true")
    s.add_argument("--preset", default="paper")
    s.add_argument("--set", nargs="*", metavar="KEY=VALUE", help="config overrides")
    sub.add_parser("bench", help="time the network's steps per compile mode (and PyTorch)", add_help=False)
    d = sub.add_parser("data", help="build the synthetic dataset (train.h5, test.h5)")
    d.add_argument("--preset", default="quick", help="quick (default), full or tiny")
    d.add_argument("--out", required=True, help="directory for train.h5 and test.h5")
    d.add_argument("--source", choices=["synthetic", "bvh"], help="poses: procedural (default) or BVH")
    d.add_argument("--bvh-dir", help="directory of .bvh files (with --source bvh)")
    d.add_argument("--seed", type=int)
    d.add_argument("--workers", type=int, help="processes (default: one per core)")
    d.add_argument("--splits", default="train,test")
    g = sub.add_parser("sample-figure", help="grid of dataset samples with their 2D skeletons")
    g.add_argument("--data", required=True)
    g.add_argument("--out", required=True)
    return ap


def _data(args):
    import json
    from structnet.synth import build, get_data_preset
    cfg = get_data_preset(args.preset, source=args.source, bvh_dir=args.bvh_dir, seed=args.seed,
                          workers=args.workers)
    os.makedirs(args.out, exist_ok=True)
    for split in [s.strip() for s in args.splits.split(",") if s.strip()]:
        if split not in ("train", "test"):
            from structnet.errors import UserError
            raise UserError(f"unknown split {split!r}: train or test")
        stats = build(cfg, os.path.join(args.out, f"{split}.h5"), split)
        print(json.dumps({"split": split, **stats}))
    return 0


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    _quiet()
    from structnet.errors import UserError
    try:
        if argv and argv[0] == "bench":
            from structnet import bench
            return bench.main(argv[1:])
        args = build_parser().parse_args(argv)
        if args.command == "summary":
            from structnet import summary
            return summary.main(args)
        if args.command == "data":
            return _data(args)
        if args.command == "sample-figure":
            from structnet.figures_data import sample_grid
            print(sample_grid(args.data, args.out))
    except UserError as e:
        print(f"structnet: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("structnet: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
