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
    return ap


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
    except UserError as e:
        print(f"structnet: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("structnet: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
