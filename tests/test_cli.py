"""cli.py and ``python -m structnet``: every command answers --help; an unknown one is one line, exit 2."""
import subprocess
import sys

import pytest

COMMANDS = ("summary", "data", "pretrain", "train", "eval", "apf", "figures", "tables", "sample-figure", "bench")


def _run(*args):
    return subprocess.run([sys.executable, "-m", "structnet", *args], capture_output=True, text=True)


@pytest.mark.parametrize("cmd", COMMANDS)
def test_every_command_has_help(cmd):
    r = _run(cmd, "--help")
    assert r.returncode == 0 and "usage:" in r.stdout, r.stderr[-500:]


def test_unknown_command_is_one_line():
    r = _run("trian")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "invalid choice: 'trian'" in r.stderr
